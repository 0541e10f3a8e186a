"""The full IMDB sentiment recipe: 25k movie reviews, a recurrent classifier, early stopping.

Data comes from TFDS `imdb_reviews` (downloads ~80 MB once), or from a local copy of the
Stanford aclImdb folder (`--data-dir path/to/aclImdb`, with train/pos, train/neg, test/...).

    python examples/sentiment_imdb.py                       # TFDS
    python examples/sentiment_imdb.py --data-dir ~/aclImdb  # local folder
    python examples/sentiment_imdb.py --bidirectional --pooling max --dropout 0.2 --head-dropout 0.3

The model is the app's default, `rnnapps.SentimentClassifier()` (word level, the 20k most
frequent words, 400 words kept per review, an LSTM(64) over 128-wide embeddings classifying
from its last state, beside a bag of hashed character 2-5-grams, each head keeping its own
best epoch, Adam 1e-3 with clipnorm 1.0, at the time of writing): those are the
settings tuned on real corpora in bench/quality.py. `--bidirectional`, `--pooling` and the
other model options override them.

The rest: batch 64, 10% of the training reviews for validation, early stopping on
validation loss with patience 2.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

MODEL_OPTIONS = (
    "cell", "units", "depth", "bidirectional", "embedding_dim", "pooling", "dropout", "head_dropout", "learning_rate",
    "max_length", "min_count",
)
APP_DEFAULT = "default: the app's, see `help(rnnapps.SentimentClassifier)`"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="local aclImdb folder (has train/ and test/); default: TFDS imdb_reviews")
    parser.add_argument("--tfds-data-dir", help="TFDS data directory (where imdb_reviews is or will be prepared)")
    parser.add_argument("--output", default="models/imdb_sentiment", help="where to save the trained classifier")
    parser.add_argument("--export-dir", default="saved_models", help="TF Serving base directory for the export")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--cell", choices=("simple", "irnn", "gru", "lstm"), help=f"recurrent cell ({APP_DEFAULT})")
    parser.add_argument("--units", type=int, help=f"units per recurrent layer and direction ({APP_DEFAULT})")
    parser.add_argument("--depth", type=int, help=f"recurrent layers ({APP_DEFAULT})")
    parser.add_argument("--bidirectional", action="store_true", default=None, help=f"read each review both ways ({APP_DEFAULT})")
    parser.add_argument("--embedding-dim", type=int, help=f"word embedding width ({APP_DEFAULT})")
    parser.add_argument("--pooling", choices=("last", "mean", "max", "attention"), help=f"how the review's states become one vector ({APP_DEFAULT})")
    parser.add_argument("--dropout", type=float, help=f"dropout on the recurrent inputs ({APP_DEFAULT})")
    parser.add_argument("--head-dropout", type=float, help=f"dropout before the output layer ({APP_DEFAULT})")
    parser.add_argument("--learning-rate", type=float, help=f"Adam learning rate ({APP_DEFAULT})")
    parser.add_argument("--max-length", type=int, help=f"words kept per review ({APP_DEFAULT})")
    parser.add_argument("--min-count", type=int, help=f"words seen fewer times become <unk> ({APP_DEFAULT})")
    parser.add_argument("--tensorboard-dir", help="write TensorBoard logs here")
    parser.add_argument("--backup-dir", default="models/imdb_backup", help="resume state if the run is interrupted")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import keras

    import rnnapps

    keras.utils.set_random_seed(42)
    if args.data_dir:
        train_data = os.path.join(args.data_dir, "train")
        test_data = os.path.join(args.data_dir, "test")
        options = {}
    else:
        train_data = test_data = "imdb_reviews"
        options = {"tfds_data_dir": args.tfds_data_dir} if args.tfds_data_dir else {}
    try:
        # Only the model options given on the command line: the app's defaults for the rest.
        model_options = {name: getattr(args, name) for name in MODEL_OPTIONS}
        clf = rnnapps.SentimentClassifier(**{k: v for k, v in model_options.items() if v is not None})
        clf.fit(
            train_data,
            validation_split=0.1,
            epochs=args.epochs,
            batch_size=args.batch_size,
            early_stopping_patience=2,
            checkpoint_dir=os.path.join(args.output + "_checkpoints"),
            tensorboard_dir=args.tensorboard_dir,
            backup_dir=args.backup_dir,
            **options,
        )
        print("\nTest set:")
        print(clf.evaluate(test_data, **options))
    except rnnapps.RnnappsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    samples = [
        "One of the best films of the decade. The cast is superb and the ending stays with you.",
        "Two hours of my life I will never get back. Wooden acting and a plot full of holes.",
    ]
    for text, label in zip(samples, clf.predict(samples).labels):
        print(f"{label:>4}  {text}")
    print("saved to", clf.save(args.output))
    print("exported to", clf.export(args.export_dir, "imdb_sentiment"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
