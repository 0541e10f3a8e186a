"""`TextVectorizer`: raw strings -> int ids, the one input path of training and serving.

The vectorizer owns the id of every token, special ones included: 0 is padding, 1 the
unknown token, and the vocabulary proper starts at `FIRST_TOKEN_ID`. App markers (the
start and end of a translation target or of a poem) are ordinary vocabulary entries at
the head of the vocabulary; a vectorizer made with `markers=` names them by role, and
`token_to_id`, `id_to_token`, `special_ids` and `tokens_by_id` look ids up, as
keras-hub tokenizers do. No other module computes an id from a list position.
"""

import keras
import numpy as np
import tensorflow as tf

from rnnapps.dataset_iteration import ends_promptly
from rnnapps.errors import ConfigError, DataError
from rnnapps.text.ngrams import MAX_NGRAMS, NGRAM_BUCKETS, NGRAM_RANGE, check_ngram_options, ngram_ids
from rnnapps.text.tokenize import LEVELS, PUNCTUATION_MODES, tokenize
from rnnapps.text.vocabulary import OOV_TOKEN, PAD_TOKEN, RESERVED_TOKENS, build_vocabulary

PADDING_ID = 0
OOV_ID = 1
FIRST_TOKEN_ID = len(RESERVED_TOKENS)  # the id of the first vocabulary entry
# App markers by role. Translation targets use word-like tokens; poems (char level) use
# single control characters that never occur in poems and that the char tokeniser keeps whole.
SEQUENCE_MARKERS = {"start": "<start>", "end": "<end>"}
CONTROL_MARKERS = {"start": "\x02", "end": "\x03"}


def id_table(vocabulary):
    """The token of every id (index = id) of a vocabulary (as `get_vocabulary` returns it).

    Example:
        >>> id_table(["a", "b"])
        ['', '[UNK]', 'a', 'b']
    """
    return list(RESERVED_TOKENS) + list(vocabulary)


def marker_ids(markers):
    """`{role: id}` of markers that lead a vocabulary (`with_markers`), in their order.

    Example:
        >>> marker_ids(SEQUENCE_MARKERS)
        {'start': 2, 'end': 3}
    """
    return {role: FIRST_TOKEN_ID + index for index, role in enumerate(markers)}


def with_markers(markers, vocabulary):
    """The vocabulary with the marker tokens at its head (and nowhere else).

    Example:
        >>> with_markers(SEQUENCE_MARKERS, ["hola", "<end>"])
        ['<start>', '<end>', 'hola']
    """
    tokens = list(markers.values())
    return tokens + [token for token in vocabulary if token not in tokens]


@keras.saving.register_keras_serializable(package="rnnapps")
class TextVectorizer(keras.layers.Layer):
    """Turns raw strings into token ids with a `StringLookup` (core TF ops only).

    Id 0 (`PADDING_ID`) is padding, 1 (`OOV_ID`) is unknown, the vocabulary starts at
    `FIRST_TOKEN_ID` (2). Texts longer than `max_length` tokens are truncated (keeping the start).

    Args:
        vocabulary: list of tokens, or None to `adapt` later.
        level: "word" or "char" (user-perceived characters: CJK and emoji safe).
        lowercase: lowercase before tokenising.
        punctuation: word level only: "split", "strip" or "keep" (see `split_words`).
        max_length: truncate to this many tokens; None keeps everything.
        markers: `{role: token}` of app markers (e.g. `SEQUENCE_MARKERS`); each must be in
            the vocabulary, and `special_ids` names their ids.
        ngrams: None, or `{"ngram_range": (2, 5), "buckets": 200000, "max_ngrams": 2000}`:
            after each text's token ids, append the ids of its tokens' hashed character
            n-grams (`rnnapps.text.ngrams`), shifted past the vocabulary: n-gram bucket
            `g` (1-based) becomes id `vocabulary_size + g - 1`. Token ids stay a prefix
            of the row, so a model splits the two streams by id (a classifier's
            bag-of-n-grams head reads them; see `rnnapps.builders.build_classifier`).

    Example:
        >>> vec = TextVectorizer(level="word")
        >>> vec.adapt(["a good film", "a bad film"])
        >>> vec.vectorize(tf.constant(["good film", "unseen"])).to_list()  # doctest: +SKIP
        [[4, 3], [1]]
        >>> vec.token_to_id("film"), vec.id_to_token(1), vec.special_ids
        (3, '[UNK]', {'padding': 0, 'oov': 1})
    """

    def __init__(
        self,
        vocabulary=None,
        level="word",
        lowercase=True,
        punctuation="split",
        max_length=None,
        markers=None,
        ngrams=None,
        **kwargs,
    ):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        if level not in LEVELS:
            raise ConfigError(f"level must be one of {LEVELS}, got {level!r}")
        if punctuation not in PUNCTUATION_MODES:
            raise ConfigError(f"punctuation must be one of {PUNCTUATION_MODES}, got {punctuation!r}")
        if max_length is not None and int(max_length) < 1:
            raise ConfigError(f"max_length must be >= 1 or None, got {max_length}")
        self.level = level
        self.lowercase = bool(lowercase)
        self.punctuation = punctuation
        self.max_length = None if max_length is None else int(max_length)
        self.markers = dict(markers or {})
        self.ngrams = None
        if ngrams is not None:
            known = {"ngram_range", "buckets", "max_ngrams"}
            if not isinstance(ngrams, dict) or set(ngrams) - known:
                raise ConfigError(f"ngrams must be None or a dict with keys from {sorted(known)}, got {ngrams!r}")
            ngram_range, buckets, max_ngrams = check_ngram_options(
                ngrams.get("ngram_range", NGRAM_RANGE), ngrams.get("buckets", NGRAM_BUCKETS),
                ngrams.get("max_ngrams", MAX_NGRAMS),
            )
            self.ngrams = {"ngram_range": list(ngram_range), "buckets": buckets, "max_ngrams": max_ngrams}
        self._ids = {}
        self.lookup = keras.layers.StringLookup(
            mask_token=PAD_TOKEN, oov_token=OOV_TOKEN, num_oov_indices=1, name="token_lookup"
        )
        self._has_vocabulary = False
        # No weights to create: mark built so exports can track the layer before any call.
        self.built = True
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)

    # -- vocabulary -----------------------------------------------------------------
    def set_vocabulary(self, vocabulary):
        vocabulary = [str(token) for token in vocabulary]
        if not vocabulary:
            raise DataError("the vocabulary is empty: the training texts contain no tokens")
        reserved = sorted(set(vocabulary) & set(RESERVED_TOKENS))
        if reserved:
            raise DataError(f"vocabulary must not contain the reserved tokens {reserved}")
        if len(set(vocabulary)) != len(vocabulary):
            raise DataError("vocabulary contains duplicate tokens")
        missing = [token for token in self.markers.values() if token not in vocabulary]
        if missing:
            raise DataError(f"the vocabulary lacks the markers {missing}")
        self.lookup.set_vocabulary(vocabulary)
        self._has_vocabulary = True
        self._ids = {token: index for index, token in enumerate(self.tokens_by_id())}

    def get_vocabulary(self):
        """The vocabulary without the reserved padding/OOV entries (its first token has id `FIRST_TOKEN_ID`)."""
        if not self._has_vocabulary:
            return []
        return [str(token) for token in self.lookup.get_vocabulary()[FIRST_TOKEN_ID:]]

    @property
    def vocabulary_size(self):
        """Number of ids, reserved ids included (the embedding's input dimension)."""
        return len(self.get_vocabulary()) + len(RESERVED_TOKENS)

    # -- ids of tokens --------------------------------------------------------------
    def tokens_by_id(self, printable=False):
        """The token of every id (index = id), padding and unknown first.

        With `printable`, padding, unknown and the markers are "" (they never print).
        """
        tokens = id_table(self.get_vocabulary())
        if printable:
            hidden = set(self.markers.values()) | {OOV_TOKEN}
            tokens = [PAD_TOKEN if token in hidden else token for token in tokens]
        return tokens

    def token_to_id(self, token):
        """The id of `token` (`OOV_ID` for a token outside the vocabulary)."""
        return self._ids.get(str(token), OOV_ID)

    def id_to_token(self, id):
        """The token of `id`; raises `ConfigError` for an id outside `[0, vocabulary_size)`."""
        if not 0 <= int(id) < self.vocabulary_size:
            raise ConfigError(f"id {id} is out of range: the vocabulary has {self.vocabulary_size} ids")
        return self.tokens_by_id()[int(id)]

    @property
    def special_ids(self):
        """`{role: id}` of the special tokens: "padding", "oov" and the markers' roles."""
        ids = {"padding": PADDING_ID, "oov": OOV_ID}
        if self._has_vocabulary:
            ids.update({role: self.token_to_id(token) for role, token in self.markers.items()})
        return ids

    def marker_id(self, role):
        """The id of the marker of `role` ("start", "end", ...)."""
        if role not in self.markers:
            raise ConfigError(f"this vectorizer has no {role!r} marker (markers: {sorted(self.markers)})")
        return self.special_ids[role]

    def adapt(self, texts, max_tokens=None, min_count=1, batch_size=1024):
        """Builds the vocabulary in one streaming pass over `texts`.

        Args:
            texts: list of strings, or a `tf.data.Dataset` of scalar strings.
        """
        self.set_vocabulary(
            build_vocabulary(
                self.iter_token_batches(texts, batch_size), max_tokens=max_tokens, min_count=min_count
            )
        )

    def iter_token_batches(self, texts, batch_size=1024):
        """Yields 1-D numpy arrays of byte tokens, one per batch of texts."""
        if not isinstance(texts, tf.data.Dataset):
            texts = tf.data.Dataset.from_tensor_slices(tf.constant(list(texts), tf.string))
        batches = texts.batch(batch_size).map(
            lambda batch: self.tokenize(batch).flat_values, num_parallel_calls=tf.data.AUTOTUNE
        )
        for tokens in ends_promptly(batches.prefetch(2)).as_numpy_iterator():
            yield tokens

    # -- transformation -------------------------------------------------------------
    def tokenize(self, texts):
        """Strings [B] -> ragged string tokens [B, None] (before truncation)."""
        return tokenize(texts, self.level, lowercase=self.lowercase, punctuation=self.punctuation)

    def vectorize(self, texts, ensure_nonempty=False, ngrams=True):
        """Strings [B] -> ragged int32 ids [B, None], truncated to `max_length`.

        With `ensure_nonempty`, a text without tokens (empty, whitespace only) becomes a
        single unknown token, so that a model always sees at least one step. With the
        `ngrams` option, the n-gram ids follow the token ids in each row, unless
        `ngrams=False` here (token ids only: what a look at the recurrent layers wants).
        """
        if not self._has_vocabulary:
            raise ConfigError("the vectorizer has no vocabulary yet: call adapt() or set_vocabulary()")
        tokens = self.tokenize(texts)
        if self.max_length is not None:
            tokens = tokens[:, : self.max_length]
        ids = tokens.with_flat_values(tf.cast(self.lookup(tokens.flat_values), tf.int32))
        if ensure_nonempty:
            empty = tf.cast(ids.row_lengths() == 0, tf.int64)
            filler = tf.RaggedTensor.from_row_lengths(
                tf.fill([tf.reduce_sum(empty)], tf.constant(OOV_ID, tf.int32)), empty
            )
            ids = tf.concat([filler, ids], axis=1)
        if self.ngrams is not None and ngrams:
            grams = ngram_ids(
                tokens, self.ngrams["ngram_range"], self.ngrams["buckets"], self.ngrams["max_ngrams"],
                within_tokens=self.level == "word",
            )
            # len(self._ids) is `vocabulary_size`, as a Python int (no table read in a graph).
            ids = tf.concat([ids, grams + (len(self._ids) - 1)], axis=1)
        return ids

    def call(self, texts):
        """Keras entry point: strings [B] -> dense right-padded ids [B, T]."""
        return self.vectorize(texts, ensure_nonempty=True).to_tensor(0)

    def compute_output_spec(self, texts):
        return keras.KerasTensor((texts.shape[0], None), dtype="int32")

    def ids_to_tokens(self, ids):
        """Maps a sequence of ids back to tokens (for display; an id out of range is the unknown token)."""
        table = self.tokens_by_id()
        return [table[int(i)] if 0 <= int(i) < len(table) else OOV_TOKEN for i in np.asarray(ids)]

    def get_config(self):
        config = super().get_config()
        config.update(
            level=self.level,
            lowercase=self.lowercase,
            punctuation=self.punctuation,
            max_length=self.max_length,
            vocabulary=self.get_vocabulary() or None,
        )
        if self.markers:  # only then: configs saved before markers existed load unchanged
            config["markers"] = dict(self.markers)
        if self.ngrams is not None:  # the same
            config["ngrams"] = dict(self.ngrams)
        return config
