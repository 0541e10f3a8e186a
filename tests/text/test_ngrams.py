"""Hashed character n-grams (`rnnapps.text.ngrams`) and the vectorizer's `ngrams` option."""

import pytest
import tensorflow as tf

from rnnapps.errors import ConfigError
from rnnapps.text import TextVectorizer, tokenize
from rnnapps.text.ngrams import check_ngram_options, ngram_ids
from tests.helpers import run_serialization_test


def grams(texts, level="word", **options):
    return ngram_ids(tokenize(tf.constant(texts), level), within_tokens=level == "word", **options).to_list()


def test_each_word_gives_its_space_wrapped_ngrams_once():
    # "hi" wrapped is " hi ": 2-grams " h", "hi", "i "; 3-grams " hi", "hi ": 5 distinct n-grams.
    [row] = grams(["hi"], ngram_range=(2, 3), buckets=1 << 20)
    assert len(row) == 5 and len(set(row)) == 5
    assert grams(["hi hi"], ngram_range=(2, 3), buckets=1 << 20) == [row]  # distinct per text, first-seen order
    assert grams(["HI"], ngram_range=(2, 3), buckets=1 << 20) == [row]  # tokens are lowercased first


def test_ids_are_in_one_to_buckets_and_rows_are_capped():
    rows = grams(["the quick brown fox jumps", "", "a"], ngram_range=(1, 5), buckets=7, max_ngrams=4)
    assert [len(row) for row in rows] == [4, 0, 3]  # " a", "a ", " a ", "a" (4 n-grams) in 7 buckets: 3 or 4 ids
    assert all(1 <= i <= 7 for row in rows for i in row)


def test_a_shared_piece_gives_a_shared_id():
    # An unknown misspelling still shares most n-grams with the word it misspells.
    [good], [goood] = grams(["good"]), grams(["goood"])
    assert len(set(good) & set(goood)) >= len(set(good)) // 2


def test_char_level_ngrams_run_across_characters():
    [row] = grams(["春眠不"], level="char", ngram_range=(1, 2), buckets=1 << 20)
    assert len(row) == 5  # 春, 眠, 不, 春眠, 眠不


def test_invalid_utf8_is_repaired_not_fatal():
    rows = ngram_ids(tokenize(tf.constant([b"caf\xc3 ok"])), (2, 3), 50).to_list()
    assert len(rows[0]) > 0


@pytest.mark.parametrize(
    "options, message",
    [
        (((3, 2), 10, 5), "ngram_range"),
        (("ab", 10, 5), "ngram_range"),
        (((1, 11), 10, 5), "ngram_range"),
        (((1, 2), 0, 5), "ngram_buckets"),
        (((1, 2), 10, 0), "max_ngrams"),
    ],
)
def test_bad_options_are_config_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        check_ngram_options(*options)


def test_vectorizer_appends_ngram_ids_after_the_tokens():
    vectorizer = TextVectorizer(ngrams={"ngram_range": (2, 3), "buckets": 10, "max_ngrams": 100})
    vectorizer.adapt(["good film", "bad film"])
    size = vectorizer.vocabulary_size  # 5: padding, unknown, film, bad, good
    [row] = vectorizer.vectorize(tf.constant(["good unseen"])).to_list()
    assert row[:2] == [vectorizer.token_to_id("good"), 1]
    assert all(size <= i < size + 10 for i in row[2:]) and len(row) > 2
    plain = TextVectorizer(vocabulary=vectorizer.get_vocabulary())
    assert plain.vectorize(tf.constant(["good unseen"])).to_list() == [row[:2]]


def test_vectorizer_ngrams_survive_its_config_and_reject_bad_values():
    vectorizer = TextVectorizer(vocabulary=["a"], ngrams={"buckets": 10})
    revived = run_serialization_test(vectorizer)
    assert revived.ngrams == {"ngram_range": [2, 5], "buckets": 10, "max_ngrams": 2000}
    assert "ngrams" not in TextVectorizer(vocabulary=["a"]).get_config()  # older configs load unchanged
    with pytest.raises(ConfigError, match="ngrams"):
        TextVectorizer(ngrams={"size": 3})
    with pytest.raises(ConfigError, match="ngrams"):
        TextVectorizer(ngrams=[2, 5])
