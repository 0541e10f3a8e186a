"""`rnnapps classify train|predict|evaluate|export`: recurrent text classifiers."""

import json

import rnnapps
from rnnapps.commands.common import (
    CELLS,
    AppDefaults,
    add_data_options,
    add_export_parser,
    add_flag,
    add_optimizer_options,
    add_precision_options,
    add_train_parser,
    add_resume_options,
    add_training_options,
    data_options,
    given,
    optimizer_options,
    read_lines,
    seed_everything,
    training_options,
)

# Options whose CLI name (dashes -> underscores) is the constructor argument's name.
MODEL_OPTIONS = (
    "level", "cell", "units", "depth", "bidirectional", "merge_mode", "connection", "dropout",
    "recurrent_dropout", "embedding_dim", "trainable_embeddings", "embedding_vectors", "pooling", "hidden_units",
    "head_dropout", "ngram_buckets", "ngram_range", "max_ngrams", "ngram_dim", "ngram_dropout", "max_length",
    "max_tokens", "min_count", "lowercase", "punctuation", "threshold", "mixed_precision",
)


def _add_train_parser(sub):
    parser, defaults = add_train_parser(
        sub, "sentiment", "SentimentClassifier",
        help="train a classifier and save it",
        description="Train a recurrent text classifier on labelled texts and save it (model + vocabulary + config).",
        epilog="DATA is a CSV/TSV file with a header, a folder-per-class tree (aclImdb/train with pos/ and neg/), "
        "or a TFDS name such as imdb_reviews. Example: rnnapps classify train reviews.tsv --output models/sentiment "
        "--cell lstm --bidirectional --epochs 10",
    )
    note = defaults.init_note
    parser.add_argument("data", help="training data: CSV/TSV file, class folder, or TFDS name")
    parser.add_argument("--output", "-o", required=True, help="directory to save the trained classifier in")
    model = parser.add_argument_group("model options")
    model.add_argument("--level", choices=("word", "char"), help="token level" + note("level"))
    model.add_argument("--cell", choices=CELLS, help="recurrent cell; irnn = identity-initialised ReLU RNN" + note("cell"))
    model.add_argument("--units", type=int, help="hidden units per direction" + note("units"))
    model.add_argument("--depth", type=int, help="stacked recurrent layers" + note("depth"))
    add_flag(model, "--bidirectional", "bidirectional", "bidirectional recurrent layers")
    model.add_argument("--merge-mode", choices=("concat", "sum", "ave", "mul"), help="how directions combine" + note("merge_mode"))
    model.add_argument("--connection", choices=("residual", "highway"), help="connection between stacked layers: needs --depth >= 2 and --pooling mean/max/attention, or --depth >= 3")
    model.add_argument("--dropout", type=float, help="input dropout of recurrent layers" + note("dropout"))
    model.add_argument("--recurrent-dropout", type=float, help="recurrent-state dropout (disables cuDNN)" + note("recurrent_dropout"))
    model.add_argument("--embedding-dim", type=int, help="embedding width" + note("embedding_dim"))
    model.add_argument("--embedding-vectors", help="GloVe-format word-vector file to initialise the embedding")
    add_flag(model, "--freeze-embeddings", "trainable_embeddings", "keep the embedding fixed", sets=False)
    model.add_argument("--pooling", choices=("last", "mean", "max", "attention"), help="how the sequence becomes one vector" + note("pooling"))
    model.add_argument("--hidden-units", type=int, help="extra dense ReLU layer before the output; 0 = none" + note("hidden_units"))
    model.add_argument("--head-dropout", type=float, help="dropout before the output layer" + note("head_dropout"))
    model.add_argument(
        "--ngram-buckets", type=int,
        help="hash buckets of the bag-of-character-n-grams head beside the recurrent one; 0 = no bag head" + note("ngram_buckets"),
    )
    model.add_argument(
        "--ngram-range", type=int, nargs=2, metavar=("SHORTEST", "LONGEST"),
        help="n-gram widths in characters" + note("ngram_range"),
    )
    model.add_argument("--max-ngrams", type=int, help="distinct n-grams kept per text" + note("max_ngrams"))
    model.add_argument("--ngram-dim", type=int, help="n-gram embedding width" + note("ngram_dim"))
    model.add_argument("--ngram-dropout", type=float, help="dropout on the bag's mean embedding" + note("ngram_dropout"))
    model.add_argument("--max-length", type=int, help="tokens kept per text (default: 400 words / 1000 chars)")
    model.add_argument("--max-tokens", type=int, help="vocabulary size cap" + note("max_tokens"))
    model.add_argument("--min-count", type=int, help="minimum token count for the vocabulary" + note("min_count"))
    add_flag(model, "--no-lowercase", "lowercase", "keep letter case", sets=False)
    model.add_argument("--punctuation", choices=("split", "strip", "keep"), help="punctuation handling at word level" + note("punctuation"))
    model.add_argument("--threshold", type=float, help="multi-label decision threshold" + note("threshold"))
    add_optimizer_options(parser, defaults)
    train = add_training_options(parser, defaults, "texts", "separate validation data (same forms as DATA; TFDS reads 'test')")
    add_flag(train, "--no-bucketing", "bucketing", "pad batches without grouping texts by length", sets=False)
    add_resume_options(parser)
    add_precision_options(parser)
    add_data_options(parser)
    parser.set_defaults(run=_train)


def _train(args):
    seed_everything(args.seed)
    clf = rnnapps.SentimentClassifier(**given(args, MODEL_OPTIONS), **optimizer_options(args))
    clf.fit(args.data, **training_options(args), **given(args, ("bucketing",)), **data_options(args))
    path = clf.save(args.output)
    print(f"saved classifier ({', '.join(clf.label_names)}) to {path}")


def _predict(args):
    clf = rnnapps.load(args.model)
    texts = read_lines(args.texts, args.file, "texts to classify")
    predictions = clf.predict(texts, **given(args, ("batch_size",)))
    for text, row in zip(texts, predictions.to_dicts()):
        if args.json:
            print(json.dumps({"text": text, **row}, ensure_ascii=False))
        else:
            label = ",".join(row["label"]) if isinstance(row["label"], list) else row["label"]
            best = max(row["probabilities"].values())
            print(f"{label}\t{best:.3f}\t{text}")


def _evaluate(args):
    clf = rnnapps.load(args.model)
    report = clf.evaluate(args.data, **given(args, ("batch_size",)), **data_options(args))
    print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if args.json else report)


def add_parser(sub):
    classify = sub.add_parser(
        "classify",
        help="text classification / sentiment: train, predict, evaluate, export",
        description="Recurrent text classifiers (sentiment, topics, multi-label tags).",
    )
    actions = classify.add_subparsers(dest="action", metavar="ACTION", required=True)
    _add_train_parser(actions)
    defaults = AppDefaults("sentiment", "SentimentClassifier")

    predict = actions.add_parser("predict", help="label texts with a saved classifier", description="Print label, probability and text, one line per text.")
    predict.add_argument("model", help="directory of a saved classifier")
    predict.add_argument("texts", nargs="*", help="texts to classify")
    predict.add_argument("--file", "-f", help="also read texts from this file, one per line ('-' for stdin)")
    predict.add_argument("--json", action="store_true", help="print one JSON object per line with all probabilities")
    predict.add_argument("--batch-size", type=int, help="texts per model call" + defaults.note("predict", "batch_size"))
    predict.set_defaults(run=_predict)

    evaluate = actions.add_parser("evaluate", help="score a saved classifier on labelled data", description="Accuracy, macro-F1, per-class precision/recall and the confusion matrix.")
    evaluate.add_argument("model", help="directory of a saved classifier")
    evaluate.add_argument("data", help="labelled data: CSV/TSV, class folder, or TFDS name (its 'test' split)")
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluate.add_argument("--batch-size", type=int, help="texts per model call" + defaults.note("evaluate", "batch_size"))
    add_data_options(evaluate)
    evaluate.set_defaults(run=_evaluate)

    add_export_parser(
        actions, "classifier", "export a saved classifier for TF Serving",
        "Write <base-dir>/<name>/<next version>/ as a SavedModel: text (string) in; label, probabilities, class_id out.",
    )
