"""`rnnapps translate train|run|evaluate|export`: attention encoder-decoder translation."""

import json

import rnnapps
from rnnapps.commands.common import (
    CELLS,
    add_optimizer_options,
    add_resume_options,
    add_time_limit_options,
    time_limit_options,
    backup_dir,
    clipping_options,
    print_serving_hint,
    read_lines,
    seed_everything,
)


def _add_pairs_options(parser):
    group = parser.add_argument_group("data options (pairs files and TFDS)")
    group.add_argument("--targets", help="aligned target file: DATA is then the source file (line i translates line i)")
    group.add_argument("--source-column", type=int, default=0, help="pairs file column of the source, 0-based (default: 0)")
    group.add_argument("--target-column", type=int, default=1, help="pairs file column of the target (default: 1)")
    group.add_argument("--delimiter", default="\t", help="pairs file field separator (default: tab)")
    group.add_argument("--tfds-data-dir", help="TFDS data directory (where a dataset is already prepared)")
    group.add_argument("--no-download", action="store_true", help="never try to download TFDS data")


def _pairs_options(args):
    options = {
        "source_column": args.source_column,
        "target_column": args.target_column,
        "delimiter": args.delimiter,
        "tfds_data_dir": args.tfds_data_dir,
    }
    options = {k: v for k, v in options.items() if v is not None}
    if args.no_download:
        options["download"] = False
    return options


def _add_decoding_options(parser, beam_width=1):
    group = parser.add_argument_group("decoding options")
    group.add_argument("--beam-width", type=int, default=beam_width, help=f"1 = greedy; K > 1 = beam search (default: {beam_width})")
    group.add_argument("--max-length", type=int, help="output tokens at most (default: 1.5x the longest training target)")
    group.add_argument("--length-penalty", type=float, default=0.0, help="GNMT length penalty alpha; 0.6-1.0 favours longer outputs (default: 0)")


def _add_train_parser(actions):
    parser = actions.add_parser(
        "train",
        help="train a translator on parallel text and save it",
        description="Train an attention encoder-decoder on parallel text and save it (model, both vocabularies, config).",
        epilog="DATA is a tab-separated pairs file (Anki/Tatoeba spa.txt: source<TAB>target<TAB>...), a source file "
        "with --targets FILE, or a TFDS name such as ted_hrlr_translate/pt_to_en. Example: rnnapps translate train "
        "spa.txt -o models/en_es --attention luong --units 256 --epochs 10 --bleu-every 1",
    )
    parser.add_argument("data", help="training pairs: pairs file, source file (with --targets), or TFDS name")
    parser.add_argument("--output", "-o", required=True, help="directory to save the trained translator in")
    model = parser.add_argument_group("model options")
    model.add_argument("--attention", choices=("luong", "bahdanau", "none"), default="luong", help="attention style (default: luong)")
    model.add_argument("--score", choices=("dot", "general", "concat", "additive"), help="attention score (default: general for luong, additive for bahdanau)")
    model.add_argument("--input-feeding", action="store_true", help="Luong input feeding (slower: a step loop in the graph)")
    model.add_argument("--cell", choices=CELLS, help="recurrent cell (default: gru)")
    model.add_argument("--units", type=int, default=256, help="decoder units, and encoder units per direction unless --encoder-units (default: 256)")
    model.add_argument("--encoder-units", type=int, help="encoder units per direction (default: --units)")
    model.add_argument("--depth", type=int, default=1, help="stacked layers in encoder and decoder (default: 1)")
    model.add_argument("--unidirectional", action="store_true", help="a one-directional encoder (default: bidirectional)")
    model.add_argument("--dropout", type=float, default=0.0, help="dropout of recurrent inputs and before the output layer (default: 0)")
    model.add_argument("--source-embedding-dim", type=int, help="source embedding width (default: 256)")
    model.add_argument("--target-embedding-dim", type=int, help="target embedding width (default: 256)")
    text = parser.add_argument_group("text options")
    text.add_argument("--source-level", choices=("word", "char"), default="word", help="source tokens (default: word)")
    text.add_argument("--target-level", choices=("word", "char"), default="word", help="target tokens (default: word)")
    text.add_argument("--no-lowercase", action="store_true", help="keep letter case")
    text.add_argument("--punctuation", choices=("split", "strip", "keep"), default="split", help="punctuation handling at word level (default: split)")
    text.add_argument("--source-max-tokens", type=int, default=20000, help="source vocabulary cap (default: 20000)")
    text.add_argument("--target-max-tokens", type=int, default=20000, help="target vocabulary cap (default: 20000)")
    text.add_argument("--min-count", type=int, default=1, help="minimum token count for the vocabularies (default: 1)")
    text.add_argument("--source-max-length", type=int, help="source tokens kept (default: 50 words / 200 chars)")
    text.add_argument("--target-max-length", type=int, help="target tokens kept (default: 50 words / 200 chars)")
    add_optimizer_options(parser)
    train = parser.add_argument_group("training options")
    train.add_argument("--epochs", type=int, default=10, help="maximum epochs (default: 10)")
    train.add_argument("--batch-size", type=int, default=64, help="pairs per batch (default: 64)")
    train.add_argument("--validation-split", type=float, default=0.1, help="fraction held out when no --validation-data (default: 0.1)")
    train.add_argument("--validation-data", help="held-out pairs file (or TFDS name: its 'validation' split)")
    train.add_argument("--patience", type=int, default=3, help="early-stopping patience in epochs; 0 turns it off (default: 3)")
    train.add_argument("--bleu-every", type=int, default=0, help="log validation BLEU (val_bleu) every N epochs (default: never)")
    train.add_argument("--checkpoint-dir", help="save the best translator here during training")
    train.add_argument("--tensorboard-dir", help="write TensorBoard logs here")
    train.add_argument("--backup-dir", help="BackupAndRestore state: rerun the same command after a crash to resume")
    add_resume_options(train)
    add_time_limit_options(train)
    train.add_argument("--seed", type=int, help="random seed for weights and shuffling")
    _add_pairs_options(parser)
    parser.set_defaults(run=_train)


def _train(args):
    seed_everything(args.seed)
    same_name = (
        "attention", "score", "input_feeding", "cell", "units", "encoder_units", "depth", "dropout",
        "source_embedding_dim", "target_embedding_dim", "source_level", "target_level", "punctuation",
        "source_max_tokens", "target_max_tokens", "min_count", "source_max_length", "target_max_length",
        "optimizer", "learning_rate",
    )
    # Cell and embedding widths left unset (None) take the constructor's defaults.
    unset = {name for name in ("cell", "source_embedding_dim", "target_embedding_dim") if getattr(args, name) is None}
    translator = rnnapps.Translator(
        **{name: getattr(args, name) for name in same_name if name not in unset},
        bidirectional=not args.unidirectional,
        lowercase=not args.no_lowercase,
        **clipping_options(args),
        mixed_precision=args.mixed_precision,
    )
    translator.fit(
        args.data,
        args.targets,
        validation_data=args.validation_data,
        validation_split=args.validation_split,
        epochs=args.epochs,
        **time_limit_options(args),
        batch_size=args.batch_size,
        early_stopping_patience=args.patience or None,
        bleu_every=args.bleu_every or None,
        checkpoint_dir=args.checkpoint_dir,
        tensorboard_dir=args.tensorboard_dir,
        backup_dir=backup_dir(args),
        seed=args.seed,
        **_pairs_options(args),
    )
    path = translator.save(args.output)
    print(
        f"saved translator ({translator.vectorizer.vocabulary_size} source / "
        f"{translator.target_vectorizer.vocabulary_size} target ids) to {path}"
    )


def _run(args):
    translator = rnnapps.load(args.model)
    sources = read_lines(args.sources, args.file, "sentences to translate")
    details = translator.translate(
        sources,
        beam_width=args.beam_width,
        max_length=args.max_length,
        length_penalty=args.length_penalty,
        num_results=args.num_results,
        return_details=True,
    )
    for detail in details:
        if args.json:
            print(json.dumps(
                {"source": detail.source, "translations": detail.translations, "scores": detail.scores},
                ensure_ascii=False,
            ))
        elif args.num_results == 1:
            print(detail.translation)
        else:
            print(detail.source)
            for translation, score in zip(detail.translations, detail.scores):
                print(f"  {score:9.4f}  {translation}")
    if args.plot_attention:
        path = translator.plot_attention(sources[0], args.plot_attention, beam_width=args.beam_width)
        print(f"attention heatmap of the first sentence: {path}")


def _evaluate(args):
    translator = rnnapps.load(args.model)
    report = translator.evaluate(
        args.data,
        args.targets,
        beam_width=args.beam_width,
        max_length=args.max_length,
        length_penalty=args.length_penalty,
        **_pairs_options(args),
    )
    print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if args.json else report)


def _export(args):
    translator = rnnapps.load(args.model)
    path = translator.export(
        args.base_dir, args.name, beam_width=args.beam_width, num_results=args.num_results,
        length_penalty=args.length_penalty, max_length=args.max_length,
    )
    print_serving_hint(path, args.name or translator.kind)


def add_parser(sub):
    translate = sub.add_parser(
        "translate",
        help="attention translation (seq2seq): train, run, evaluate, export",
        description="Attention encoder-decoder translation on parallel text: training with BLEU, greedy and "
        "beam-search decoding, attention heatmaps, SavedModel export.",
    )
    actions = translate.add_subparsers(dest="action", metavar="ACTION", required=True)
    _add_train_parser(actions)

    run = actions.add_parser("run", help="translate sentences with a saved translator", description="Print one translation per sentence (with --num-results > 1: the source, then each result with its score).")
    run.add_argument("model", help="directory of a saved translator")
    run.add_argument("sources", nargs="*", help="sentences to translate")
    run.add_argument("--file", "-f", help="also read sentences from this file, one per line ('-' for stdin)")
    run.add_argument("--num-results", type=int, default=1, help="translations per sentence, best first (<= --beam-width; default: 1)")
    run.add_argument("--json", action="store_true", help="print one JSON object per sentence with translations and scores")
    run.add_argument("--plot-attention", metavar="PNG", help="also save the attention heatmap of the first sentence here")
    _add_decoding_options(run)
    run.set_defaults(run=_run)

    evaluate = actions.add_parser("evaluate", help="BLEU and exact match of a saved translator on held-out pairs", description="Corpus BLEU-4 (sacreBLEU-style, lowercase) and exact-match rate.")
    evaluate.add_argument("model", help="directory of a saved translator")
    evaluate.add_argument("data", help="held-out pairs: pairs file, source file (with --targets), or TFDS name (its 'test' split)")
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_decoding_options(evaluate)
    _add_pairs_options(evaluate)
    evaluate.set_defaults(run=_evaluate)

    export = actions.add_parser(
        "export",
        help="export a saved translator for TF Serving",
        description="Write <base-dir>/<name>/<next version>/ as a SavedModel: serving_default(source) -> translation "
        "(greedy); translate(source, max_length) -> translations, scores, attention, tokens (beam search with the "
        "beam width and number of results fixed here); greedy(source, max_length) -> the same, greedy.",
    )
    export.add_argument("model", help="directory of a saved translator")
    export.add_argument("--base-dir", default="saved_models", help="TF Serving model base directory (default: saved_models)")
    export.add_argument("--name", help="model name (default: translator)")
    export.add_argument("--beam-width", type=int, default=4, help="beam width of the translate endpoint (default: 4)")
    export.add_argument("--num-results", type=int, default=1, help="translations per sentence of the translate endpoint (default: 1)")
    export.add_argument("--length-penalty", type=float, default=0.0, help="GNMT length penalty of the translate endpoint (default: 0)")
    export.add_argument("--max-length", type=int, help="output limit of serving_default (default: 1.5x the longest training target)")
    export.set_defaults(run=_export)
