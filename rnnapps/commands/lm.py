"""`rnnapps lm train|generate|evaluate|export`: char- and word-level language models."""

import json

import rnnapps
from rnnapps.commands.common import (
    LANGUAGE_MODEL_OPTIONS, AppDefaults, add_export_parser, add_flag, add_language_model_options,
    add_optimizer_options, add_precision_options, add_resume_options, add_tfds_options, add_training_options, given,
    optimizer_options, read_lines, seed_everything, tfds_options, training_options,
)

GENERATE_OPTIONS = ("max_length", "temperature", "top_k", "top_p", "seed", "num_samples", "beam_width", "stop")
MODEL_OPTIONS = (
    "level", *LANGUAGE_MODEL_OPTIONS, "sequence_length", "max_vocab", "min_count", "lowercase", "mixed_precision",
)


def _add_corpus_options(parser):
    group = parser.add_argument_group("corpus options (TFDS)")
    group.add_argument("--text-key", help="TFDS feature holding the text (default: the only string feature)")
    add_tfds_options(group)


def _corpus_options(args):
    return {**given(args, ("text_key",)), **tfds_options(args)}


def _add_train_parser(actions):
    parser = actions.add_parser(
        "train",
        help="train a language model on a corpus and save it",
        description="Train a recurrent language model (char or word level) and save it (model + vocabulary + config).",
        epilog="DATA is a text file, a glob of text files ('books/*.txt'), or a TFDS name such as tiny_shakespeare. "
        "Example: rnnapps lm train shakespeare.txt -o models/shakespeare --level char --units 256 --epochs 20 --sample-every 5",
    )
    defaults = AppDefaults("generator", "TextGenerator")
    note = lambda name: defaults.note("__init__", name)  # noqa: E731
    parser.add_argument("data", help="training corpus: text file, glob, or TFDS name")
    parser.add_argument("--output", "-o", required=True, help="directory to save the trained model in")
    model = parser.add_argument_group("model options")
    model.add_argument("--level", choices=("char", "word"), help="token level" + note("level"))
    add_language_model_options(model, defaults)
    model.add_argument("--sequence-length", type=int, help="tokens per training window (BPTT length)" + note("sequence_length"))
    model.add_argument("--max-vocab", type=int, help="vocabulary size cap; rarer tokens become <unk> (default: none for char, 20000 for word)")
    model.add_argument("--min-count", type=int, help="minimum token count for the vocabulary" + note("min_count"))
    add_flag(model, "--lowercase", "lowercase", "lowercase the text" + note("lowercase"))
    add_optimizer_options(parser, defaults)
    train = add_training_options(parser, defaults, "windows", "held-out corpus (same forms as DATA)")
    add_flag(train, "--stateful", "stateful", "truncated BPTT: carry the state across consecutive windows")
    train.add_argument("--sample-every", type=int, help="print samples every N epochs; 0 = never (default: never)")
    train.add_argument("--sample-prompt", dest="sample_prompts", action="append", help="prompt for the samples (repeatable; default: empty prompt)")
    add_resume_options(parser)
    add_precision_options(parser)
    _add_corpus_options(parser)
    parser.set_defaults(run=_train)


def _train(args):
    seed_everything(args.seed)
    generator = rnnapps.TextGenerator(**given(args, MODEL_OPTIONS), **optimizer_options(args))
    options = given(args, ("stateful", "sample_prompts"))
    if args.sample_every is not None:
        options["sample_every"] = args.sample_every or None
    generator.fit(args.data, **training_options(args), **options, **_corpus_options(args))
    path = generator.save(args.output)
    print(f"saved {generator.level}-level language model ({generator.vectorizer.vocabulary_size} ids) to {path}")


def _generate(args):
    generator = rnnapps.load(args.model)
    prompts = read_lines(args.prompts, args.file, "prompts") if (args.prompts or args.file) else [""]
    texts = generator.generate(prompts, **given(args, GENERATE_OPTIONS))
    per_prompt = len(texts) // len(prompts)  # texts come prompt by prompt
    for index, text in enumerate(texts):
        if args.json:
            print(json.dumps({"prompt": prompts[index // per_prompt], "text": text}, ensure_ascii=False))
        else:
            print(text)
            if index < len(texts) - 1:
                print("-" * 40)


def _evaluate(args):
    generator = rnnapps.load(args.model)
    report = generator.evaluate(args.data, **given(args, ("batch_size",)), **_corpus_options(args))
    print(json.dumps(report.to_dict(), indent=2) if args.json else report)


def add_parser(sub):
    lm = sub.add_parser(
        "lm",
        help="language models and text generation: train, generate, evaluate, export",
        description="Char- and word-level recurrent language models: training on any corpus, fast in-graph generation.",
    )
    actions = lm.add_subparsers(dest="action", metavar="ACTION", required=True)
    _add_train_parser(actions)
    defaults = AppDefaults("generator", "TextGenerator")
    note = lambda method, name: defaults.note(method, name)  # noqa: E731

    generate = actions.add_parser("generate", help="generate text with a saved model", description="Continue each prompt (an empty prompt starts from scratch).")
    generate.add_argument("model", help="directory of a saved language model")
    generate.add_argument("prompts", nargs="*", help="prompts to continue (default: one empty prompt)")
    generate.add_argument("--file", "-f", help="also read prompts from this file, one per line ('-' for stdin)")
    generate.add_argument("--max-length", type=int, help="new tokens per text" + note("generate", "max_length"))
    generate.add_argument("--temperature", type=float, help="sampling temperature; 0 = greedy" + note("generate", "temperature"))
    generate.add_argument("--top-k", type=int, help="sample among the k most likely tokens; 0 = off" + note("generate", "top_k"))
    generate.add_argument("--top-p", type=float, help="nucleus sampling mass in (0, 1]; 1 = off" + note("generate", "top_p"))
    generate.add_argument("--seed", type=int, help="sampling seed: the same seed gives the same text")
    generate.add_argument("--num-samples", type=int, help="texts per prompt" + note("generate", "num_samples"))
    generate.add_argument("--beam-width", type=int, help="beam search with this width instead of sampling")
    generate.add_argument("--stop", action="append", help="stop a text at this string (repeatable)")
    generate.add_argument("--json", action="store_true", help="print one JSON object per text")
    generate.set_defaults(run=_generate)

    evaluate = actions.add_parser("evaluate", help="perplexity and bits per character on a text", description="Perplexity and bits per character over the whole text (every token scored).")
    evaluate.add_argument("model", help="directory of a saved language model")
    evaluate.add_argument("data", help="evaluation text: file, glob, or TFDS name (its 'test' split)")
    evaluate.add_argument("--batch-size", type=int, help="parallel streams" + note("evaluate", "batch_size"))
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_corpus_options(evaluate)
    evaluate.set_defaults(run=_evaluate)

    add_export_parser(
        actions, "language model", "export a saved model for TF Serving",
        "Write <base-dir>/<name>/<next version>/ as a SavedModel with serving_default(prompt) and "
        "generate(prompt, max_length, temperature, top_k, top_p, seed).",
    )
