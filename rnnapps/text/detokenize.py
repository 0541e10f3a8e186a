"""Tokens -> readable text: the inverse of the tokenisers, as far as it can be inverted.

Word tokenisation splits punctuation off ("hungry." -> "hungry", "."), so joining
tokens with spaces gives "hungry ." . `detokenize` (Python, for display) and
`detokenize_graph` (core TF string ops, for exported SavedModels) put punctuation back
with the same rules, and agree on every input whose tokens contain no whitespace (which
tokens from `split_words` never do):

- no space before closing marks `, . ! ? ; : ) ] } % … » ”` (and their CJK forms);
- no space after opening marks `( [ { ¿ ¡ « “` (and their CJK forms);
- no space between two CJK characters (Han, kana, CJK punctuation, full-width forms):
  those scripts are written without spaces;
- "-" and "/" between letters or digits join them ("well-known", "2021-03-03", "and/or"),
  and ".", "," and ":" between ASCII digits ("3.5", "1,000", "20:35").

Empty tokens (padding) are dropped; character tokens are joined as they are.

Example:
    >>> detokenize(["¿", "qué", "?", "son", "las", "20", ":", "35", "."])
    '¿qué? son las 20:35.'
"""

import unicodedata

import numpy as np
import tensorflow as tf

from rnnapps.errors import ConfigError
from rnnapps.text.tokenize import LEVELS

CLOSING = ",.!?;:)]}%…»”" + "。，、！？：；）」』》】〉〕"
OPENING = "([{¿¡«“" + "（「『《【〈〔"
ALNUM_JOINERS = "-/"
DIGIT_JOINERS = ".,:"
# Scripts written without spaces between words, with their punctuation and full-width forms.
CJK_RANGES = (
    (0x2E80, 0x2FDF),  # CJK and Kangxi radicals
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK unified ideographs extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF00, 0xFFEF),  # half-width and full-width forms
    (0x20000, 0x3134F),  # CJK extensions B-G
)


# -- Python -------------------------------------------------------------------------
def _as_text(token):
    if isinstance(token, (bytes, np.bytes_)):
        return bytes(token).decode("utf-8", errors="replace")
    return str(token)


def _is_cjk(char):
    code = ord(char)
    return any(low <= code <= high for low, high in CJK_RANGES)


def _is_alnum(char):
    # Unicode letters and numbers: what RE2's [\pL\pN] matches in the graph version.
    return unicodedata.category(char)[0] in "LN"


def _is_digit(char):
    return "0" <= char <= "9"


def _joins_neighbours(tokens, index):
    """Whether tokens[index] is a joiner ("-", "3.5"'s ".") glued to both neighbours."""
    if not 0 < index < len(tokens) - 1:
        return False
    token, before, after = tokens[index], tokens[index - 1][-1], tokens[index + 1][0]
    if token in ALNUM_JOINERS:
        return _is_alnum(before) and _is_alnum(after)
    if token in DIGIT_JOINERS:
        return _is_digit(before) and _is_digit(after)
    return False


def _space_before(tokens, index):
    """Whether a space separates tokens[index - 1] and tokens[index]."""
    left, right = tokens[index - 1], tokens[index]
    if right[0] in CLOSING or left[-1] in OPENING:
        return False
    if _is_cjk(left[-1]) and _is_cjk(right[0]):
        return False
    return not (_joins_neighbours(tokens, index) or _joins_neighbours(tokens, index - 1))


def detokenize(tokens, level="word"):
    """Joins a list of token strings (str or UTF-8 bytes) into display text.

    Args:
        tokens: the tokens of one text, e.g. a model's output tokens.
        level: "char" joins them as they are; "word" joins with spaces and attaches
            punctuation, CJK characters and joiners as described in the module docstring.

    Example:
        >>> detokenize(["i", "am", "hungry", "."])
        'i am hungry.'
        >>> detokenize(["我", "饿", "了", "。"])
        '我饿了。'
    """
    if level not in LEVELS:
        raise ConfigError(f"level must be one of {LEVELS}, got {level!r}")
    tokens = [text for text in (_as_text(token) for token in tokens) if text]
    if level == "char":
        return "".join(tokens)
    pieces = []
    for index, token in enumerate(tokens):
        if index and _space_before(tokens, index):
            pieces.append(" ")
        pieces.append(token)
    return "".join(pieces)


# -- TensorFlow graph ---------------------------------------------------------------
def _re2_class(chars="", ranges=()):
    """An RE2 character class of the given characters and code point ranges."""
    parts = [f"\\{c}" if c.isascii() and not c.isalnum() else f"\\x{{{ord(c):X}}}" for c in chars]
    parts += [f"\\x{{{low:X}}}-\\x{{{high:X}}}" for low, high in ranges]
    return "[" + "".join(parts) + "]"


_CJK = _re2_class(ranges=CJK_RANGES)
_JOINER_RULES = [
    (rf"([\pL\pN]) ({_re2_class(ALNUM_JOINERS)}) ([\pL\pN])", r"\1\2\3"),
    (rf"([0-9]) ({_re2_class(DIGIT_JOINERS)}) ([0-9])", r"\1\2\3"),
]
_CJK_RULE = (rf"({_CJK}) ({_CJK})", r"\1\2")
# A global regex replacement consumes the right-hand character of each match, so the
# next separator, which needs that character as its left neighbour, is skipped: a second
# pass catches exactly those (RE2 has no lookaround to avoid consuming it).
_GRAPH_RULES = (
    _JOINER_RULES * 2
    + [(rf" ({_re2_class(CLOSING)})", r"\1"), (rf"({_re2_class(OPENING)}) ", r"\1")]
    + [_CJK_RULE] * 2
)


def detokenize_graph(tokens, level="word"):
    """In-graph `detokenize`: token strings `[B, None]` -> texts `[B]` (core TF ops only).

    Args:
        tokens: ragged (or dense, "" = padding) string tensor of tokens per text.
        level: "char" or "word", as in `detokenize`.

    Example:
        >>> detokenize_graph(tf.ragged.constant([["hello", ",", "world", "!"]])).numpy()
        array([b'hello, world!'], dtype=object)
    """
    if level not in LEVELS:
        raise ConfigError(f"level must be one of {LEVELS}, got {level!r}")
    if not isinstance(tokens, tf.RaggedTensor):
        tokens = tf.RaggedTensor.from_tensor(tf.convert_to_tensor(tokens, tf.string))
    tokens = tf.ragged.boolean_mask(tokens, tf.strings.length(tokens) > 0)
    texts = tf.strings.reduce_join(tokens, axis=1, separator="" if level == "char" else " ")
    if level == "word":
        for pattern, rewrite in _GRAPH_RULES:
            texts = tf.strings.regex_replace(texts, pattern, rewrite)
    return texts
