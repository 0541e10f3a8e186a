"""`rnnapps classify train|predict|evaluate|export`: recurrent text classifiers."""

import json

import rnnapps
from rnnapps.commands.common import (
    CELLS,
    add_data_options,
    add_optimizer_options,
    add_resume_options,
    add_time_limit_options,
    time_limit_options,
    backup_dir,
    clipping_options,
    data_options,
    print_serving_hint,
    read_lines,
    seed_everything,
)


def _add_train_parser(sub):
    parser = sub.add_parser(
        "train",
        help="train a classifier and save it",
        description="Train a recurrent text classifier on labelled texts and save it (model + vocabulary + config).",
        epilog="DATA is a CSV/TSV file with a header, a folder-per-class tree (aclImdb/train with pos/ and neg/), "
        "or a TFDS name such as imdb_reviews. Example: rnnapps classify train reviews.tsv --output models/sentiment "
        "--cell lstm --bidirectional --epochs 10",
    )
    parser.add_argument("data", help="training data: CSV/TSV file, class folder, or TFDS name")
    parser.add_argument("--output", "-o", required=True, help="directory to save the trained classifier in")
    model = parser.add_argument_group("model options")
    model.add_argument("--level", choices=("word", "char"), default="word", help="token level (default: word)")
    model.add_argument("--cell", choices=CELLS, default="lstm", help="recurrent cell; irnn = identity-initialised ReLU RNN (default: lstm)")
    model.add_argument("--units", type=int, default=64, help="hidden units per direction (default: 64)")
    model.add_argument("--depth", type=int, default=1, help="stacked recurrent layers (default: 1)")
    model.add_argument("--bidirectional", action="store_true", help="bidirectional recurrent layers")
    model.add_argument("--merge-mode", choices=("concat", "sum", "ave", "mul"), default="concat", help="how directions combine (default: concat)")
    model.add_argument("--connection", choices=("residual", "highway"), help="connection between stacked layers: needs --depth >= 2 and --pooling mean/max/attention, or --depth >= 3")
    model.add_argument("--dropout", type=float, default=0.0, help="input dropout of recurrent layers (default: 0)")
    model.add_argument("--recurrent-dropout", type=float, default=0.0, help="recurrent-state dropout (disables cuDNN; default: 0)")
    model.add_argument("--embedding-dim", type=int, default=128, help="embedding width (default: 128)")
    model.add_argument("--embedding-vectors", help="GloVe-format word-vector file to initialise the embedding")
    model.add_argument("--freeze-embeddings", action="store_true", help="keep the embedding fixed")
    model.add_argument("--pooling", choices=("last", "mean", "max", "attention"), default="last", help="how the sequence becomes one vector (default: last)")
    model.add_argument("--hidden-units", type=int, default=0, help="extra dense ReLU layer before the output (default: none)")
    model.add_argument("--head-dropout", type=float, default=0.0, help="dropout before the output layer (default: 0)")
    model.add_argument("--max-length", type=int, help="tokens kept per text (default: 400 words / 1000 chars)")
    model.add_argument("--max-tokens", type=int, default=20000, help="vocabulary size cap (default: 20000)")
    model.add_argument("--min-count", type=int, default=1, help="minimum token count for the vocabulary (default: 1)")
    model.add_argument("--no-lowercase", action="store_true", help="keep letter case")
    model.add_argument("--punctuation", choices=("split", "strip", "keep"), default="split", help="punctuation handling at word level (default: split)")
    model.add_argument("--threshold", type=float, default=0.5, help="multi-label decision threshold (default: 0.5)")
    add_optimizer_options(parser)
    train = parser.add_argument_group("training options")
    train.add_argument("--epochs", type=int, default=10, help="maximum epochs (default: 10)")
    train.add_argument("--batch-size", type=int, default=32, help="batch size (default: 32)")
    train.add_argument("--validation-split", type=float, default=0.1, help="fraction held out for validation (default: 0.1)")
    train.add_argument("--validation-data", help="separate validation data (same forms as DATA; TFDS reads 'test')")
    train.add_argument("--patience", type=int, default=3, help="early-stopping patience in epochs; 0 turns it off (default: 3)")
    train.add_argument("--no-bucketing", action="store_true", help="pad batches without grouping texts by length")
    train.add_argument("--checkpoint-dir", help="save the best app here during training")
    train.add_argument("--tensorboard-dir", help="write TensorBoard logs here")
    train.add_argument("--backup-dir", help="BackupAndRestore state: rerun the same command after a crash to resume")
    add_resume_options(train)
    add_time_limit_options(train)
    train.add_argument("--seed", type=int, help="random seed for weights and shuffling")
    add_data_options(parser)
    parser.set_defaults(run=_train)


def _train(args):
    seed_everything(args.seed)
    # Options whose CLI name (dashes -> underscores) is the constructor argument's name.
    same_name = (
        "level", "cell", "units", "depth", "bidirectional", "merge_mode", "connection", "dropout",
        "recurrent_dropout", "embedding_dim", "embedding_vectors", "pooling", "hidden_units",
        "head_dropout", "max_length", "max_tokens", "min_count", "punctuation", "threshold",
        "optimizer", "learning_rate",
    )
    clf = rnnapps.SentimentClassifier(
        **{name: getattr(args, name) for name in same_name},
        trainable_embeddings=not args.freeze_embeddings,
        lowercase=not args.no_lowercase,
        **clipping_options(args),
        mixed_precision=args.mixed_precision,
    )
    clf.fit(
        args.data,
        validation_data=args.validation_data,
        validation_split=args.validation_split,
        epochs=args.epochs,
        **time_limit_options(args),
        batch_size=args.batch_size,
        bucketing=not args.no_bucketing,
        early_stopping_patience=args.patience or None,
        checkpoint_dir=args.checkpoint_dir,
        tensorboard_dir=args.tensorboard_dir,
        backup_dir=backup_dir(args),
        seed=args.seed,
        **data_options(args),
    )
    path = clf.save(args.output)
    print(f"saved classifier ({', '.join(clf.label_names)}) to {path}")


def _predict(args):
    clf = rnnapps.load(args.model)
    texts = read_lines(args.texts, args.file, "texts to classify")
    predictions = clf.predict(texts, batch_size=args.batch_size)
    for text, row in zip(texts, predictions.to_dicts()):
        if args.json:
            print(json.dumps({"text": text, **row}, ensure_ascii=False))
        else:
            label = ",".join(row["label"]) if isinstance(row["label"], list) else row["label"]
            best = max(row["probabilities"].values())
            print(f"{label}\t{best:.3f}\t{text}")


def _evaluate(args):
    clf = rnnapps.load(args.model)
    report = clf.evaluate(args.data, batch_size=args.batch_size, **data_options(args))
    print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if args.json else report)


def _export(args):
    clf = rnnapps.load(args.model)
    path = clf.export(args.base_dir, args.name)
    print_serving_hint(path, args.name or clf.kind)


def add_parser(sub):
    classify = sub.add_parser(
        "classify",
        help="text classification / sentiment: train, predict, evaluate, export",
        description="Recurrent text classifiers (sentiment, topics, multi-label tags).",
    )
    actions = classify.add_subparsers(dest="action", metavar="ACTION", required=True)
    _add_train_parser(actions)

    predict = actions.add_parser("predict", help="label texts with a saved classifier", description="Print label, probability and text, one line per text.")
    predict.add_argument("model", help="directory of a saved classifier")
    predict.add_argument("texts", nargs="*", help="texts to classify")
    predict.add_argument("--file", "-f", help="also read texts from this file, one per line ('-' for stdin)")
    predict.add_argument("--json", action="store_true", help="print one JSON object per line with all probabilities")
    predict.add_argument("--batch-size", type=int, default=256, help="texts per model call (default: 256)")
    predict.set_defaults(run=_predict)

    evaluate = actions.add_parser("evaluate", help="score a saved classifier on labelled data", description="Accuracy, macro-F1, per-class precision/recall and the confusion matrix.")
    evaluate.add_argument("model", help="directory of a saved classifier")
    evaluate.add_argument("data", help="labelled data: CSV/TSV, class folder, or TFDS name (its 'test' split)")
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluate.add_argument("--batch-size", type=int, default=256, help="texts per model call (default: 256)")
    add_data_options(evaluate)
    evaluate.set_defaults(run=_evaluate)

    export = actions.add_parser("export", help="export a saved classifier for TF Serving", description="Write <base-dir>/<name>/<next version>/ as a SavedModel: text (string) in; label, probabilities, class_id out.")
    export.add_argument("model", help="directory of a saved classifier")
    export.add_argument("--base-dir", default="saved_models", help="TF Serving model base directory (default: saved_models)")
    export.add_argument("--name", help="model name (default: sentiment)")
    export.set_defaults(run=_export)
