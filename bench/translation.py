#!/usr/bin/env python
"""Translation decoding speed: rnnapps' in-graph loops vs a Python loop, side by side in one run.

An untrained attention translator (Luong "general" attention, bidirectional GRU encoder,
GRU decoder; weights do not change the cost, and greedy choices are deterministic, so
every way does exactly the same steps) translates sentences of 8..16 words at batch 1
and batch 64, in three ways:

- in-graph greedy: `Translator.translate(sources)`: raw strings in, strings out; one
  `tf.while_loop` over the decoder-step model (what the export's `greedy` runs);
- in-graph beam: `Translator.translate(sources, beam_width=4)`: beam search in one loop;
- step-model loop (the target's baseline: "a Python loop that calls the decoder step
  model per token"): source ids in (already vectorized: not timed against it); the
  encoder model is called once, then the Keras decoder-step model once per output token,
  with the argmax, the END check and the early exit in Python between calls: how the
  TensorFlow NMT tutorial decodes;
- compiled-step loop (for reference, not a target): the same loop with the encoder and
  the step wrapped in `tf.function`s, so each token costs one compiled call. At batch 64
  a step is mostly arithmetic (GRU, attention, a 2000-way output layer for 64 rows), the
  same in every way, so no loop can be 10x faster than this one there.

Every way runs `--repeats` times, interleaved; a way's speed is its fastest run (noise
only adds time). The Python loop's tokens are checked to equal in-graph greedy's.
Target: in-graph greedy >= 10x the step-model loop at batch 64. Exit status 1 on a miss.

    python bench/translation.py            # about 2 minutes on 2 CPU cores
    python bench/translation.py --quick    # a fast sanity run (not conclusive)
"""

import argparse
import os
import random
import sys
import time

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # before TensorFlow is imported anywhere

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import rnnapps  # noqa: E402
from rnnapps.builders.seq2seq import decoder_step_fn  # noqa: E402
from rnnapps.data.parallel import END_ID, START_ID  # noqa: E402

TARGET_RATIO = 10.0


def make_translator(units, vocabulary):
    source = [f"w{i}" for i in range(vocabulary)]
    target = [f"t{i}" for i in range(vocabulary)]
    return rnnapps.Translator.from_vocabularies(
        source, target, attention="luong", cell="gru", units=units, encoder_units=units // 2,
        bidirectional=True, source_embedding_dim=units // 2, target_embedding_dim=units // 2,
    )


def make_sources(batch, vocabulary, seed):
    rng = random.Random(seed)
    return [" ".join(f"w{rng.randrange(vocabulary)}" for _ in range(rng.randint(8, 16))) for _ in range(batch)]


def python_loop(translator, source_ids, max_length, compiled=True):
    """Greedy decoding with one decoder-step call per token; argmax and stopping in Python.

    `compiled`: the encoder and the step are wrapped in `tf.function`s (the reference
    line); otherwise the Keras models are called directly, as in the TensorFlow NMT
    tutorial's `evaluate` (the target's baseline).
    """
    step_fn, initial_states_fn = decoder_step_fn(translator.models)
    encode, step = initial_states_fn, lambda tokens, states: step_fn(tokens, states)[:2]
    if compiled:
        encode, step = tf.function(encode, reduce_retracing=True), tf.function(step, reduce_retracing=True)

    def run():
        states = encode(tf.constant(source_ids))
        tokens = np.full((len(source_ids),), START_ID, "int32")
        finished = np.zeros((len(source_ids),), bool)
        outputs = []
        for _ in range(max_length):
            logits, states = step(tf.constant(tokens), states)
            values = logits.numpy()
            values[:, [0, START_ID]] = -np.inf  # never padding or START, as the app
            tokens = values.argmax(axis=-1).astype("int32")
            outputs.append(np.where(finished | (tokens == END_ID), 0, tokens))
            finished |= tokens == END_ID
            if finished.all():
                break
        return np.stack(outputs, axis=1)

    return run


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=128, help="decoder units (encoder: units/2 per direction)")
    parser.add_argument("--vocabulary", type=int, default=2000, help="words per side")
    parser.add_argument("--max-length", type=int, default=30, help="output tokens per sentence")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 repeats, 10 tokens: a sanity run only")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.max_length = 2, 10
    print(
        f"rnnapps {rnnapps.__version__}, tensorflow {tf.__version__}, {os.cpu_count()} CPUs"
        f"{' (quick: not conclusive)' if args.quick else ''}"
    )
    tf.keras.utils.set_random_seed(0)
    translator = make_translator(args.units, args.vocabulary)
    print(
        f"model: bidirectional GRU({args.units // 2}) encoder, GRU({args.units}) decoder, Luong general attention, "
        f"{args.vocabulary} words per side; {args.max_length} output tokens per sentence"
    )

    results, passed = {}, True
    for batch in args.batches:
        sources = make_sources(batch, args.vocabulary, seed=batch)
        source_ids = translator.vectorizer.vectorize(tf.constant(sources), ensure_nonempty=True).to_tensor(0).numpy()
        loop = python_loop(translator, source_ids, args.max_length, compiled=False)
        ways = {
            "in-graph greedy": lambda: translator.translate(sources, max_length=args.max_length, batch_size=batch),
            f"in-graph beam {args.beam_width}": lambda: translator.translate(
                sources, beam_width=args.beam_width, max_length=args.max_length, batch_size=batch
            ),
            "step-model loop": loop,
            "compiled-step loop": python_loop(translator, source_ids, args.max_length, compiled=True),
        }
        # Warm-up (tracing is not timed), and the check that both greedy decoders agree.
        for fn in ways.values():
            fn()
        details = translator.translate(sources, max_length=args.max_length, batch_size=batch, return_details=True)
        looped = loop()
        ids = {token: index for index, token in enumerate(["", "[UNK]"] + translator.target_vectorizer.get_vocabulary())}
        for row, detail in zip(looped, details):
            expected = [ids.get(token, 1) for token in detail.output_tokens]  # a copied source word was <unk>
            if row[row > 0].tolist() != expected:
                raise SystemExit("bench: the Python loop and the in-graph loop decoded different tokens")
        best = {name: float("inf") for name in ways}
        for _ in range(args.repeats):
            for name, fn in ways.items():
                best[name] = min(best[name], timed(fn))
        steps = looped.shape[1]
        print(f"\nbatch {batch}: {steps} decoding steps, best of {args.repeats}")
        for name in ways:
            print(f"  {name:<18} {best[name]:8.3f} s  {batch / best[name]:10,.1f} sentences/s")
        results[batch] = {name: batch / best[name] for name in ways}
        ratio = results[batch]["in-graph greedy"] / results[batch]["step-model loop"]
        beam_ratio = results[batch][f"in-graph beam {args.beam_width}"] / results[batch]["step-model loop"]
        compiled_ratio = results[batch]["in-graph greedy"] / results[batch]["compiled-step loop"]
        print(
            f"  in-graph greedy / step-model loop: {ratio:.1f}x; in-graph beam {args.beam_width} / step-model loop "
            f"greedy: {beam_ratio:.1f}x; in-graph greedy / compiled-step loop (reference): {compiled_ratio:.1f}x"
        )
        if batch == 64:
            ok = ratio >= TARGET_RATIO
            passed &= ok
            print(f"  target at batch 64: in-graph greedy / step-model loop >= {TARGET_RATIO:.0f}x: {'PASS' if ok else 'MISS'}")
    if 64 not in results:
        print("\n(no batch of 64 measured: the target was not checked)")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
