"""Hashed character n-grams of tokens, the features of a classifier's bag-of-n-grams head.

A word outside the vocabulary is one unknown id to a recurrent model, yet its pieces
still say a lot: "loooove", "#blessed", "unwatchable" share n-grams with words the model
knows. Each token is wrapped in spaces (so prefixes and suffixes are n-grams of their
own), cut into the character n-grams of every width in a range, and each n-gram hashed
into a fixed number of buckets (FarmHash fingerprints: the same ids on every machine and
TF version). A text's ids are the distinct buckets of its n-grams, in order of first
appearance, at most `max_ngrams` of them. Core TF string ops only, so exports keep them.

Example:
    >>> ngram_ids(tf.ragged.constant([["hi"]]), (2, 3), 100).to_list()  # doctest: +SKIP
    [[31, 88, 7, 52]]   # " h", "hi", "i ", " hi", "hi " -> 5 n-grams, their distinct buckets
"""

import tensorflow as tf

from rnnapps.errors import ConfigError

NGRAM_RANGE = (2, 5)
NGRAM_BUCKETS = 200_000
MAX_NGRAMS = 2_000


def check_ngram_options(ngram_range, buckets, max_ngrams):
    """`(low, high), buckets, max_ngrams` as ints, or `ConfigError` for an invalid one.

    Example:
        >>> check_ngram_options([2, 4], 1000, 50)
        ((2, 4), 1000, 50)
    """
    try:
        low, high = (int(n) for n in ngram_range)
    except (TypeError, ValueError):
        raise ConfigError(f"ngram_range must be two ints (shortest, longest), got {ngram_range!r}") from None
    if not 1 <= low <= high <= 10:
        raise ConfigError(f"ngram_range must satisfy 1 <= shortest <= longest <= 10, got {ngram_range!r}")
    if not 1 <= int(buckets) <= 1 << 24:
        raise ConfigError(f"ngram_buckets must be in [1, 16777216], got {buckets}")
    if int(max_ngrams) < 1:
        raise ConfigError(f"max_ngrams must be >= 1, got {max_ngrams}")
    return (low, high), int(buckets), int(max_ngrams)


def ngram_ids(tokens, ngram_range=NGRAM_RANGE, buckets=NGRAM_BUCKETS, max_ngrams=MAX_NGRAMS, within_tokens=True):
    """Ragged string tokens `[B, None]` -> ragged int32 n-gram ids `[B, None]` in `[1, buckets]`.

    Id 0 is left free for padding. Distinct ids per text, in order of first appearance,
    at most `max_ngrams` (a long text keeps those of its first tokens).

    Args:
        tokens: `tf.RaggedTensor` of strings, one row per text.
        ngram_range: `(shortest, longest)` n-gram width in characters (code points).
        buckets: number of hash buckets.
        max_ngrams: ids kept per text.
        within_tokens: True: the n-grams of each space-wrapped token (words); False: the
            n-grams of consecutive tokens, joined (character tokens: CJK text has no
            spaces, so its words are runs of characters).
    """
    (low, high), buckets, max_ngrams = check_ngram_options(ngram_range, buckets, max_ngrams)
    widths = list(range(low, high + 1))
    if within_tokens:
        words = tokens.flat_values
        space = tf.fill(tf.shape(words), " ")
        chars = tf.strings.unicode_split(tf.strings.join([space, words, space]), "UTF-8", errors="replace")
        grams = tf.strings.ngrams(chars, ngram_width=widths, separator="")
        # Every n-gram's text row: the token's row, repeated once per n-gram of the token.
        rows = tf.repeat(tokens.value_rowids(), grams.row_lengths())
    else:
        grams = tf.strings.ngrams(tokens, ngram_width=widths, separator="")
        rows = grams.value_rowids()
    ids = tf.strings.to_hash_bucket_fast(grams.flat_values, buckets) + 1
    # Distinct (row, id) pairs; tf.unique keeps first appearances in order, so rows stay sorted.
    keys, _ = tf.unique(rows * (buckets + 1) + ids)
    distinct = tf.RaggedTensor.from_value_rowids(
        tf.cast(keys % (buckets + 1), tf.int32), keys // (buckets + 1), nrows=tokens.nrows()
    )
    return distinct[:, :max_ngrams]
