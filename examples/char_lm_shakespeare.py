"""Char-level Shakespeare: a 2-layer LSTM language model, sampled while it trains.

Data comes from TFDS `tiny_shakespeare` (~1 MB, downloads once), or from any local text
file (`--text path/to/shakespeare.txt`; its last 5% of lines, by hash, are held out).

    python examples/char_lm_shakespeare.py                      # TFDS
    python examples/char_lm_shakespeare.py --text input.txt     # a local file

Recommended settings (the defaults below) and why:
- char level, case kept: names in capitals and line breaks are the play's layout;
- 2-layer LSTM(512), embedding 128, windows of 100 characters: the classic char-rnn
  size for ~1 MB of text (it reaches ~1.5 bits/char on validation within ~10 epochs on
  a GPU); pass `--units 256` on a CPU;
- dropout 0.2 on the recurrent inputs and before the softmax: 1 MB overfits fast;
- Adam 2e-3 with clipnorm 1.0, batch 64; early stopping on validation bits/char.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--text", help="a local text file (default: TFDS tiny_shakespeare)")
    parser.add_argument("--tfds-data-dir", help="TFDS data directory (where tiny_shakespeare is or will be prepared)")
    parser.add_argument("--output", default="models/char_shakespeare", help="where to save the trained model")
    parser.add_argument("--export-dir", default="saved_models", help="TF Serving base directory for the export")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--units", type=int, default=512)
    parser.add_argument("--embedding-dim", type=int, default=128)
    parser.add_argument("--sequence-length", type=int, default=100)
    parser.add_argument("--dropout", type=float, default=0.2)
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
    generator = rnnapps.TextGenerator(
        level="char",
        cell="lstm",
        units=args.units,
        depth=2,
        embedding_dim=args.embedding_dim,
        dropout=args.dropout,
        output_dropout=args.dropout,
        sequence_length=args.sequence_length,
    )
    try:
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
