"""`rnnapps lm train|generate|evaluate|export`: char- and word-level language models."""

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


def _add_corpus_options(parser):
    group = parser.add_argument_group("corpus options (TFDS)")
    group.add_argument("--text-key", help="TFDS feature holding the text (default: the only string feature)")
    group.add_argument("--tfds-data-dir", help="TFDS data directory (where a dataset is already prepared)")
    group.add_argument("--no-download", action="store_true", help="never try to download TFDS data")


def _corpus_options(args):
    options = {"text_key": args.text_key, "tfds_data_dir": args.tfds_data_dir}
    options = {k: v for k, v in options.items() if v is not None}
    if args.no_download:
        options["download"] = False
    return options


def _add_train_parser(actions):
    parser = actions.add_parser(
        "train",
        help="train a language model on a corpus and save it",
        description="Train a recurrent language model (char or word level) and save it (model + vocabulary + config).",
        epilog="DATA is a text file, a glob of text files ('books/*.txt'), or a TFDS name such as tiny_shakespeare. "
        "Example: rnnapps lm train shakespeare.txt -o models/shakespeare --level char --units 256 --epochs 20 --sample-every 5",
    )
    parser.add_argument("data", help="training corpus: text file, glob, or TFDS name")
    parser.add_argument("--output", "-o", required=True, help="directory to save the trained model in")
    model = parser.add_argument_group("model options")
    model.add_argument("--level", choices=("char", "word"), default="char", help="token level (default: char)")
    model.add_argument("--cell", choices=CELLS, help="recurrent cell (default: gru)")
    model.add_argument("--units", type=int, help="hidden units per layer (default: 512)")
    model.add_argument("--depth", type=int, help="stacked recurrent layers (default: 1)")
    model.add_argument("--embedding-dim", type=int, help="embedding width (default: 256)")
    model.add_argument("--dropout", type=float, default=0.0, help="input dropout of recurrent layers (default: 0)")
    model.add_argument("--output-dropout", type=float, default=0.0, help="dropout before the softmax layer (default: 0)")
    model.add_argument("--connection", choices=("residual", "highway"), help="connection between stacked layers (needs --depth >= 2)")
    model.add_argument("--tie-embeddings", action="store_true", help="share the embedding with the output layer (needs --units == --embedding-dim)")
    model.add_argument("--sequence-length", type=int, default=100, help="tokens per training window (BPTT length; default: 100)")
    model.add_argument("--max-vocab", type=int, help="vocabulary size cap; rarer tokens become <unk> (default: none for char, 20000 for word)")
    model.add_argument("--min-count", type=int, default=1, help="minimum token count for the vocabulary (default: 1)")
    model.add_argument("--lowercase", action="store_true", help="lowercase the text (default: keep case)")
    add_optimizer_options(parser, learning_rate=2e-3)
    train = parser.add_argument_group("training options")
    train.add_argument("--epochs", type=int, default=10, help="maximum epochs (default: 10)")
    train.add_argument("--batch-size", type=int, default=64, help="windows per batch (default: 64)")
    train.add_argument("--stateful", action="store_true", help="truncated BPTT: carry the state across consecutive windows")
    train.add_argument("--validation-data", help="held-out corpus (same forms as DATA)")
    train.add_argument("--validation-split", type=float, default=0.05, help="fraction of lines held out when no --validation-data (default: 0.05)")
    train.add_argument("--patience", type=int, default=3, help="early-stopping patience in epochs; 0 turns it off (default: 3)")
    train.add_argument("--sample-every", type=int, default=0, help="print samples every N epochs (default: never)")
    train.add_argument("--sample-prompt", action="append", help="prompt for the samples (repeatable; default: empty prompt)")
    train.add_argument("--checkpoint-dir", help="save the best model here during training")
    train.add_argument("--tensorboard-dir", help="write TensorBoard logs (and samples.txt) here")
    train.add_argument("--backup-dir", help="BackupAndRestore state: rerun the same command after a crash to resume")
    add_resume_options(train)
    add_time_limit_options(train)
    train.add_argument("--seed", type=int, help="random seed for weights and shuffling")
    _add_corpus_options(parser)
    parser.set_defaults(run=_train)


def _train(args):
    seed_everything(args.seed)
    same_name = (
        "level", "cell", "units", "depth", "embedding_dim", "dropout", "output_dropout", "connection",
        "tie_embeddings", "sequence_length", "max_vocab", "min_count", "lowercase", "optimizer", "learning_rate",
    )
    generator = rnnapps.TextGenerator(
        # Options left unset (None) take the constructor's default: one source of defaults.
        **{name: getattr(args, name) for name in same_name if getattr(args, name) is not None},
        **clipping_options(args), mixed_precision=args.mixed_precision,
    )
    generator.fit(
        args.data,
        validation_data=args.validation_data,
        validation_split=args.validation_split,
        epochs=args.epochs,
        **time_limit_options(args),
        batch_size=args.batch_size,
        stateful=args.stateful,
        early_stopping_patience=args.patience or None,
        sample_every=args.sample_every or None,
        sample_prompts=args.sample_prompt,
        checkpoint_dir=args.checkpoint_dir,
        tensorboard_dir=args.tensorboard_dir,
        backup_dir=backup_dir(args),
        seed=args.seed,
        **_corpus_options(args),
    )
    path = generator.save(args.output)
    print(f"saved {args.level}-level language model ({generator.vectorizer.vocabulary_size} ids) to {path}")


def _generate(args):
    generator = rnnapps.load(args.model)
    prompts = read_lines(args.prompts, args.file, "prompts") if (args.prompts or args.file) else [""]
    texts = generator.generate(
        prompts,
        max_length=args.max_length,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        seed=args.seed,
        num_samples=args.num_samples,
        beam_width=args.beam_width,
        stop=args.stop,
    )
    for index, text in enumerate(texts):
        prompt = prompts[index // args.num_samples]  # texts come prompt by prompt
        if args.json:
            print(json.dumps({"prompt": prompt, "text": text}, ensure_ascii=False))
        else:
            print(text)
            if index < len(texts) - 1:
                print("-" * 40)


def _evaluate(args):
    generator = rnnapps.load(args.model)
    report = generator.evaluate(args.data, batch_size=args.batch_size, **_corpus_options(args))
    print(json.dumps(report.to_dict(), indent=2) if args.json else report)


def _export(args):
    generator = rnnapps.load(args.model)
    path = generator.export(args.base_dir, args.name)
    print_serving_hint(path, args.name or generator.kind)


def add_parser(sub):
    lm = sub.add_parser(
        "lm",
        help="language models and text generation: train, generate, evaluate, export",
        description="Char- and word-level recurrent language models: training on any corpus, fast in-graph generation.",
    )
    actions = lm.add_subparsers(dest="action", metavar="ACTION", required=True)
    _add_train_parser(actions)

    generate = actions.add_parser("generate", help="generate text with a saved model", description="Continue each prompt (an empty prompt starts from scratch).")
    generate.add_argument("model", help="directory of a saved language model")
    generate.add_argument("prompts", nargs="*", help="prompts to continue (default: one empty prompt)")
    generate.add_argument("--file", "-f", help="also read prompts from this file, one per line ('-' for stdin)")
    generate.add_argument("--max-length", type=int, default=200, help="new tokens per text (default: 200)")
    generate.add_argument("--temperature", type=float, default=1.0, help="sampling temperature; 0 = greedy (default: 1.0)")
    generate.add_argument("--top-k", type=int, default=0, help="sample among the k most likely tokens; 0 = off (default: 0)")
    generate.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass in (0, 1]; 1 = off (default: 1.0)")
    generate.add_argument("--seed", type=int, help="sampling seed: the same seed gives the same text")
    generate.add_argument("--num-samples", type=int, default=1, help="texts per prompt (default: 1)")
    generate.add_argument("--beam-width", type=int, help="beam search with this width instead of sampling")
    generate.add_argument("--stop", action="append", help="stop a text at this string (repeatable)")
    generate.add_argument("--json", action="store_true", help="print one JSON object per text")
    generate.set_defaults(run=_generate)

    evaluate = actions.add_parser("evaluate", help="perplexity and bits per character on a text", description="Perplexity and bits per character over the whole text (every token scored).")
    evaluate.add_argument("model", help="directory of a saved language model")
    evaluate.add_argument("data", help="evaluation text: file, glob, or TFDS name (its 'test' split)")
    evaluate.add_argument("--batch-size", type=int, default=32, help="parallel streams (default: 32)")
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_corpus_options(evaluate)
    evaluate.set_defaults(run=_evaluate)

    export = actions.add_parser("export", help="export a saved model for TF Serving", description="Write <base-dir>/<name>/<next version>/ as a SavedModel with serving_default(prompt) and generate(prompt, max_length, temperature, top_k, top_p, seed).")
    export.add_argument("model", help="directory of a saved language model")
    export.add_argument("--base-dir", default="saved_models", help="TF Serving model base directory (default: saved_models)")
    export.add_argument("--name", help="model name (default: language_model)")
    export.set_defaults(run=_export)
