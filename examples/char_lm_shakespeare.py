"""Char-level Shakespeare: a character language model, sampled while it trains.

Data comes from TFDS `tiny_shakespeare` (~1 MB, downloads once), or from any local text
file (`--text path/to/shakespeare.txt`; its last 5% of lines, by hash, are held out).

    python examples/char_lm_shakespeare.py                      # TFDS
    python examples/char_lm_shakespeare.py --text input.txt     # a local file
    python examples/char_lm_shakespeare.py --cell lstm --units 512 --depth 2 --dropout 0.2   # a 2-layer LSTM

The model is the app's default, `rnnapps.TextGenerator(level="char")` (a GRU(512) over
256-wide embeddings, windows of 100 characters, Adam 2e-3 with clipnorm 1.0, at the time
of writing): those are the settings tuned on real corpora in bench/quality.py. `--cell`,
`--units` and the other model options override them.

The rest: char level with case kept (names in capitals and line breaks are the play's
layout), batches of 64, early stopping on validation bits/char (patience 3).
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

MODEL_OPTIONS = ("cell", "units", "depth", "embedding_dim", "dropout", "sequence_length", "learning_rate")
APP_DEFAULT = "default: the app's, see `help(rnnapps.TextGenerator)`"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--text", help="a local text file (default: TFDS tiny_shakespeare)")
    parser.add_argument("--tfds-data-dir", help="TFDS data directory (where tiny_shakespeare is or will be prepared)")
    parser.add_argument("--output", default="models/char_shakespeare", help="where to save the trained model")
    parser.add_argument("--export-dir", default="saved_models", help="TF Serving base directory for the export")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--cell", choices=("simple", "irnn", "gru", "lstm"), help=f"recurrent cell ({APP_DEFAULT})")
    parser.add_argument("--units", type=int, help=f"units per recurrent layer ({APP_DEFAULT})")
    parser.add_argument("--depth", type=int, help=f"recurrent layers ({APP_DEFAULT})")
    parser.add_argument("--embedding-dim", type=int, help=f"character embedding width ({APP_DEFAULT})")
    parser.add_argument("--dropout", type=float, help=f"dropout on the recurrent inputs and before the softmax ({APP_DEFAULT})")
    parser.add_argument("--sequence-length", type=int, help=f"characters per training window ({APP_DEFAULT})")
    parser.add_argument("--learning-rate", type=float, help=f"Adam learning rate ({APP_DEFAULT})")
    parser.add_argument("--sample-every", type=int, default=2, help="print samples every N epochs")
    parser.add_argument("--stateful", action="store_true", help="truncated BPTT with state carried across windows")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import keras

    import rnnapps

    keras.utils.set_random_seed(42)
    if args.text:
        train_data, validation_data, test_data, options = args.text, None, None, {}
    else:
        train_data = validation_data = test_data = "tiny_shakespeare"
        options = {"tfds_data_dir": args.tfds_data_dir} if args.tfds_data_dir else {}
    try:
        # Only the model options given on the command line: the app's defaults for the rest.
        model_options = {name: getattr(args, name) for name in MODEL_OPTIONS}
        model_options["output_dropout"] = args.dropout
        generator = rnnapps.TextGenerator(level="char", **{k: v for k, v in model_options.items() if v is not None})
        generator.fit(
            train_data,
            validation_data=validation_data,
            epochs=args.epochs,
            batch_size=args.batch_size,
            stateful=args.stateful,
            early_stopping_patience=3,
            sample_every=args.sample_every,
            sample_prompts=["ROMEO:\n"],
            sample_length=300,
            **options,
        )
        print("\nValidation text:" if test_data else "\nTraining text:")
        print(generator.evaluate(test_data or train_data, **options))
    except rnnapps.RnnappsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for temperature in (0.5, 0.8):
        print(f"\n--- temperature {temperature} ---")
        print(generator.generate("ROMEO:\n", max_length=400, temperature=temperature, seed=7))
    print("saved to", generator.save(args.output))
    print("exported to", generator.export(args.export_dir, "char_shakespeare"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
