"""`TiedEmbedding`: one matrix that embeds token ids and scores the next token.

Tying the input embedding to the output layer (Press & Wolf, 2017; Inan et al., 2017)
removes `vocab x width` parameters and usually lowers language-model perplexity.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="rnnapps")
class TiedEmbedding(keras.layers.Layer):
    """Embeds token ids, and maps vectors back to logits with the same matrix.

    `layer(ids)` returns `[..., output_dim]` embeddings (id 0 masked when `mask_zero`);
    `layer(vectors, reverse=True)` returns `vectors @ embeddings^T + bias`, the output
    layer of a language model whose top width equals the embedding width.

    Args:
        input_dim: vocabulary size (number of ids).
        output_dim: embedding width.
        mask_zero: treat id 0 as padding and produce a Keras mask.
        embeddings_initializer: initializer of the shared matrix.

    Example:
        >>> layer = TiedEmbedding(10, 4, mask_zero=True)
        >>> vectors = layer(np.array([[2, 3]]))
        >>> tuple(layer(vectors, reverse=True).shape)
        (1, 2, 10)
    """

    def __init__(self, input_dim, output_dim, mask_zero=False, embeddings_initializer="uniform", **kwargs):
        super().__init__(**kwargs)
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.mask_zero = bool(mask_zero)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.supports_masking = self.mask_zero

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(
            name="embeddings", shape=(self.input_dim, self.output_dim), initializer=self.embeddings_initializer
        )
        # Output bias: frequent tokens get a head start that the tied matrix cannot give.
        self.output_bias = self.add_weight(name="output_bias", shape=(self.input_dim,), initializer="zeros")
        self.built = True

    def call(self, inputs, reverse=False):
        if reverse:
            return ops.matmul(inputs, ops.transpose(self.embeddings)) + self.output_bias
        if inputs.dtype not in ("int32", "int64"):
            inputs = ops.cast(inputs, "int32")
        return ops.take(self.embeddings, inputs, axis=0)

    def compute_mask(self, inputs, mask=None, reverse=False):
        # Keras may call compute_mask without the call's `reverse=True`: a float input is
        # the reverse direction (vectors -> logits), whose mask is the incoming one.
        if reverse or "float" in str(inputs.dtype):
            return mask
        return ops.not_equal(inputs, 0) if self.mask_zero else None

    def compute_output_spec(self, inputs, reverse=False):
        if reverse:
            return keras.KerasTensor(tuple(inputs.shape[:-1]) + (self.input_dim,), dtype=self.compute_dtype)
        return keras.KerasTensor(tuple(inputs.shape) + (self.output_dim,), dtype=self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            input_dim=self.input_dim,
            output_dim=self.output_dim,
            mask_zero=self.mask_zero,
            embeddings_initializer=keras.initializers.serialize(self.embeddings_initializer),
        )
        return config
