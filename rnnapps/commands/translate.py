"""`rnnapps translate train|run|evaluate|export`: attention encoder-decoder translation."""

import json

import rnnapps
from rnnapps.commands.common import (
    CELLS, AppDefaults, add_export_parser, add_flag, add_optimizer_options, add_precision_options,
    add_resume_options, add_tfds_options, add_training_options, given, optimizer_options, read_lines,
    seed_everything, tfds_options, training_options,
)

MODEL_OPTIONS = (
    "attention", "score", "input_feeding", "cell", "units", "encoder_units", "depth", "bidirectional", "dropout",
    "source_embedding_dim", "target_embedding_dim", "source_level", "target_level", "lowercase", "punctuation",
    "source_max_tokens", "target_max_tokens", "min_count", "source_max_length", "target_max_length", "mixed_precision",
)
DECODING_OPTIONS = ("beam_width", "max_length", "length_penalty")


def _add_pairs_options(parser):
    group = parser.add_argument_group("data options (pairs files and TFDS)")
    group.add_argument("--targets", help="aligned target file: DATA is then the source file (line i translates line i)")
    group.add_argument("--source-column", type=int, help="pairs file column of the source, 0-based (default: 0)")
    group.add_argument("--target-column", type=int, help="pairs file column of the target (default: 1)")
    group.add_argument("--delimiter", help="pairs file field separator (default: tab)")
    add_tfds_options(group)


def _pairs_options(args):
    return {**given(args, ("source_column", "target_column", "delimiter")), **tfds_options(args)}


def _add_decoding_options(parser, defaults, method):
    group = parser.add_argument_group("decoding options")
    group.add_argument("--beam-width", type=int, help="1 = greedy; K > 1 = beam search" + defaults.note(method, "beam_width"))
    group.add_argument("--max-length", type=int, help="output tokens at most (default: 1.5x the longest training target)")
    group.add_argument("--length-penalty", type=float, help="GNMT length penalty alpha; 0.6-1.0 favours longer outputs"
                       + defaults.note(method, "length_penalty"))


def _add_train_parser(actions, defaults):
    parser = actions.add_parser(
        "train",
        help="train a translator on parallel text and save it",
        description="Train an attention encoder-decoder on parallel text and save it (model, both vocabularies, config).",
        epilog="DATA is a tab-separated pairs file (Anki/Tatoeba spa.txt: source<TAB>target<TAB>...), a source file "
        "with --targets FILE, or a TFDS name such as ted_hrlr_translate/pt_to_en. Example: rnnapps translate train "
        "spa.txt -o models/en_es --attention luong --units 256 --epochs 10 --bleu-every 1",
    )
    note = lambda name: defaults.note("__init__", name)  # noqa: E731
    parser.add_argument("data", help="training pairs: pairs file, source file (with --targets), or TFDS name")
    parser.add_argument("--output", "-o", required=True, help="directory to save the trained translator in")
    model = parser.add_argument_group("model options")
    model.add_argument("--attention", choices=("luong", "bahdanau", "none"), help="attention style" + note("attention"))
    model.add_argument("--score", choices=("dot", "general", "concat", "additive"), help="attention score (default: general for luong, additive for bahdanau)")
    add_flag(model, "--input-feeding", "input_feeding", "Luong input feeding (slower: a step loop in the graph)")
    model.add_argument("--cell", choices=CELLS, help="recurrent cell" + note("cell"))
    model.add_argument("--units", type=int, help="decoder units, and encoder units per direction unless --encoder-units" + note("units"))
    model.add_argument("--encoder-units", type=int, help="encoder units per direction (default: --units)")
    model.add_argument("--depth", type=int, help="stacked layers in encoder and decoder" + note("depth"))
    add_flag(model, "--unidirectional", "bidirectional", "a one-directional encoder (default: bidirectional)", sets=False)
    model.add_argument("--dropout", type=float, help="dropout of recurrent inputs and before the output layer" + note("dropout"))
    model.add_argument("--source-embedding-dim", type=int, help="source embedding width" + note("source_embedding_dim"))
    model.add_argument("--target-embedding-dim", type=int, help="target embedding width" + note("target_embedding_dim"))
    text = parser.add_argument_group("text options")
    text.add_argument("--source-level", choices=("word", "char"), help="source tokens" + note("source_level"))
    text.add_argument("--target-level", choices=("word", "char"), help="target tokens" + note("target_level"))
    add_flag(text, "--no-lowercase", "lowercase", "keep letter case", sets=False)
    text.add_argument("--punctuation", choices=("split", "strip", "keep"), help="punctuation handling at word level" + note("punctuation"))
    text.add_argument("--source-max-tokens", type=int, help="source vocabulary cap" + note("source_max_tokens"))
    text.add_argument("--target-max-tokens", type=int, help="target vocabulary cap" + note("target_max_tokens"))
    text.add_argument("--min-count", type=int, help="minimum token count for the vocabularies" + note("min_count"))
    text.add_argument("--source-max-length", type=int, help="source tokens kept (default: 50 words / 200 chars)")
    text.add_argument("--target-max-length", type=int, help="target tokens kept (default: 50 words / 200 chars)")
    add_optimizer_options(parser, defaults)
    train = add_training_options(parser, defaults, "pairs", "held-out pairs file (or TFDS name: its 'validation' split)")
    train.add_argument("--bleu-every", type=int, help="log validation BLEU (val_bleu) every N epochs; 0 = never (default: never)")
    add_resume_options(parser)
    add_precision_options(parser)
    _add_pairs_options(parser)
    parser.set_defaults(run=_train)


def _train(args):
    seed_everything(args.seed)
    translator = rnnapps.Translator(**given(args, MODEL_OPTIONS), **optimizer_options(args))
    options = {} if args.bleu_every is None else {"bleu_every": args.bleu_every or None}
    translator.fit(args.data, args.targets, **training_options(args), **options, **_pairs_options(args))
    path = translator.save(args.output)
    print(
        f"saved translator ({translator.vectorizer.vocabulary_size} source / "
        f"{translator.target_vectorizer.vocabulary_size} target ids) to {path}"
    )


def _run(args):
    translator = rnnapps.load(args.model)
    sources = read_lines(args.sources, args.file, "sentences to translate")
    decoding = given(args, DECODING_OPTIONS)
    details = translator.translate(sources, **decoding, **given(args, ("num_results",)), return_details=True)
    for detail in details:
        if args.json:
            print(json.dumps(
                {"source": detail.source, "translations": detail.translations, "scores": detail.scores},
                ensure_ascii=False,
            ))
        elif len(detail.translations) == 1:
            print(detail.translation)
        else:
            print(detail.source)
            for translation, score in zip(detail.translations, detail.scores):
                print(f"  {score:9.4f}  {translation}")
    if args.plot_attention:
        path = translator.plot_attention(sources[0], args.plot_attention, **given(args, ("beam_width",)))
        print(f"attention heatmap of the first sentence: {path}")


def _evaluate(args):
    translator = rnnapps.load(args.model)
    report = translator.evaluate(args.data, args.targets, **given(args, DECODING_OPTIONS), **_pairs_options(args))
    print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if args.json else report)


def add_parser(sub):
    translate = sub.add_parser(
        "translate",
        help="attention translation (seq2seq): train, run, evaluate, export",
        description="Attention encoder-decoder translation on parallel text: training with BLEU, greedy and "
        "beam-search decoding, attention heatmaps, SavedModel export.",
    )
    defaults = AppDefaults("translator", "Translator")
    actions = translate.add_subparsers(dest="action", metavar="ACTION", required=True)
    _add_train_parser(actions, defaults)

    run = actions.add_parser("run", help="translate sentences with a saved translator", description="Print one translation per sentence (with --num-results > 1: the source, then each result with its score).")
    run.add_argument("model", help="directory of a saved translator")
    run.add_argument("sources", nargs="*", help="sentences to translate")
    run.add_argument("--file", "-f", help="also read sentences from this file, one per line ('-' for stdin)")
    run.add_argument("--num-results", type=int, help="translations per sentence, best first (<= --beam-width)" + defaults.note("translate", "num_results"))
    run.add_argument("--json", action="store_true", help="print one JSON object per sentence with translations and scores")
    run.add_argument("--plot-attention", metavar="PNG", help="also save the attention heatmap of the first sentence here")
    _add_decoding_options(run, defaults, "translate")
    run.set_defaults(run=_run)

    evaluate = actions.add_parser("evaluate", help="BLEU and exact match of a saved translator on held-out pairs", description="Corpus BLEU-4 (sacreBLEU-style, lowercase) and exact-match rate.")
    evaluate.add_argument("model", help="directory of a saved translator")
    evaluate.add_argument("data", help="held-out pairs: pairs file, source file (with --targets), or TFDS name (its 'test' split)")
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_decoding_options(evaluate, defaults, "evaluate")
    _add_pairs_options(evaluate)
    evaluate.set_defaults(run=_evaluate)

    export = add_export_parser(
        actions, "translator", "export a saved translator for TF Serving",
        "Write <base-dir>/<name>/<next version>/ as a SavedModel: serving_default(source) -> translation "
        "(greedy); translate(source, max_length) -> translations, scores, attention, tokens (beam search with the "
        "beam width and number of results fixed here); greedy(source, max_length) -> the same, greedy.",
        options=DECODING_OPTIONS + ("num_results",),
    )
    note = lambda name: defaults.note("export", name)  # noqa: E731
    export.add_argument("--beam-width", type=int, help="beam width of the translate endpoint" + note("beam_width"))
    export.add_argument("--num-results", type=int, help="translations per sentence of the translate endpoint" + note("num_results"))
    export.add_argument("--length-penalty", type=float, help="GNMT length penalty of the translate endpoint" + note("length_penalty"))
    export.add_argument("--max-length", type=int, help="output limit of serving_default (default: 1.5x the longest training target)")
