"""Bounded glob expansion for the corpus readers.

A glob is the user's instruction to read files, but one string must never make rnnapps
walk the whole filesystem: a recursive `**` needs a starting folder below the filesystem
root and the home directory, and a glob may match at most `MAX_GLOB_PATHS` paths.
"""

import glob
import itertools
import os

from rnnapps.errors import DataError

MAX_GLOB_PATHS = 100_000


def _root_of(pattern):
    """The folder a glob starts from: its leading components without magic."""
    head = pattern
    while head and glob.has_magic(head):
        head = os.path.dirname(head)
    return os.path.abspath(head or ".")


def glob_files(pattern, limit=MAX_GLOB_PATHS):
    """The regular files a glob matches, sorted.

    Args:
        pattern: a glob (`**` recursive); `~` is expanded.
        limit: the most paths it may match before `DataError`.

    Raises:
        DataError: a recursive glob rooted at `/` or the home folder, or too many matches.

    Example:
        >>> glob_files("no/such/*.txt")
        []
    """
    pattern = os.path.expanduser(os.fspath(pattern))
    if "**" in pattern:
        root = _root_of(pattern)
        if root in {os.path.abspath(os.sep), os.path.abspath(os.path.expanduser("~"))} or os.path.dirname(root) == root:
            raise DataError(
                f"{pattern!r} would search the whole disk or home folder: start a recursive glob in a "
                "data folder, e.g. 'books/**/*.txt'"
            )
    matches = list(itertools.islice(glob.iglob(pattern, recursive=True), limit + 1))
    if len(matches) > limit:
        raise DataError(f"{pattern!r} matches more than {limit} paths: narrow the glob")
    return sorted(match for match in matches if os.path.isfile(match))
