"""Vocabularies: built in one streaming pass, stored as JSON lists (tokens may be "\\n").

Ids are fixed by convention: 0 is padding, 1 is the out-of-vocabulary token, and the
vocabulary proper starts at 2, most frequent first (ties broken by the token, so the
same data always gives the same ids, which resuming an interrupted fit relies on).
"""

import collections
import json
import os

from rnnapps.errors import DataError, ModelFileError
from rnnapps.io_utils import read_json_file

PAD_TOKEN = ""
OOV_TOKEN = "[UNK]"
RESERVED_TOKENS = (PAD_TOKEN, OOV_TOKEN)


def _as_text(token):
    return token.decode("utf-8", errors="replace") if isinstance(token, bytes) else str(token)


def build_vocabulary(token_batches, max_tokens=None, min_count=1):
    """Counts tokens from an iterable of token lists/arrays and returns the vocabulary.

    Args:
        token_batches: iterable of iterables of tokens (str or UTF-8 bytes); consumed once.
        max_tokens: keep at most this many tokens (reserved ids not included).
        min_count: drop tokens seen fewer times than this.

    Returns:
        list of str, most frequent first, without the reserved padding/OOV tokens.

    Example:
        >>> build_vocabulary([["a", "b", "a"], ["c"]], min_count=1)
        ['a', 'b', 'c']
    """
    if max_tokens is not None and max_tokens < 1:
        raise DataError(f"max_tokens must be >= 1, got {max_tokens}")
    if min_count < 1:
        raise DataError(f"min_count must be >= 1, got {min_count}")
    counts = collections.Counter()
    for tokens in token_batches:
        counts.update(tokens)
    ranked = sorted(
        ((count, _as_text(token)) for token, count in counts.items() if count >= min_count),
        key=lambda item: (-item[0], item[1]),
    )
    vocabulary = [token for _, token in ranked if token not in RESERVED_TOKENS]
    return vocabulary[:max_tokens] if max_tokens else vocabulary


def save_vocabulary(vocabulary, path):
    """Writes a vocabulary as a JSON list (UTF-8)."""
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(list(vocabulary), handle, ensure_ascii=False)


def load_vocabulary(path):
    """Reads a vocabulary written by `save_vocabulary`, with a clear error if it is damaged."""
    if not os.path.isfile(path):
        raise ModelFileError(f"vocabulary file not found: {path}")
    vocabulary = read_json_file(path, "vocabulary file")
    if not isinstance(vocabulary, list) or not all(isinstance(t, str) for t in vocabulary):
        raise ModelFileError(f"vocabulary file {path} is not a JSON list of strings")
    return vocabulary
