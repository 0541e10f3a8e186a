"""The `rnnapps` command line: thin wrappers around the apps.

Each app's subcommands live in `rnnapps/commands/<command>.py` (an `add_parser(sub)`
function). TensorFlow is imported only once a command runs, so `--help` answers at once,
and it is imported quietly (see `rnnapps.quiet_tensorflow`), so a command's first lines
are its own output.
"""

import argparse
import os
import sys
import traceback

import rnnapps
from rnnapps.commands import COMMANDS
from rnnapps.errors import RnnappsError
from rnnapps.quiet_tensorflow import import_tensorflow_quietly

TRACEBACK_VARIABLE = "RNNAPPS_TRACEBACK"


def _quickstart(args):
    from rnnapps.quickstart import run_quickstart

    run_quickstart(export_dir=args.export_dir, work_dir=args.work_dir, epochs=args.epochs)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="rnnapps",
        description="Recurrent neural network apps: text classification, language models and text generation, "
        "Chinese poetry, attention translation.",
        epilog="Start with: rnnapps quickstart",
    )
    parser.add_argument("--version", action="version", version=f"rnnapps {rnnapps.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    quick = sub.add_parser(
        "quickstart",
        help="train every app briefly on the bundled samples, export and reload",
        description="Train the apps briefly on the samples bundled with rnnapps, show evaluations and "
        "predictions, save and reload them, export SavedModels and check that the exports answer.",
    )
    quick.add_argument("--export-dir", default="saved_models", help="TF Serving base directory for the exports (default: saved_models)")
    quick.add_argument("--work-dir", default="quickstart_output", help="where the trained apps are saved (default: quickstart_output)")
    quick.add_argument("--epochs", type=int, default=20, help="maximum training epochs per app (default: 20)")
    quick.set_defaults(run=_quickstart)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def _failure(error):
    """(message, exit status) for anything a command can raise: one line, never a traceback."""
    if isinstance(error, RnnappsError):
        return str(error), 2
    if isinstance(error, KeyboardInterrupt):
        return "interrupted (Ctrl-C); a training run with --resume continues where it stopped when rerun", 130
    if isinstance(error, MemoryError) or type(error).__name__ == "ResourceExhaustedError":
        return "out of memory: lower --batch-size (or the lengths/limits of the request) and retry", 2
    if isinstance(error, OSError):
        where = f": {error.filename}" if getattr(error, "filename", None) else ""
        return f"{error.strerror or error}{where}", 2
    first_line = (str(error).strip().splitlines() or [""])[0]
    return (
        f"unexpected {type(error).__name__}: {first_line} "
        f"(please report it; set {TRACEBACK_VARIABLE}=1 to see the traceback)",
        1,
    )


def main(argv=None):
    """Entry point of the `rnnapps` console script.

    Every failure ends with one `rnnapps: error: ...` line on stderr and a non-zero
    status: 2 for errors of the input (rnnapps errors, files, memory), 130 for Ctrl-C,
    1 for anything unexpected (its traceback only with RNNAPPS_TRACEBACK=1).
    """
    args = build_parser().parse_args(argv)
    try:
        import_tensorflow_quietly()
        args.run(args)
    except (Exception, KeyboardInterrupt) as error:
        if os.environ.get(TRACEBACK_VARIABLE) == "1":
            traceback.print_exc()
        message, status = _failure(error)
        print(f"rnnapps: error: {message}", file=sys.stderr)
        return status
    return 0


if __name__ == "__main__":
    sys.exit(main())
