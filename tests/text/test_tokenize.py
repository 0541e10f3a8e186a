"""Tokenisation: words (punctuation modes, apostrophes, case), CJK, emoji graphemes, bad UTF-8.

Includes a hypothesis property test: tokenising never raises, and char-level tokens
joined back give exactly the normalised text.
"""

import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnapps.errors import ConfigError
from rnnapps.text import normalize, split_chars, tokenize

REPLACEMENT = "\ufffd"


def tokens(text, **options):
    """Tokens of one text as Python strings."""
    batch = tokenize(tf.constant([text]), **options).to_list()
    return [token.decode("utf-8") for token in batch[0]]


def normalized(text, lowercase=False):
    return normalize(tf.constant([text]), lowercase=lowercase).numpy()[0].decode("utf-8")


# -- words --------------------------------------------------------------------------
def test_words_lowercase_and_split_punctuation():
    assert tokens("Great FILM, really! (Loved it.)") == [
        "great", "film", ",", "really", "!", "(", "loved", "it", ".", ")"
    ]


def test_words_keep_case_when_asked():
    assert tokens("Great FILM", lowercase=False) == ["Great", "FILM"]


def test_words_strip_punctuation():
    assert tokens("Wow... great, really!", punctuation="strip") == ["wow", "great", "really"]


def test_words_keep_punctuation_attached():
    assert tokens("Wow... great, really!", punctuation="keep") == ["wow...", "great,", "really!"]


@pytest.mark.parametrize("punctuation", ["split", "strip"])
def test_apostrophes_inside_words_are_kept(punctuation):
    text = "Don't stop: it's rock'n'roll, isn’t it"
    assert tokens(text, punctuation=punctuation)[:2] == ["don't", "stop"]
    assert "it's" in tokens(text, punctuation=punctuation)
    assert "rock'n'roll" in tokens(text, punctuation=punctuation)
    assert "isn’t" in tokens(text, punctuation=punctuation)


@pytest.mark.parametrize("punctuation", ["split", "strip"])
def test_quoting_apostrophes_are_removed_even_when_adjacent(punctuation):
    # Two quoted words in a row share the space between them; both quotes must go.
    assert tokens("he said 'no' 'yes' ’maybe’", punctuation=punctuation) == ["he", "said", "no", "yes", "maybe"]


def test_keep_mode_leaves_quotes_alone():
    assert tokens("'no' 'yes'", punctuation="keep") == ["'no'", "'yes'"]


def test_numbers_and_markup_split_on_punctuation():
    assert tokens("<br />1,000 $5") == ["<", "br", "/", ">", "1", ",", "000", "$", "5"]


def test_unicode_spaces_separate_words():
    # No-break space, em space and the ideographic space (common in CJK text) are spaces.
    assert tokens("a\u00a0b\u2003c\u3000d") == ["a", "b", "c", "d"]
    assert tokens("我\u3000你") == ["我", "你"]


# -- CJK ----------------------------------------------------------------------------
def test_cjk_word_level_gives_one_token_per_ideograph():
    assert tokens("我爱北京 OK") == ["我", "爱", "北", "京", "ok"]
    assert tokens("ひらがなカタカナ") == list("ひらがなカタカナ")


def test_cjk_char_level_gives_one_token_per_ideograph():
    assert tokens("春眠不觉晓", level="char") == list("春眠不觉晓")


# -- emoji and combining marks ----------------------------------------------------------
SKIN_TONE = "\U0001F44D\U0001F3FD"  # thumbs up, medium skin tone
FAMILY = "\U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466"  # ZWJ family
FLAG = "\U0001F1EB\U0001F1F7"  # France: two regional indicators
E_ACUTE = "e\u0301"  # e + combining acute accent
HEART = "\u2764\ufe0f"  # heart + variation selector


@pytest.mark.parametrize("grapheme", [SKIN_TONE, FAMILY, FLAG, E_ACUTE, HEART])
def test_char_level_keeps_a_grapheme_whole(grapheme):
    assert tokens(f"a{grapheme}b", level="char", lowercase=False) == ["a", grapheme, "b"]


@pytest.mark.parametrize("grapheme", [SKIN_TONE, FAMILY, FLAG, HEART])
def test_word_level_emoji_is_its_own_token(grapheme):
    assert tokens(f"good{grapheme}film") == ["good", grapheme, "film"]


def test_word_level_keeps_combining_accent_in_word():
    assert tokens(f"caf{E_ACUTE} ok") == [f"caf{E_ACUTE}", "ok"]


def test_two_flags_are_two_tokens():
    germany = "\U0001F1E9\U0001F1EA"
    assert tokens(FLAG + germany, level="char") == [FLAG, germany]


def test_char_level_keeps_whitespace_as_tokens():
    assert tokens("a b\tc\nd", level="char") == ["a", " ", "b", "\t", "c", "\n", "d"]


# -- robustness ---------------------------------------------------------------------
@pytest.mark.parametrize("level", ["word", "char"])
def test_invalid_utf8_becomes_replacement_character(level):
    result = tokenize(tf.constant([b"ab\xff\xfe c"]), level=level).to_list()[0]
    decoded = [token.decode("utf-8") for token in result]  # must not raise
    assert decoded.count(REPLACEMENT) == 2
    assert "c" in decoded


@pytest.mark.parametrize("text", ["", "   ", " \t\n\r "])
def test_empty_and_whitespace_texts_give_no_word_tokens(text):
    assert tokens(text) == []


def test_empty_text_gives_no_char_tokens():
    assert tokens("", level="char") == []


def test_nul_byte_does_not_truncate_the_text():
    # tf.strings.lower(encoding="utf-8") stops at a NUL byte; normalize must protect it.
    assert tokens("ab\x00CD ef") == ["ab", "cd", "ef"]
    assert "".join(tokens("ab\x00CD", level="char")).replace(" ", "") == "abcd"


def test_normalize_replaces_separator_and_lowercases():
    assert normalized("A\x1fB", lowercase=True) == "a b"
    assert normalized(b"Bad\xff", lowercase=True) == "bad" + REPLACEMENT


def test_batch_rows_stay_separate():
    result = tokenize(tf.constant(["one two", "", "three"])).to_list()
    assert result == [[b"one", b"two"], [], [b"three"]]


def test_invalid_options_raise_config_error():
    with pytest.raises(ConfigError):
        tokenize(tf.constant(["x"]), level="byte")
    with pytest.raises(ConfigError):
        tokenize(tf.constant(["x"]), punctuation="drop")


# -- property -----------------------------------------------------------------------
def check_invariants(raw):
    for lowercase in (False, True):
        text = normalize(tf.constant([raw]), lowercase=lowercase)
        chars = split_chars(text).to_list()[0]
        # Characters cover the text exactly: whitespace included, nothing lost or added.
        assert b"".join(chars) == text.numpy()[0]
        assert all(len(char) > 0 for char in chars)
        for char in chars:
            char.decode("utf-8")  # each piece is valid UTF-8
        words = tokenize(tf.constant([raw]), level="word", lowercase=lowercase).to_list()[0]
        for word in words:
            decoded = word.decode("utf-8")
            assert decoded and not any(space in decoded for space in " \t\n\r")
        char_tokens = tokenize(tf.constant([raw]), level="char", lowercase=lowercase).to_list()[0]
        assert char_tokens == chars


@settings(max_examples=50, deadline=None)
@given(st.text())
def test_property_any_text(raw):
    check_invariants(raw)
    # Valid text survives normalisation unchanged (apart from the replaced separators).
    expected = raw.replace("\x1f", " ").replace("\x00", " ")
    assert normalized(raw) == expected


@settings(max_examples=50, deadline=None)
@given(st.binary())
def test_property_any_bytes(raw):
    check_invariants(raw)
    result = normalize(tf.constant([raw])).numpy()[0].decode("utf-8")  # always valid UTF-8
    try:
        valid = raw.decode("utf-8")
    except UnicodeDecodeError:
        assert REPLACEMENT in result
    else:
        assert result == valid.replace("\x1f", " ").replace("\x00", " ")
