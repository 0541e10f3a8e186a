"""Atomic directory writes: a crash or a bad input never leaves half a save behind."""

import contextlib
import os
import shutil
import tempfile
import uuid

from rnnapps.errors import ModelFileError


@contextlib.contextmanager
def temporary_sibling(path, prefix=".tmp-"):
    """Yields a new empty directory next to `path`; removes it if the body fails."""
    parent = os.path.dirname(os.path.abspath(path)) or "."
    os.makedirs(parent, exist_ok=True)
    temporary = tempfile.mkdtemp(prefix=f"{prefix}{os.path.basename(path)}-", dir=parent)
    try:
        yield temporary
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def replace_directory(write_fn, path, marker_file):
    """Writes a directory with `write_fn(tmp)` and swaps it into `path` atomically.

    An existing `path` is replaced only if it holds `marker_file` (i.e. it is a previous
    save of the same kind); anything else is refused rather than deleted. Until the
    final rename, the previous save stays intact.

    Example:
        >>> replace_directory(lambda d: open(f"{d}/config.json", "w").close(), "out", "config.json")  # doctest: +SKIP
    """
    path = os.path.abspath(os.fspath(path))
    if os.path.exists(path):
        if not os.path.isdir(path):
            raise ModelFileError(f"{path} exists and is a file: refusing to overwrite it")
        if os.listdir(path) and not os.path.isfile(os.path.join(path, marker_file)):
            raise ModelFileError(f"{path} exists and is not an rnnapps save (no {marker_file}): refusing to overwrite it")
    with temporary_sibling(path) as temporary:
        write_fn(temporary)
        if os.path.exists(path):
            retired = f"{path}.old-{uuid.uuid4().hex[:8]}"
            os.rename(path, retired)
            os.rename(temporary, path)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(temporary, path)
    return path


def publish_version(write_fn, base_dir, name):
    """Writes `<base_dir>/<name>/<next integer>/` atomically, as TF Serving expects.

    TF Serving polls `<base_dir>/<name>/` and loads the highest integer version; it must
    never see a half-written one, so the export is written to a hidden temporary
    directory and renamed into place. Concurrent publishers each get their own number.

    Returns:
        the path of the new version directory.
    """
    model_dir = os.path.join(os.path.abspath(os.fspath(base_dir)), name)
    os.makedirs(model_dir, exist_ok=True)
    with temporary_sibling(os.path.join(model_dir, "export")) as temporary:
        write_fn(temporary)
        for _ in range(100):
            versions = [int(entry) for entry in os.listdir(model_dir) if entry.isdigit()]
            target = os.path.join(model_dir, str(max(versions, default=0) + 1))
            try:
                os.rename(temporary, target)
                return target
            except OSError:  # another publisher took this number first
                continue
    raise ModelFileError(f"could not publish a new version under {model_dir}")
