"""`rnnapps poetry train|generate|evaluate|export`: classical Chinese poems, exactly in form."""

import json

import rnnapps
from rnnapps.commands.common import (
    LANGUAGE_MODEL_OPTIONS,
    AppDefaults,
    add_export_parser,
    add_flag,
    add_language_model_options,
    add_optimizer_options,
    add_precision_options,
    add_train_parser,
    add_resume_options,
    add_training_options,
    given,
    optimizer_options,
    seed_everything,
    training_options,
)

FORM_CHOICES = ("wujue", "qijue", "wulv", "qilv", "free")
GENERATE_OPTIONS = ("form", "acrostic", "first_line", "mood", "rhyme", "no_repeat", "temperature", "top_k", "seed", "num_poems")
MODEL_OPTIONS = (
    *LANGUAGE_MODEL_OPTIONS, "titles", "untitled_share", "max_vocab", "min_count", "mixed_precision",
)


def _add_train_parser(actions):
    parser, defaults = add_train_parser(
        actions, "poetry", "PoetryGenerator",
        help="train a poetry model on a poem corpus and save it",
        description="Train a char-level recurrent poetry model (each poem one sequence) and save it.",
        epilog="DATA is chinese-poetry JSON (a glob such as 'json/poet.tang.*.json'), a tang.npz, or a text file with "
        "one poem per line (optionally 'title<TAB>poem'). Example: rnnapps poetry train 'json/poet.tang.*.json' "
        "-o models/tang --form qijue --form wujue --epochs 10",
    )
    note = defaults.init_note
    parser.add_argument("data", nargs="+", help="poem corpus: JSON files/globs, tang.npz, or text files")
    parser.add_argument("--output", "-o", required=True, help="directory to save the trained model in")
    corpus = parser.add_argument_group("corpus filters")
    corpus.add_argument("--form", action="append", choices=FORM_CHOICES, help="keep only poems of this form (repeatable)")
    corpus.add_argument("--author", action="append", help="keep only poems by this author (repeatable)")
    corpus.add_argument("--max-length", type=int, help="keep only poems of at most this many characters")
    model = parser.add_argument_group("model options")
    add_language_model_options(model, defaults)
    add_flag(model, "--no-titles", "titles", "train without titles (then --mood has nothing to prime)", sets=False)
    model.add_argument("--untitled-share", type=float, help="share of the poems trained without their title each "
                       "epoch, so poems written with no --mood start as trained" + note("untitled_share"))
    model.add_argument("--max-vocab", type=int, help="keep the most frequent characters only; the rest become <unk>")
    model.add_argument("--min-count", type=int, help="minimum character count for the vocabulary" + note("min_count"))
    add_optimizer_options(parser, defaults)
    add_training_options(parser, defaults, "poems", "held-out poems (same forms as DATA)")
    add_resume_options(parser)
    add_precision_options(parser)
    parser.set_defaults(run=_train)


def _train(args):
    seed_everything(args.seed)
    poet = rnnapps.PoetryGenerator(**given(args, MODEL_OPTIONS), **optimizer_options(args))
    poet.fit(
        args.data if len(args.data) > 1 else args.data[0],
        **training_options(args),
        **given(args, ("form", "author", "max_length")),
    )
    path = poet.save(args.output)
    print(f"saved poetry model ({poet.vectorizer.vocabulary_size} ids, mostly {poet.main_form}) to {path}")


def _generate(args):
    poet = rnnapps.load(args.model)
    poems = poet.generate(**given(args, GENERATE_OPTIONS))
    poems = [poems] if isinstance(poems, str) else poems
    for index, poem in enumerate(poems):
        if args.json:
            print(json.dumps({"poem": poem}, ensure_ascii=False))
        else:
            # One couplet per printed line, as poems are usually set.
            print(poem.replace("。", "。\n").rstrip("\n"))
            if index < len(poems) - 1:
                print()


def _evaluate(args):
    poet = rnnapps.load(args.model)
    report = poet.evaluate(args.data, **given(args, ("form", "num_samples", "seed")))
    print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) if args.json else report)


def add_parser(sub):
    poetry = sub.add_parser(
        "poetry",
        help="classical Chinese poetry: train, generate (forms, acrostics, rhyme), evaluate, export",
        description="Char-level recurrent poetry models whose poems are exactly of the asked form.",
    )
    actions = poetry.add_subparsers(dest="action", metavar="ACTION", required=True)
    _add_train_parser(actions)
    defaults = AppDefaults("poetry", "PoetryGenerator")
    note = lambda method, name: defaults.note(method, name)  # noqa: E731

    generate = actions.add_parser(
        "generate", help="write poems with a saved model",
        description="Write poems: wujue (4x5), qijue (4x7), wulv (8x5), qilv (8x7) or free.",
        epilog="Example: rnnapps poetry generate models/tang --form qijue --acrostic 春眠不覺 --rhyme --seed 1",
    )
    generate.add_argument("model", help="directory of a saved poetry model")
    generate.add_argument("--form", help="wujue, qijue, wulv, qilv, free (or 五绝 七绝 五律 七律; default: the corpus' commonest form)")
    generate.add_argument("--acrostic", help="each line starts with the next of these characters")
    generate.add_argument("--first-line", help="keep this first line and continue the poem")
    generate.add_argument("--mood", help="a title-like text that primes the poem and is not printed")
    generate.add_argument("--rhyme", action="store_true", default=None, help="even lines end in one rhyme group (needs pypinyin)")
    generate.add_argument("--no-repeat", action="store_true", default=None, help="no character twice in a poem")
    generate.add_argument("--temperature", type=float, help="sampling temperature; 0 = greedy" + note("generate", "temperature"))
    generate.add_argument("--top-k", type=int, help="sample among the k most likely characters; 0 = off" + note("generate", "top_k"))
    generate.add_argument("--seed", type=int, help="sampling seed: the same seed gives the same poems")
    generate.add_argument("--num-poems", type=int, help="poems to write" + note("generate", "num_poems"))
    generate.add_argument("--json", action="store_true", help="print one JSON object per poem")
    generate.set_defaults(run=_generate)

    evaluate = actions.add_parser(
        "evaluate", help="held-out perplexity and form validity of sampled poems",
        description="Character perplexity on held-out poems, and how many sampled poems are exactly of the form "
        "with and without the constraints.",
    )
    evaluate.add_argument("model", help="directory of a saved poetry model")
    evaluate.add_argument("data", help="held-out poems (same forms as for train)")
    evaluate.add_argument("--form", help="the form to sample (default: the corpus' commonest form)")
    evaluate.add_argument("--num-samples", type=int, help="poems sampled each way" + note("evaluate", "num_samples"))
    evaluate.add_argument("--seed", type=int, help="sampling seed" + note("evaluate", "seed"))
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluate.set_defaults(run=_evaluate)

    add_export_parser(
        actions, "poetry model", "export a saved model for TF Serving",
        "Write <base-dir>/<name>/<next version>/ as a SavedModel with serving_default(prompt) and "
        "generate(form, acrostic, first_line, mood, rhyme, no_repeat, temperature, top_k, seed).",
    )
