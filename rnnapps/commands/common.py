"""Options and helpers the app commands share."""

import os
import sys

from rnnapps.errors import RnnappsError

CELLS = ("simple", "irnn", "gru", "lstm")


def add_data_options(parser):
    group = parser.add_argument_group("data options (CSV/TSV files and TFDS)")
    group.add_argument("--text-column", default="text", help="CSV/TSV column holding the text (name or 0-based index; default: text)")
    group.add_argument("--label-column", default="label", help="CSV/TSV column holding the label (default: label)")
    group.add_argument("--delimiter", help="CSV field separator (default: tab for .tsv, comma otherwise)")
    group.add_argument("--label-separator", help="split the label field into several labels (multi-label), e.g. '|'")
    group.add_argument("--tfds-data-dir", help="TFDS data directory (where a dataset is already prepared)")
    group.add_argument("--no-download", action="store_true", help="never try to download TFDS data")


def data_options(args):
    options = {
        "text_column": int(args.text_column) if args.text_column.isdigit() else args.text_column,
        "label_column": int(args.label_column) if args.label_column.isdigit() else args.label_column,
        "delimiter": args.delimiter,
        "label_separator": args.label_separator,
        "tfds_data_dir": args.tfds_data_dir,
        "download": not args.no_download,
    }
    return {k: v for k, v in options.items() if v is not None}


def add_optimizer_options(parser, learning_rate=1e-3):
    """Optimizer and gradient-clipping options (clipping options are mutually exclusive)."""
    optim = parser.add_argument_group("optimizer options")
    optim.add_argument("--optimizer", default="adam", help="Keras optimizer name (default: adam)")
    optim.add_argument("--learning-rate", type=float, default=learning_rate, help=f"learning rate (default: {learning_rate})")
    clip = optim.add_mutually_exclusive_group()
    clip.add_argument("--clipnorm", type=float, default=1.0, help="per-variable gradient norm clip (default: 1.0)")
    clip.add_argument("--global-clipnorm", type=float, help="clip the global gradient norm instead")
    clip.add_argument("--clipvalue", type=float, help="clip gradient values instead")
    clip.add_argument("--no-clipping", action="store_true", help="no gradient clipping")


def clipping_options(args):
    """The app keyword arguments for the chosen clipping option (exactly one is set)."""
    if args.global_clipnorm is not None:
        return {"clipnorm": None, "global_clipnorm": args.global_clipnorm}
    if args.clipvalue is not None:
        return {"clipnorm": None, "clipvalue": args.clipvalue}
    return {"clipnorm": None} if args.no_clipping else {"clipnorm": args.clipnorm}


def add_resume_options(group):
    """`--resume` and `--mixed-precision`, shared by the train commands."""
    group.add_argument("--resume", action="store_true", help="resumable training: a rerun of the same command after a crash "
                       "continues at the last finished epoch (backup in --backup-dir, default OUTPUT.backup)")
    group.add_argument("--mixed-precision", choices=("mixed_bfloat16", "mixed_float16"), help="compute in 16 bits "
                       "(mixed_float16 on GPUs, mixed_bfloat16 on CPUs/TPUs); outputs stay float32")


def add_time_limit_options(group):
    """`--time-limit` and `--lr-schedule`, shared by the train commands."""
    group.add_argument("--time-limit", help="stop training after this long (seconds, or e.g. 15m, 1h30m), or after "
                       "--epochs, whichever comes first; the best validation weights are kept")
    group.add_argument("--lr-schedule", choices=("budget", "constant"), help="with --time-limit: warm-up then cosine "
                       "decay to the end of the time limit (budget, the default), or a constant learning rate")


def time_limit_options(args):
    """The fit keyword arguments of `--time-limit` / `--lr-schedule` that were given."""
    options = {"time_limit": args.time_limit}
    if args.lr_schedule is not None:
        options["lr_schedule"] = args.lr_schedule
    return options


def backup_dir(args):
    """The backup directory of a train command: --backup-dir, or OUTPUT.backup with --resume."""
    if args.backup_dir or not args.resume:
        return args.backup_dir
    return os.path.normpath(args.output) + ".backup"


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
