"""Atomic directory writes: a crash or a bad input never leaves half a save behind.

Replacing a save is three steps, each a single rename or delete, and any of them can
be cut short by a kill:

    1. the new copy is written to `.tmp-<name>-*` next to `<name>` and fsynced;
    2. the old copy is renamed to `<name>.old-<hex>` (the "retired" copy);
    3. the new copy is renamed to `<name>`, the parent directory fsynced, and only
       then is the retired copy deleted.

A kill between 2 and 3 leaves no `<name>`: `recover_directory` (run by the next save
and by every load) renames the intact retired copy back. A kill after 3 leaves a
retired copy next to a complete `<name>`: the next save removes it.
"""

import contextlib
import json
import os
import shutil
import tempfile
import uuid

from rnnapps.errors import ConfigError, ModelFileError

RETIRED_TAG = ".old-"

# Tests set this to a function of the step name (e.g. one that calls `os._exit`) to
# simulate a kill between the steps above; it is never set in normal use.
_step_hook = None


def _step(name):
    if _step_hook is not None:
        _step_hook(name)


def fsync_tree(directory):
    """Flushes every file and directory under `directory` to disk (POSIX; best effort elsewhere).

    Example:
        >>> fsync_tree(".")  # doctest: +SKIP
    """
    for root, _, files in os.walk(directory):
        for name in files:
            _fsync_path(os.path.join(root, name), os.O_RDONLY)
        _fsync_path(root, os.O_RDONLY)


def _fsync_path(path, flags):
    try:
        descriptor = os.open(path, flags)
    except OSError:  # e.g. directories cannot be opened on Windows: nothing to flush there
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def read_json_file(path, what):
    """The JSON document in the file `path`, or a `ModelFileError` naming `what` when the
    file cannot be read or is not UTF-8 JSON (a missing file is the caller's to word).

    Example:
        >>> read_json_file("models/tang/config.json", "app config")["app"]  # doctest: +SKIP
        'poetry'
    """
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (ValueError, UnicodeDecodeError) as error:
        raise ModelFileError(f"{what} {path} is corrupted: not UTF-8 JSON ({error})") from None
    except OSError as error:
        raise ModelFileError(f"{what} {path} cannot be read: {error.strerror or error}") from None


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


def retired_copies(path, is_ours):
    """The `<path>.old-<hex>` siblings that `is_ours` recognises, newest first."""
    path = os.path.abspath(os.fspath(path))
    parent, base = os.path.split(path)
    if not os.path.isdir(parent):
        return []
    found = []
    for entry in os.listdir(parent):
        candidate = os.path.join(parent, entry)
        if entry.startswith(base + RETIRED_TAG) and os.path.isdir(candidate) and is_ours(candidate):
            found.append(candidate)
    return sorted(found, key=os.path.getmtime, reverse=True)


def recover_directory(path, is_ours):
    """Puts back the intact retired copy of `path` when a kill cut a replacement short.

    Returns True when something was restored. Nothing is touched when `path` exists.

    Example:
        >>> recover_directory("models/sentiment", lambda d: True)  # doctest: +SKIP
        False
    """
    path = os.path.abspath(os.fspath(path))
    if os.path.lexists(path):
        return False
    for candidate in retired_copies(path, is_ours):
        os.rename(candidate, path)
        _fsync_path(os.path.dirname(path), os.O_RDONLY)
        return True
    return False


def replace_directory(write_fn, path, is_ours, what="an rnnapps save"):
    """Writes a directory with `write_fn(tmp)` and swaps it into `path` atomically.

    An existing `path` is replaced only when it is empty or `is_ours(path)` proves it is
    a previous save of the same kind; anything else is refused, and nothing is touched.
    Until the new copy is complete and on disk, the previous save stays intact; a kill
    at any moment leaves either copy recoverable (see the module docstring).

    Args:
        write_fn: writes the new content into the directory it is given.
        path: where the directory goes.
        is_ours: `is_ours(directory)` is True for a directory this kind of save wrote.
        what: how the refusal message names such a directory.

    Example:
        >>> replace_directory(write, "out", lambda d: os.path.isfile(f"{d}/marker"))  # doctest: +SKIP
    """
    path = os.path.abspath(os.fspath(path))
    recover_directory(path, is_ours)
    if os.path.lexists(path):
        if not os.path.isdir(path) or os.path.islink(path):
            raise ModelFileError(f"{path} exists and is a file: refusing to overwrite it; choose another path")
        if os.listdir(path) and not is_ours(path):
            raise ModelFileError(
                f"{path} exists and is not {what}: refusing to overwrite it (nothing was changed); "
                "save into a new or empty directory"
            )
    leftovers = retired_copies(path, is_ours)
    with temporary_sibling(path) as temporary:
        write_fn(temporary)
        fsync_tree(temporary)
        _step("written")
        if os.path.isdir(path) and os.listdir(path):
            retired = f"{path}{RETIRED_TAG}{uuid.uuid4().hex[:8]}"
            os.rename(path, retired)
            _step("retired")
            try:
                os.rename(temporary, path)
            except BaseException:
                os.rename(retired, path)  # put the old save back before reporting the failure
                raise
            _fsync_path(os.path.dirname(path), os.O_RDONLY)
            _step("replaced")
            leftovers.append(retired)
        else:
            os.replace(temporary, path)  # no path yet, or an empty directory
            _fsync_path(os.path.dirname(path), os.O_RDONLY)
    for retired in leftovers:
        shutil.rmtree(retired, ignore_errors=True)
    return path


def check_plain_name(name, what="name"):
    """Raises `ConfigError` unless `name` is one plain folder name (no separators, not '.'/'..').

    Example:
        >>> check_plain_name("sentiment")
        'sentiment'
    """
    if not isinstance(name, str):
        raise ConfigError(f"the {what} must be a string, got {type(name).__name__}")
    separators = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    if (
        not name.strip()
        or name in (".", "..")
        or any(sep in name for sep in separators)
        or os.path.isabs(name)
        or "\x00" in name
        or os.path.splitdrive(name)[0]
    ):
        raise ConfigError(
            f"the {what} must be a plain folder name such as 'sentiment' (no '/', '..' or absolute path), got {name!r}"
        )
    return name


def publish_version(write_fn, base_dir, name):
    """Writes `<base_dir>/<name>/<next integer>/` atomically, as TF Serving expects.

    TF Serving polls `<base_dir>/<name>/` and loads the highest integer version; it must
    never see a half-written one, so the export is written to a hidden temporary
    directory and renamed into place. Concurrent publishers each get their own number.
    `name` must be a plain folder name: an export never writes outside `base_dir`.

    Returns:
        the path of the new version directory.
    """
    check_plain_name(name, "export name")
    model_dir = os.path.join(os.path.abspath(os.fspath(base_dir)), name)
    os.makedirs(model_dir, exist_ok=True)
    with temporary_sibling(os.path.join(model_dir, "export")) as temporary:
        write_fn(temporary)
        fsync_tree(temporary)
        for _ in range(100):
            versions = [int(entry) for entry in os.listdir(model_dir) if entry.isdigit()]
            target = os.path.join(model_dir, str(max(versions, default=0) + 1))
            try:
                os.rename(temporary, target)
                _fsync_path(model_dir, os.O_RDONLY)
                return target
            except OSError:  # another publisher took this number first
                continue
    raise ModelFileError(f"could not publish a new version under {model_dir}")
