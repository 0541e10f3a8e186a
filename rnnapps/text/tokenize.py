"""Tokenisers built from core TF string ops (RE2 regexes), safe to export.

Characters are user-perceived characters, not bytes or code points: a CJK ideograph,
an emoji with a skin-tone modifier, a ZWJ family emoji, a flag (two regional
indicators) and a letter with combining accents are each one token. Invalid UTF-8
bytes become U+FFFD instead of failing.

Example:
    >>> split_chars(tf.constant(["春眠👍🏽"])).to_list()       # doctest: +SKIP
    [[b'\\xe6\\x98\\xa5', b'\\xe7\\x9c\\xa0', b'\\xf0\\x9f\\x91\\x8d\\xf0\\x9f\\x8f\\xbd']]
"""

import tensorflow as tf

from rnnapps.errors import ConfigError

LEVELS = ("word", "char")
PUNCTUATION_MODES = ("split", "strip", "keep")

# A separator that cannot survive normalisation (see `normalize`), used to mark
# token boundaries before a plain split.
_SEP = "\x1f"
_EMOJI_MODIFIER = r"[\x{1F3FB}-\x{1F3FF}]"
_FLAG = r"[\x{1F1E6}-\x{1F1FF}]{2}"
# One user-perceived character (an approximation of a Unicode grapheme cluster that
# RE2 can express): a flag, or a base character followed by combining marks,
# variation selectors, skin-tone modifiers and ZWJ-joined characters.
_GRAPHEME = (
    rf"(?:{_FLAG}|\P{{M}}(?:\p{{M}}|\x{{FE0F}}|{_EMOJI_MODIFIER}|\x{{200D}}\P{{M}})*|\p{{M}}+)"
)
# A symbol (emoji included) with its modifiers, kept whole in word mode.
_SYMBOL = rf"(?:{_FLAG}|\p{{S}}(?:\p{{M}}|\x{{FE0F}}|{_EMOJI_MODIFIER}|\x{{200D}}\p{{S}})*)"
# Scripts written without spaces between words: one token per character.
_CJK = r"[\p{Han}\p{Hiragana}\p{Katakana}]"
# Punctuation except apostrophes, which live inside words ("don't").
_PUNCT_NO_APOSTROPHE = r"[^\P{P}'\x{2019}]"
# Quoting apostrophes at the start or end of a word. Two patterns applied one after the
# other: a single alternation consumed the space between "'no' 'yes'" while matching the
# first closing quote, so the second opening quote survived ("'yes"). RE2 has no lookaround.
_LEADING_APOSTROPHES = r"(?:^|\s)['\x{2019}]+"
_TRAILING_APOSTROPHES = r"['\x{2019}]+(?:\s|$)"
# Unicode spaces (no-break, em, ideographic U+3000, line/paragraph separators) and NEL:
# tf.strings.split and RE2's \s only know ASCII whitespace, so these are mapped to " ".
_UNICODE_SPACE = r"[\p{Z}\x{85}]"
# NUL is mapped to a space too: tf.strings.lower(encoding="utf-8") silently drops
# everything after a NUL byte.
_SEPARATORS = r"[\x00\x1f]"


def normalize(texts, lowercase=False):
    """Repairs invalid UTF-8 (to U+FFFD), turns NUL and the unit separator into spaces,
    optionally lowercases.

    Example:
        >>> normalize(tf.constant([b"Bad\\xff"]), lowercase=True)  # doctest: +SKIP
        <tf.Tensor: ... numpy=array([b'bad\\xef\\xbf\\xbd'], dtype=object)>
    """
    texts = tf.strings.unicode_transcode(
        texts, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD
    )
    texts = tf.strings.regex_replace(texts, _SEPARATORS, " ")
    if lowercase:
        texts = tf.strings.lower(texts, encoding="utf-8")
    return texts


def _split_marked(texts):
    """Splits on the boundary marker and drops empty pieces -> RaggedTensor."""
    pieces = tf.strings.split(texts, sep=_SEP)
    return tf.ragged.boolean_mask(pieces, tf.strings.length(pieces) > 0)


def split_chars(texts):
    """Splits normalised strings [B] into user-perceived characters -> ragged [B, None]."""
    return _split_marked(tf.strings.regex_replace(texts, _GRAPHEME, "\\0" + _SEP))


def split_words(texts, punctuation="split"):
    """Splits normalised strings [B] into words -> ragged [B, None].

    Args:
        texts: string tensor [B], already passed through `normalize`.
        punctuation: "split" makes each punctuation mark its own token ("great!" ->
            "great", "!"), "strip" removes punctuation, "keep" leaves it attached.
            Emoji and other symbols are always tokens of their own; CJK ideographs
            and kana are one token each, since those scripts use no spaces.
    """
    if punctuation not in PUNCTUATION_MODES:
        raise ConfigError(f"punctuation must be one of {PUNCTUATION_MODES}, got {punctuation!r}")
    texts = tf.strings.regex_replace(texts, _UNICODE_SPACE, " ")
    texts = tf.strings.regex_replace(texts, f"({_SYMBOL}|{_CJK})", " \\1 ")
    if punctuation == "split":
        texts = tf.strings.regex_replace(texts, f"({_PUNCT_NO_APOSTROPHE})", " \\1 ")
    elif punctuation == "strip":
        texts = tf.strings.regex_replace(texts, _PUNCT_NO_APOSTROPHE, " ")
    if punctuation != "keep":
        texts = tf.strings.regex_replace(texts, _LEADING_APOSTROPHES, " ")
        texts = tf.strings.regex_replace(texts, _TRAILING_APOSTROPHES, " ")
    return tf.strings.split(texts)


def tokenize(texts, level="word", lowercase=True, punctuation="split"):
    """Normalises and tokenises a string tensor [B] -> ragged string tokens [B, None].

    Example:
        >>> tokenize(tf.constant(["Great film!"])).to_list()  # doctest: +SKIP
        [[b'great', b'film', b'!']]
    """
    if level not in LEVELS:
        raise ConfigError(f"level must be one of {LEVELS}, got {level!r}")
    texts = normalize(tf.convert_to_tensor(texts, tf.string), lowercase=lowercase)
    if level == "char":
        return split_chars(texts)
    return split_words(texts, punctuation=punctuation)
