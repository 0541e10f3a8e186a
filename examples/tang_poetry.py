"""Tang poetry: train a poetry model, measure it on held-out poems, write constrained poems.

    python examples/tang_poetry.py                                   # the bundled sample (125 poems)
    python examples/tang_poetry.py "chinese-poetry/json/poet.tang.*.json" --form wujue --form qijue
    python examples/tang_poetry.py tang.npz --epochs 20 --units 256

The model is the app's default, `rnnapps.PoetryGenerator()` (a GRU(512) whose 512-wide
embedding is also its output layer, at the time of writing): those are the settings tuned
on real corpora in bench/quality.py. `--cell`, `--units` and the other model options override them.

The script's own settings (the defaults below) and why:
- quatrains and regulated verse only (`--form`), at most 80 characters: the forms the
  constraints write, so training time goes where generation needs it;
- held-out poems chosen by a hash of their text (`--held-out`), so reruns compare alike.
The app trains char level, each poem one sequence, most with their title in front (the
title primes, it is not scored), so `mood=` can steer a poem and perplexity counts poem
characters only.

The report at the end gives held-out character perplexity and the share of sampled
poems that are exactly of the form, with the constraints (always 100%) and without.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

MODEL_OPTIONS = ("cell", "units", "depth", "embedding_dim", "dropout", "max_vocab", "learning_rate")
APP_DEFAULT = "default: the app's, see `help(rnnapps.PoetryGenerator)`"
SAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "rnnapps", "samples", "poems.txt")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="*", default=[SAMPLE], help="chinese-poetry JSON globs, tang.npz or text files (default: the bundled sample)")
    parser.add_argument("--form", action="append", help="keep only poems of this form (repeatable; default: the four regular forms)")
    parser.add_argument("--author", action="append", help="keep only poems by this author (repeatable)")
    parser.add_argument("--max-length", type=int, default=80, help="keep poems of at most this many characters")
    parser.add_argument("--held-out", type=float, default=0.1, help="fraction of poems held out for evaluation")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--cell", choices=("simple", "irnn", "gru", "lstm"), help=f"recurrent cell ({APP_DEFAULT})")
    parser.add_argument("--units", type=int, help=f"units per recurrent layer ({APP_DEFAULT})")
    parser.add_argument("--depth", type=int, help=f"recurrent layers ({APP_DEFAULT})")
    parser.add_argument("--embedding-dim", type=int, help=f"character embedding width ({APP_DEFAULT})")
    parser.add_argument("--dropout", type=float, help=f"dropout on the recurrent inputs ({APP_DEFAULT})")
    parser.add_argument("--max-vocab", type=int, help=f"keep the most frequent characters only (smaller softmax, faster on CPU; {APP_DEFAULT})")
    parser.add_argument("--learning-rate", type=float, help=f"Adam learning rate ({APP_DEFAULT})")
    parser.add_argument("--patience", type=int, default=3, help="early-stopping patience (0: off)")
    parser.add_argument("--num-samples", type=int, default=100, help="poems sampled for the validity rates")
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--output", default="models/tang_poetry", help="where to save the trained model")
    parser.add_argument("--export-dir", default="saved_models", help="TF Serving base directory for the export")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import keras

    import rnnapps
    from rnnapps.data.poems import poem_source

    keras.utils.set_random_seed(42)
    try:
        # Only the model options given on the command line: the app's defaults for the rest.
        options = {name: getattr(args, name) for name in MODEL_OPTIONS}
        poet = rnnapps.PoetryGenerator(**{k: v for k, v in options.items() if v is not None})
        source = poem_source(
            args.data if len(args.data) > 1 else args.data[0],
            form=args.form or ["wujue", "qijue", "wulv", "qilv"], author=args.author, max_length=args.max_length,
        )
        train, held_out = source.split(args.held_out)
        poet.fit(train, validation_data=held_out, epochs=args.epochs, batch_size=args.batch_size,
                 early_stopping_patience=args.patience or None, seed=0)
        report = poet.evaluate(held_out, num_samples=args.num_samples, temperature=args.temperature)
    except rnnapps.RnnappsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"\nHeld-out poems: {report}")
    # Each request in simplified and traditional characters: the first one the corpus knows is used.
    requests = [
        ("qijue, acrostic 春眠不觉, rhyming", [dict(form="qijue", acrostic=a, rhyme=True) for a in ("春眠不觉", "春眠不覺")]),
        ("wujue from the first line 白日依山尽", [dict(form="wujue", first_line=f) for f in ("白日依山尽", "白日依山盡")]),
        ("wulv, mood 秋思, no repeated characters", [dict(form="wulv", mood="秋思", no_repeat=True)]),
    ]
    for label, variants in requests:
        poem = None
        for request in variants:
            try:
                poem = poet.generate(temperature=args.temperature, seed=1, **request)
                break
            except rnnapps.ConfigError as error:  # a character the corpus never had
                reason = error
        print(f"\n{label}:\n" + poem.replace("。", "。\n").rstrip() if poem else f"\n{label}: skipped ({reason})")
    print("\nsaved to", poet.save(args.output))
    print("exported to", poet.export(args.export_dir, "tang_poetry"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
