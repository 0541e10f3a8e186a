#!/usr/bin/env python
"""Peak memory of language-model training on a 10x larger corpus: it must stay flat.

Generates two corpora of random words (a fixed, Zipf-distributed vocabulary; ~20 MB and
~200 MB by default, each split over a few files read through one glob), then, for each,
in a fresh Python process (so neither inherits the other's peak), runs what
`TextGenerator.fit` runs: `text_corpus` -> `scan_corpus` (the vocabulary pass) ->
`lm_windows` -> one epoch of `model.fit`, and reports the process' peak RSS
(`resource.getrusage(RUSAGE_SELF).ru_maxrss`; stdlib, no psutil needed). Target: peak
on the large corpus / peak on the small one <= 1.2. Exits with status 1 when missed.

What was chosen, and why (the whole run should take well under 12 minutes on 2 cores):
- word level: word tokenising runs at ~15 MB/s per core, char level ~4x slower and
  with ~6x more tokens per MB; memory behaviour is the same code path either way;
- long random words (6..12 letters, ~10 characters per token with the space) from 500
  distinct words: fewer tokens per MB, and a 500-way softmax keeps the model cheap;
- a tiny model (Embedding 16 -> GRU 32 -> Dense 500) and large batches (512 windows of
  64 tokens): training time is the bulk of the run, the data pipeline is what is measured;
- `lm_windows` defaults otherwise (shuffle buffer 10 000 windows, no cache), i.e. what
  the app uses.
The baseline (peak after importing TensorFlow and building the model, before reading
any text) is printed too: the growth above it is what the data layer costs.

    python bench/lm_memory.py                  # ~20 MB and ~200 MB: several minutes on 2 cores
    python bench/lm_memory.py --sizes-mb 2 20  # a quick run (not the target setting)
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

TARGET_RATIO = 1.2


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


# -- corpus generation (parent process) ------------------------------------------------
def write_corpus(folder, size_mb, vocab_size, files, seed):
    """Random words in lines of 5..20 words, ~`size_mb` MB over `files` files; streamed to disk."""
    import numpy as np

    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words = sorted({"".join(rng.choice(letters, rng.integers(6, 13))) for _ in range(vocab_size * 2)})[:vocab_size]
    weights = 1.0 / np.arange(1, len(words) + 1)  # Zipf: a few frequent words, a long tail
    weights /= weights.sum()
    vocabulary = np.array(words, dtype=object)
    os.makedirs(folder, exist_ok=True)
    target = int(size_mb * 1_000_000 / files)
    for index in range(files):
        written = 0
        with open(os.path.join(folder, f"part-{index:03d}.txt"), "w", encoding="utf-8") as handle:
            while written < target:
                block = vocabulary[rng.choice(len(words), size=100_000, p=weights)]
                lengths = rng.integers(5, 21, size=len(block) // 5)
                bounds = np.cumsum(lengths)
                bounds = bounds[bounds < len(block)]
                text = "\n".join(" ".join(line) for line in np.split(block, bounds)) + "\n"
                handle.write(text)
                written += len(text)
    return os.path.join(folder, "*.txt")


# -- one measured training run (child process) ------------------------------------------
def child(args):
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import keras

    from rnnapps.data.corpus import lm_windows, scan_corpus, text_corpus
    from rnnapps.text import TextVectorizer

    keras.utils.set_random_seed(0)
    corpus = text_corpus(args.child)
    vectorizer = TextVectorizer(level="word", lowercase=False)
    # A model of the final shape exists before any text is read: the baseline includes it.
    model = keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(args.vocab + 2, 16, mask_zero=True),
            keras.layers.GRU(args.units, return_sequences=True),
            keras.layers.Dense(args.vocab + 2),
        ]
    )
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0))
    baseline = peak_rss_mb()
    started = time.perf_counter()
    stats = scan_corpus(corpus, vectorizer)
    vectorizer.set_vocabulary(stats.vocabulary)
    scanned = time.perf_counter()
    if vectorizer.vocabulary_size != args.vocab + 2:
        raise SystemExit(f"expected {args.vocab} words, the scan found {len(stats.vocabulary)}")
    batches = lm_windows(corpus, vectorizer, args.sequence_length, args.batch_size, seed=0)
    with corpus.reading():
        history = model.fit(batches, epochs=1, verbose=0)
    print(
        json.dumps(
            {
                "baseline_mb": baseline,
                "peak_mb": peak_rss_mb(),
                "tokens": stats.num_tokens,
                "windows": stats.num_windows(args.sequence_length),
                "scan_s": scanned - started,
                "fit_s": time.perf_counter() - scanned,
                "loss": float(history.history["loss"][-1]),
            }
        )
    )


def measure(pattern, args):
    command = [
        sys.executable, os.path.abspath(__file__), "--child", pattern,
        "--vocab", str(args.vocab), "--units", str(args.units),
        "--sequence-length", str(args.sequence_length), "--batch-size", str(args.batch_size),
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    ran = subprocess.run(command, capture_output=True, text=True, env=env)
    if ran.returncode != 0:
        raise SystemExit(f"measuring {pattern} failed:\n{ran.stderr[-3000:]}")
    return json.loads(ran.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes-mb", type=float, nargs=2, default=[20, 200], metavar=("SMALL", "LARGE"))
    parser.add_argument("--vocab", type=int, default=500, help="distinct words in the generated corpora")
    parser.add_argument("--files", type=int, default=4, help="files per corpus")
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--sequence-length", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--keep", help="generate the corpora in this folder and keep them")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    folder = args.keep or tempfile.mkdtemp(prefix="lm_memory_")
    results = []
    try:
        for size in args.sizes_mb:
            started = time.perf_counter()
            pattern = write_corpus(os.path.join(folder, f"{size:g}mb"), size, args.vocab, args.files, seed=int(size))
            generated = time.perf_counter() - started
            result = measure(pattern, args)
            result["size_mb"] = sum(os.path.getsize(os.path.join(os.path.dirname(pattern), f)) for f in os.listdir(os.path.dirname(pattern))) / 1e6
            results.append(result)
            print(
                f"{result['size_mb']:7.1f} MB corpus: {result['tokens']:,} tokens, {result['windows']:,} windows; "
                f"generated {generated:.0f} s, scan {result['scan_s']:.0f} s, epoch {result['fit_s']:.0f} s; "
                f"peak RSS {result['peak_mb']:.0f} MB (baseline {result['baseline_mb']:.0f} MB, "
                f"+{result['peak_mb'] - result['baseline_mb']:.0f} MB), loss {result['loss']:.3f}",
                flush=True,
            )
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    small, large = results
    ratio = large["peak_mb"] / small["peak_mb"]
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print(f"peak RSS large/small: {large['peak_mb']:.0f} / {small['peak_mb']:.0f} MB = {ratio:.3f} (target <= {TARGET_RATIO}) {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
