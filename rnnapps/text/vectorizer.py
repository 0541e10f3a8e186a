"""`TextVectorizer`: raw strings -> int ids, the one input path of training and serving."""

import keras
import numpy as np
import tensorflow as tf

from rnnapps.errors import ConfigError, DataError
from rnnapps.text.tokenize import LEVELS, PUNCTUATION_MODES, tokenize
from rnnapps.text.vocabulary import OOV_TOKEN, PAD_TOKEN, RESERVED_TOKENS, build_vocabulary

OOV_ID = 1


@keras.saving.register_keras_serializable(package="rnnapps")
class TextVectorizer(keras.layers.Layer):
    """Turns raw strings into token ids with a `StringLookup` (core TF ops only).

    Id 0 is padding, 1 is unknown, the vocabulary starts at 2. Texts longer than
    `max_length` tokens are truncated (keeping the start).

    Args:
        vocabulary: list of tokens, or None to `adapt` later.
        level: "word" or "char" (user-perceived characters: CJK and emoji safe).
        lowercase: lowercase before tokenising.
        punctuation: word level only: "split", "strip" or "keep" (see `split_words`).
        max_length: truncate to this many tokens; None keeps everything.

    Example:
        >>> vec = TextVectorizer(level="word")
        >>> vec.adapt(["a good film", "a bad film"])
        >>> vec.vectorize(tf.constant(["good film", "unseen"])).to_list()  # doctest: +SKIP
        [[4, 3], [1]]
    """

    def __init__(
        self,
        vocabulary=None,
        level="word",
        lowercase=True,
        punctuation="split",
        max_length=None,
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
        self.lookup.set_vocabulary(vocabulary)
        self._has_vocabulary = True

    def get_vocabulary(self):
        """The vocabulary without the reserved padding/OOV entries (id of token i is i + 2)."""
        if not self._has_vocabulary:
            return []
        return [str(token) for token in self.lookup.get_vocabulary()[2:]]

    @property
    def vocabulary_size(self):
        """Number of ids, reserved ids included (the embedding's input dimension)."""
        return len(self.get_vocabulary()) + len(RESERVED_TOKENS)

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
        for tokens in batches.prefetch(2).as_numpy_iterator():
            yield tokens

    # -- transformation -------------------------------------------------------------
    def tokenize(self, texts):
        """Strings [B] -> ragged string tokens [B, None] (before truncation)."""
        return tokenize(texts, self.level, lowercase=self.lowercase, punctuation=self.punctuation)

    def vectorize(self, texts, ensure_nonempty=False):
        """Strings [B] -> ragged int32 ids [B, None], truncated to `max_length`.

        With `ensure_nonempty`, a text without tokens (empty, whitespace only) becomes a
        single unknown token, so that a model always sees at least one step.
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
        return ids

    def call(self, texts):
        """Keras entry point: strings [B] -> dense right-padded ids [B, T]."""
        return self.vectorize(texts, ensure_nonempty=True).to_tensor(0)

    def compute_output_spec(self, texts):
        return keras.KerasTensor((texts.shape[0], None), dtype="int32")

    def ids_to_tokens(self, ids):
        """Maps a sequence of ids back to tokens (for display)."""
        table = [PAD_TOKEN, OOV_TOKEN] + self.get_vocabulary()
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
        return config
