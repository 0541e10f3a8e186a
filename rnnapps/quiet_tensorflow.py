"""Importing TensorFlow without its C++ start-up chatter on the terminal.

TensorFlow 2.21 writes ~10 lines to stderr when it is imported (oneDNN notes, "Could not
find cuda drivers", and on some machines `E0000 ... failed call to cuInit`). Some of them
come from absl before its logging is configured, so `TF_CPP_MIN_LOG_LEVEL` cannot hide
them; to a newcomer on a CPU-only machine they read like a failure. The CLI therefore
imports TensorFlow with file descriptor 2 pointed at a temporary file, and prints what
was captured only if the import fails.

A user who sets `TF_CPP_MIN_LOG_LEVEL` themselves has chosen a logging level: then the
import is left alone and TensorFlow logs as configured.

Example:
    >>> from rnnapps.quiet_tensorflow import import_tensorflow_quietly
    >>> tf = import_tensorflow_quietly()  # doctest: +SKIP
"""

import contextlib
import importlib
import os
import sys
import tempfile

LOG_LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"


@contextlib.contextmanager
def _stderr_captured():
    """Points file descriptor 2 at a temporary file; yields the file (readable after the block)."""
    sys.stderr.flush()
    saved = os.dup(2)
    capture = tempfile.TemporaryFile()
    try:
        os.dup2(capture.fileno(), 2)
        try:
            yield capture
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
    finally:
        os.close(saved)


def import_tensorflow_quietly():
    """Imports and returns `tensorflow`, hiding its C++ start-up log unless the user asked for it.

    Sets `TF_CPP_MIN_LOG_LEVEL=3` (errors only) when the variable is unset, so later C++
    messages (device creation, `cuInit`) stay hidden too. If the import fails, the
    captured log is written to stderr before the exception propagates, so nothing that
    explains the failure is lost.
    """
    if "tensorflow" in sys.modules or LOG_LEVEL_VARIABLE in os.environ:
        return importlib.import_module("tensorflow")
    os.environ[LOG_LEVEL_VARIABLE] = "3"
    with _stderr_captured() as capture:
        try:
            tensorflow = importlib.import_module("tensorflow")
            tensorflow.config.list_logical_devices()  # device set-up logs (cuInit) happen here, still captured
            failure = None
        except BaseException as error:  # noqa: BLE001 - re-raised below with the log shown
            failure = error
    if failure is not None:
        capture.seek(0)
        sys.stderr.write(capture.read().decode("utf-8", "replace"))
        capture.close()
        raise failure
    capture.close()
    return tensorflow
