"""Layers of a classifier with a bag-of-n-grams head beside its recurrent head.

The vectorizer (`TextVectorizer(ngrams=...)`) puts a text's token ids first and its
hashed character n-gram ids after them, shifted past the vocabulary, in one row of ids.
`SplitNgramIds` separates the two streams inside the model, so the data pipeline,
batching, caching and the serving signature stay those of a plain classifier.
`StackHeads` joins the heads' predictions for `rnnapps.training.HeadEnsembleModel`.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="rnnapps")
class SplitNgramIds(keras.layers.Layer):
    """Right-padded ids `[B, T]` -> `(token_ids [B, T_tokens], ngram_ids [B, T])`.

    Ids below `vocabulary_size` are tokens (they lead each row); ids from it on are
    n-grams, renumbered from 1. The token ids are cut to the batch's longest token
    prefix (at least one step), so the recurrent layers do not run over n-gram
    positions; the n-gram ids keep the row's width, 0 wherever there is no n-gram.

    Args:
        vocabulary_size: the number of token ids, padding and unknown included.

    Example:
        >>> tokens, grams = SplitNgramIds(5)(keras.ops.array([[2, 3, 5, 7], [4, 6, 0, 0]]))
        >>> keras.ops.convert_to_numpy(tokens).tolist(), keras.ops.convert_to_numpy(grams).tolist()
        ([[2, 3], [4, 0]], [[0, 0, 1, 3], [0, 2, 0, 0]])
    """

    def __init__(self, vocabulary_size, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = int(vocabulary_size)

    def call(self, ids):
        ids = ops.cast(ids, "int32")
        is_ngram = ops.greater_equal(ids, self.vocabulary_size)
        tokens = ops.where(is_ngram, 0, ids)
        width = ops.maximum(ops.max(ops.sum(ops.cast(ops.greater(tokens, 0), "int32"), axis=1)), 1)
        tokens = ops.slice(tokens, (0, 0), ops.stack([ops.shape(ids)[0], width]))
        ngrams = ops.where(is_ngram, ids - (self.vocabulary_size - 1), 0)
        return tokens, ngrams

    def compute_output_spec(self, ids):
        batch = ids.shape[0]
        return (
            keras.KerasTensor((batch, None), dtype="int32"),
            keras.KerasTensor((batch, ids.shape[1]), dtype="int32"),
        )

    def get_config(self):
        config = super().get_config()
        config.update(vocabulary_size=self.vocabulary_size)
        return config


@keras.saving.register_keras_serializable(package="rnnapps")
class StackHeads(keras.layers.Layer):
    """The predictions of several heads, each `[B, C]`, stacked into `[B, H, C]`.

    Args:
        head_names: one name per head, in input order (they name the heads' losses in
            the training logs: `<name>_loss`).

    Example:
        >>> StackHeads(["a", "b"])([keras.ops.zeros((2, 3)), keras.ops.ones((2, 3))]).shape
        (2, 2, 3)
    """

    def __init__(self, head_names, **kwargs):
        super().__init__(**kwargs)
        self.head_names = [str(name) for name in head_names]
        if len(self.head_names) < 2 or len(set(self.head_names)) != len(self.head_names):
            raise ValueError(f"head_names must be two or more distinct names, got {head_names!r}")

    def call(self, heads):
        if len(heads) != len(self.head_names):
            raise ValueError(f"expected {len(self.head_names)} heads ({self.head_names}), got {len(heads)}")
        return ops.stack(list(heads), axis=1)

    def compute_output_shape(self, input_shapes):
        return (input_shapes[0][0], len(self.head_names)) + tuple(input_shapes[0][1:])

    def get_config(self):
        config = super().get_config()
        config.update(head_names=list(self.head_names))
        return config
