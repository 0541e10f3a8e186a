"""Cutting a stream of text into chunks that never split a word or a character.

Corpora are read in ~64K-character chunks (big enough for fast batched string ops,
small enough for RAM); each chunk ends after whitespace, so tokenisers see whole words
and whole user-perceived characters (a base character with its marks and joiners).

Example:
    >>> list(chunk_text(["one two thr", "ee four"], chunk_chars=8))
    ['one two ', 'three ', 'four']
"""

import re
import unicodedata

from rnnapps.errors import ConfigError

CHUNK_CHARS = 64 * 1024  # characters per chunk: big enough for fast batched ops, small enough for RAM
MAX_CHUNK_CHARS = 1024 * 1024  # a run without any whitespace is cut here regardless
MAX_CLUSTER_CHARS = 64  # a hard cut steps back at most this far to keep a character with its marks
MAX_CUT_TRIES = 64  # whitespace candidates tried per chunk before looking further on
# Whitespace a chunk may end after. Word tokenisers split on all of these; for char level
# any boundary before a base character is safe.
_CUT_AFTER = ("\n", " ", "\t", "\r", "\u3000", "\xa0", "\u2028", "\u2029")
_CUT_AFTER_RE = re.compile("[" + "".join(_CUT_AFTER) + "]")
# Characters that glue onto the character before them (one user-perceived character):
# never start a chunk with one.
_GLUE = {"\u200d", "\ufe0f"} | {chr(c) for c in range(0x1F3FB, 0x1F400)}


def _safe_cut(text, position):
    """Whether a chunk may end just before `text[position]` without splitting a character."""
    if position >= len(text):
        return False  # the next character is not read yet: it may be a combining mark
    following = text[position]
    if following in _GLUE or text[position - 1] == "\u200d":  # position >= 1 for every caller
        return False
    return not unicodedata.category(following).startswith("M")


def _find_cut(text, start, chunk_chars, max_chars):
    """End of the next chunk of `text[start:]`, or None when more text is needed first.

    Prefers the last line break in the second half of the chunk (whole lines suit line-based
    splitting), then the last other whitespace; a chunk without whitespace grows up to
    the first whitespace after it, and is cut at `max_chars` if there is none.
    """
    end = start + chunk_chars
    newline = text.rfind("\n", start, end)
    if newline >= start + chunk_chars // 2 and _safe_cut(text, newline + 1):
        return newline + 1
    # The last whitespace before `end` that a chunk may end after; only the last
    # MAX_CUT_TRIES candidates are tried, so text where whitespace keeps being followed
    # by combining marks costs linear time, not quadratic.
    limit = end
    for _ in range(MAX_CUT_TRIES):
        cut = max(text.rfind(mark, start, limit) for mark in _CUT_AFTER)
        if cut < start:
            break
        if _safe_cut(text, cut + 1):
            return cut + 1
        limit = cut
    hard = start + max_chars
    for match in _CUT_AFTER_RE.finditer(text, end, hard):
        if _safe_cut(text, match.end()):
            return match.end()
    if len(text) - start <= max_chars:
        return None  # not enough text to need the hard cut (at the very end, all of it is one chunk)
    # No whitespace to cut after: step back at most MAX_CLUSTER_CHARS to keep a character
    # and its marks together; a longer run of marks or joiners (no real text has one) is
    # cut at the maximum length, so a chunk is never shorter than max_chars - MAX_CLUSTER_CHARS.
    for cut in range(hard, max(start + 1, hard - MAX_CLUSTER_CHARS), -1):
        if _safe_cut(text, cut):
            return cut
    return hard


def chunk_text(pieces, chunk_chars=CHUNK_CHARS, max_chunk_chars=MAX_CHUNK_CHARS):
    """Re-cuts a stream of text pieces into chunks of about `chunk_chars` characters.

    Each chunk ends after a whitespace character (a line break when there is one near the
    end), so no word and no user-perceived character is split; the rest carries over to
    the next chunk. Text without whitespace is cut after `max_chunk_chars` at the latest.
    Concatenating the chunks gives back the input exactly.

    Args:
        pieces: iterable of str of any sizes (file reads, whole documents).

    Example:
        >>> list(chunk_text(["one two thr", "ee four"], chunk_chars=8))
        ['one two ', 'three ', 'four']
    """
    if chunk_chars < 1 or max_chunk_chars < chunk_chars:
        raise ConfigError(f"need 1 <= chunk_chars <= max_chunk_chars, got {chunk_chars} and {max_chunk_chars}")
    buffer, start = "", 0
    for piece in pieces:
        # Only the unconsumed tail is copied: a huge single piece is walked by index.
        buffer, start = buffer[start:] + piece, 0
        while len(buffer) - start > chunk_chars:
            cut = _find_cut(buffer, start, chunk_chars, max_chunk_chars)
            if cut is None:
                break
            yield buffer[start:cut]
            start = cut
    while start < len(buffer):
        cut = _find_cut(buffer, start, chunk_chars, max_chunk_chars) if len(buffer) - start > chunk_chars else None
        cut = len(buffer) if cut is None else cut
        yield buffer[start:cut]
        start = cut
