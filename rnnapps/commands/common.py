"""Options and helpers the app commands share.

The defaults of an app live in one place: its constructor and its `fit`/`export`
signatures. So every option here defaults to None and only the options a user gives
reach the app (`given`); the help texts quote the app's defaults, read from its source
file (`AppDefaults`), so `--help` stays true and still answers without importing TensorFlow.
"""

import ast
import os
import sys

from rnnapps.errors import RnnappsError

CELLS = ("simple", "irnn", "gru", "lstm")
_APPS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "apps")


class AppDefaults:
    """The literal defaults of an app class's methods, read from `rnnapps/apps/<module>.py`.

    Reading the source (instead of importing the app) keeps `--help` free of TensorFlow.
    A default that is not a literal (or a method that is not found) is "the app's".

    Example:
        >>> AppDefaults("sentiment", "SentimentClassifier").note("fit", "epochs")  # doctest: +SKIP
        ' (default: 10)'
    """

    def __init__(self, module, class_name):
        self.methods = {}
        try:
            with open(os.path.join(_APPS_DIR, f"{module}.py"), encoding="utf-8") as handle:
                tree = ast.parse(handle.read())
        except (OSError, SyntaxError):
            return
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name == class_name:
                for item in node.body:
                    if isinstance(item, ast.FunctionDef):
                        self.methods[item.name] = _literal_defaults(item.args)

    def init_note(self, name):
        """`note` for a constructor option."""
        return self.note("__init__", name)

    def note(self, method, name, none_means=None):
        """" (default: VALUE)" for the help text of the option that sets `method`'s `name`;
        `none_means` says what a default of None stands for (e.g. "--units")."""
        defaults = self.methods.get(method, {})
        if name not in defaults:
            return " (default: the app's)"
        value = defaults[name]
        if value is None and none_means:
            value = none_means
        elif value is None or isinstance(value, bool):
            value = {None: "none", True: "on", False: "off"}[value]
        return f" (default: {value})"


def _literal_defaults(arguments):
    names = [a.arg for a in arguments.args][len(arguments.args) - len(arguments.defaults):]
    pairs = list(zip(names, arguments.defaults))
    pairs += [(a.arg, d) for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults) if d is not None]
    defaults = {}
    for name, node in pairs:
        try:
            defaults[name] = ast.literal_eval(node)
        except ValueError:
            continue
    return defaults


def given(args, names):
    """`{name: value}` of the options in `names` that the user gave (not None)."""
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def column(value):
    """A CSV column option: a 0-based index when it is all digits, else a name."""
    return int(value) if value is not None and value.isdigit() else value


# -- option groups ----------------------------------------------------------------------
def add_data_options(parser):
    """CSV/TSV columns and TFDS options of labelled texts (`data_options` reads them)."""
    group = parser.add_argument_group("data options (CSV/TSV files and TFDS)")
    group.add_argument("--text-column", help="CSV/TSV column holding the text (name or 0-based index; default: text)")
    group.add_argument("--label-column", help="CSV/TSV column holding the label (default: label)")
    group.add_argument("--delimiter", help="CSV field separator (default: tab for .tsv, comma otherwise)")
    group.add_argument("--label-separator", help="split the label field into several labels (multi-label), e.g. '|'")
    add_tfds_options(group)


def data_options(args):
    options = given(args, ("delimiter", "label_separator"))
    options.update({name: column(getattr(args, name)) for name in ("text_column", "label_column") if getattr(args, name) is not None})
    return {**options, **tfds_options(args)}


def add_tfds_options(group):
    """`--tfds-data-dir` and `--no-download`, the TFDS options of every data source."""
    group.add_argument("--tfds-data-dir", help="TFDS data directory (where a dataset is already prepared)")
    group.add_argument("--no-download", dest="download", action="store_false", default=None, help="never try to download TFDS data")


def tfds_options(args):
    return given(args, ("tfds_data_dir", "download"))


def add_flag(group, option, name, help_text, sets=True):
    """A boolean option that sets the app argument `name` to `sets` when given and leaves it
    to the app otherwise (`--no-lowercase` sets `lowercase=False`)."""
    action = "store_true" if sets else "store_false"
    group.add_argument(option, dest=name, action=action, default=None, help=help_text)


LANGUAGE_MODEL_OPTIONS = (
    "cell", "units", "depth", "embedding_dim", "dropout", "recurrent_dropout", "output_dropout", "connection",
    "tie_embeddings",
)


def add_language_model_options(model, defaults):
    """The architecture options of the language-model apps (`LANGUAGE_MODEL_OPTIONS`), to the group `model`."""
    note = lambda name, none_means=None: defaults.note("__init__", name, none_means)  # noqa: E731
    model.add_argument("--cell", choices=CELLS, help="recurrent cell" + note("cell"))
    model.add_argument("--units", type=int, help="hidden units per layer" + note("units"))
    model.add_argument("--depth", type=int, help="stacked recurrent layers" + note("depth"))
    model.add_argument("--embedding-dim", type=int, help="embedding width" + note("embedding_dim", "--units"))
    model.add_argument("--dropout", type=float, help="input dropout of recurrent layers" + note("dropout"))
    model.add_argument("--recurrent-dropout", type=float, help="recurrent-state dropout (disables cuDNN)" + note("recurrent_dropout"))
    model.add_argument("--output-dropout", type=float, help="dropout before the softmax layer" + note("output_dropout"))
    model.add_argument("--connection", choices=("residual", "highway"), help="connection between stacked layers (needs --depth >= 2)")
    tie = model.add_mutually_exclusive_group()
    tied = note("tie_embeddings", "on when --embedding-dim equals --units")
    add_flag(tie, "--tie-embeddings", "tie_embeddings", "share the embedding with the output layer (needs --units == --embedding-dim)" + tied)
    add_flag(tie, "--no-tie-embeddings", "tie_embeddings", "a separate output layer", sets=False)


def add_optimizer_options(parser, defaults):
    """Optimizer and gradient-clipping options (clipping options are mutually exclusive)."""
    optim = parser.add_argument_group("optimizer options")
    optim.add_argument("--optimizer", help="Keras optimizer name" + defaults.note("__init__", "optimizer"))
    optim.add_argument("--learning-rate", type=float, help="learning rate" + defaults.note("__init__", "learning_rate"))
    clip = optim.add_mutually_exclusive_group()
    clip.add_argument("--clipnorm", type=float, help="per-variable gradient norm clip" + defaults.note("__init__", "clipnorm"))
    clip.add_argument("--global-clipnorm", type=float, help="clip the global gradient norm instead")
    clip.add_argument("--clipvalue", type=float, help="clip gradient values instead")
    clip.add_argument("--no-clipping", action="store_true", help="no gradient clipping")


def optimizer_options(args):
    """The constructor keyword arguments of the optimizer options given (one clipping option at most)."""
    options = given(args, ("optimizer", "learning_rate"))
    if args.global_clipnorm is not None:
        options.update(clipnorm=None, global_clipnorm=args.global_clipnorm)
    elif args.clipvalue is not None:
        options.update(clipnorm=None, clipvalue=args.clipvalue)
    elif args.no_clipping:
        options["clipnorm"] = None
    elif args.clipnorm is not None:
        options["clipnorm"] = args.clipnorm
    return options


FIT_OPTIONS = ("epochs", "batch_size", "validation_data", "validation_split", "checkpoint_dir", "tensorboard_dir", "seed")


def add_train_parser(actions, module, class_name, **texts):
    """The `train` action of an app command (`texts`: help, description, epilog) and the
    app's `AppDefaults` (read from `rnnapps/apps/<module>.py`)."""
    return actions.add_parser("train", **texts), AppDefaults(module, class_name)


def add_training_options(parser, defaults, examples, validation_data_help):
    """The options of every train command: epochs, batches, validation, early stopping, logs,
    seed, time limit and learning-rate schedule. Returns the group (commands add their own).

    Args:
        defaults: the app's `AppDefaults` (for the help texts).
        examples: what one training example is called ("texts", "windows", "poems", "pairs").
        validation_data_help: what `--validation-data` accepts for this app.
    """
    note = lambda name: defaults.note("fit", name)  # noqa: E731
    train = parser.add_argument_group("training options")
    train.add_argument("--epochs", type=int, help="maximum epochs" + note("epochs"))
    train.add_argument("--batch-size", type=int, help=f"{examples} per batch" + note("batch_size"))
    train.add_argument("--validation-data", help=validation_data_help)
    train.add_argument("--validation-split", type=float, help=f"fraction of the {examples} held out (by a hash) when "
                       "no --validation-data" + note("validation_split"))
    train.add_argument("--patience", type=int, help="early-stopping patience in epochs; 0 turns it off" + note("early_stopping_patience"))
    train.add_argument("--checkpoint-dir", help="save the best app here during training")
    train.add_argument("--tensorboard-dir", help="write TensorBoard logs here")
    train.add_argument("--seed", type=int, help="random seed for weights and shuffling")
    train.add_argument("--time-limit", help="stop training after this long (seconds, or e.g. 15m, 1h30m), or after "
                       "--epochs, whichever comes first; the best validation weights are kept")
    train.add_argument("--lr-schedule", choices=("budget", "constant"), help="with --time-limit: warm-up then cosine "
                       "decay to the end of the time limit (budget), or a constant learning rate" + note("lr_schedule"))
    return train


def training_options(args):
    """The `fit` keyword arguments of the shared training and resume options that were given."""
    options = given(args, FIT_OPTIONS + ("time_limit", "lr_schedule"))
    if args.patience is not None:
        options["early_stopping_patience"] = args.patience or None
    directory = backup_dir(args)
    if directory is not None:
        options["backup_dir"] = directory
    return options


def add_resume_options(parser):
    """`--resume` and `--backup-dir`: resumable training, shared by the train commands."""
    group = parser.add_argument_group("resuming")
    group.add_argument("--resume", action="store_true", help="resumable training: a rerun of the same command after a crash "
                       "continues at the last finished epoch (backup in --backup-dir, default OUTPUT.backup)")
    group.add_argument("--backup-dir", help="BackupAndRestore state: rerun the same command after a crash to resume")


def add_precision_options(parser):
    """`--mixed-precision`, shared by the train commands (a constructor option, apart from resuming)."""
    group = parser.add_argument_group("precision")
    group.add_argument("--mixed-precision", choices=("mixed_bfloat16", "mixed_float16"), help="compute in 16 bits "
                       "(mixed_float16 on GPUs, mixed_bfloat16 on CPUs/TPUs); outputs stay float32")


def backup_dir(args):
    """The backup directory of a train command: --backup-dir, or OUTPUT.backup with --resume."""
    if args.backup_dir or not args.resume:
        return args.backup_dir
    return os.path.normpath(args.output) + ".backup"


def add_export_parser(actions, app_name, help_text, description, options=()):
    """The `export` action of an app command; `options` names the extra export keyword arguments
    its command adds to the returned parser."""
    export = actions.add_parser("export", help=help_text, description=description)
    export.add_argument("model", help=f"directory of a saved {app_name}")
    export.add_argument("--base-dir", help="TF Serving model base directory (default: saved_models)")
    export.add_argument("--name", help="model name (default: the app's kind)")
    export.set_defaults(run=run_export, export_options=tuple(options))
    return export


def run_export(args):
    """Loads the saved app, exports it with the options given and prints how to serve it."""
    import rnnapps

    app = rnnapps.load(args.model)
    path = app.export(**given(args, ("base_dir", "name") + args.export_options))
    print_serving_hint(path, args.name or app.kind)


# -- helpers ----------------------------------------------------------------------------
def seed_everything(seed):
    if seed is not None:
        import keras

        keras.utils.set_random_seed(seed)


def read_lines(texts, path, what):
    """Texts given as arguments plus the lines of `path` ('-' = stdin); at least one."""
    texts = list(texts)
    if path:
        handle = sys.stdin if path == "-" else open(path, encoding="utf-8", errors="replace")
        with handle:
            texts.extend(line.rstrip("\n") for line in handle)
    if not texts:
        raise RnnappsError(f"no {what}: give them as arguments or with --file")
    return texts


def print_serving_hint(path, name):
    print(f"exported SavedModel to {path}")
    print(
        f"serve it with: tensorflow_model_server --model_name={name} "
        f"--model_base_path={os.path.abspath(os.path.dirname(path))} --rest_api_port=8501"
    )
