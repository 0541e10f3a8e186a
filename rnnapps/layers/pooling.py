"""Masked pooling of a sequence of hidden states into one vector per text."""

import keras
from keras import ops

POOLING_MODES = ("mean", "max")


@keras.saving.register_keras_serializable(package="rnnapps")
class MaskedPooling(keras.layers.Layer):
    """Mean or max over the valid (unmasked) time steps of `[B, T, D]` -> `[B, D]`.

    Padding never changes the result, and a row with no valid step pools to zeros
    instead of NaN.

    Args:
        mode: "mean" or "max".

    Example:
        >>> MaskedPooling("mean")(keras.ops.ones((2, 4, 3))).shape
        (2, 3)
    """

    def __init__(self, mode="mean", **kwargs):
        super().__init__(**kwargs)
        if mode not in POOLING_MODES:
            raise ValueError(f"mode must be one of {POOLING_MODES}, got {mode!r}")
        self.mode = mode
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            mask = ops.ones(ops.shape(inputs)[:2], dtype="bool")
        valid = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        any_valid = ops.cast(ops.sum(valid, axis=1) > 0, inputs.dtype)
        if self.mode == "mean":
            total = ops.sum(inputs * valid, axis=1)
            return total / ops.maximum(ops.sum(valid, axis=1), 1.0)
        lowest = ops.cast(ops.min(inputs), inputs.dtype) - 1.0
        masked = ops.where(valid > 0, inputs, lowest)
        return ops.max(masked, axis=1) * any_valid

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(mode=self.mode)
        return config


@keras.saving.register_keras_serializable(package="rnnapps")
class AttentionPooling(keras.layers.Layer):
    """Additive self-attention pooling: a learned weighted average of the valid steps.

    `score_t = v . tanh(W h_t + b)`, softmax over valid steps only, output `sum_t a_t h_t`
    (Yang et al., 2016, without the context hierarchy). With `return_weights=True` the
    layer also returns the weights `[B, T]`, which sum to 1 over valid steps and are 0 on
    padding.

    Args:
        units: width of the scoring layer; defaults to the input width.
        return_weights: also return the attention weights.

    Example:
        >>> AttentionPooling(units=8)(keras.ops.ones((2, 4, 3))).shape
        (2, 3)
    """

    def __init__(self, units=None, return_weights=False, **kwargs):
        super().__init__(**kwargs)
        self.units = None if units is None else int(units)
        self.return_weights = bool(return_weights)
        self.supports_masking = True

    def build(self, input_shape):
        units = self.units or input_shape[-1]
        self.projection = keras.layers.Dense(units, activation="tanh", name="projection")
        self.projection.build(input_shape)
        self.score = keras.layers.Dense(1, use_bias=False, name="score")
        self.score.build((*input_shape[:-1], units))

    def call(self, inputs, mask=None):
        scores = ops.squeeze(self.score(self.projection(inputs)), -1)
        if mask is None:
            mask = ops.ones(ops.shape(scores), dtype="bool")
        scores = ops.where(mask, scores, ops.full_like(scores, -1e9))
        weights = ops.softmax(scores, axis=-1) * ops.cast(mask, scores.dtype)
        # Rows without any valid step get all-zero weights rather than a uniform average of padding.
        weights = weights / ops.maximum(ops.sum(weights, axis=-1, keepdims=True), 1e-9)
        pooled = ops.sum(inputs * ops.expand_dims(weights, -1), axis=1)
        return (pooled, weights) if self.return_weights else pooled

    def compute_mask(self, inputs, mask=None):
        return (None, None) if self.return_weights else None

    def compute_output_shape(self, input_shape):
        pooled = (input_shape[0], input_shape[-1])
        return (pooled, tuple(input_shape[:2])) if self.return_weights else pooled

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, return_weights=self.return_weights)
        return config


@keras.saving.register_keras_serializable(package="rnnapps")
class LastValidStep(keras.layers.Layer):
    """The vector at each row's last valid (unmasked) step of `[B, T, D]` -> `[B, D]`.

    With right padding this is the output after a prompt's last token, whatever the
    prompt's length; a row with no valid step gives the vector at step 0.

    Example:
        >>> x = keras.ops.reshape(keras.ops.arange(6.0), (1, 3, 2))
        >>> LastValidStep()(x, mask=keras.ops.array([[True, True, False]])).tolist()
        [[2.0, 3.0]]
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if inputs.shape[1] == 1:
            # One step (a generation loop's token): it is the last one whatever the mask
            # says, and skipping the gather arithmetic halves the ops of an LM step.
            return inputs[:, 0]
        steps = ops.shape(inputs)[1]
        if mask is None:
            last = ops.full((ops.shape(inputs)[0],), steps - 1, dtype="int32")
        else:
            last = ops.maximum(ops.sum(ops.cast(mask, "int32"), axis=1) - 1, 0)
        picked = ops.take_along_axis(inputs, ops.reshape(last, (-1, 1, 1)), axis=1)
        return ops.squeeze(picked, axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])


@keras.saving.register_keras_serializable(package="rnnapps")
class DropMask(keras.layers.Layer):
    """Passes its input on with no Keras mask, so the layers after it run unmasked.

    A causal (forward-only) recurrent layer fed right-padded sequences needs no mask when
    the padded steps' outputs are never used (a loss that ignores padding targets): outputs
    at real steps only depend on earlier steps. Without the mask, Keras' recurrent loop
    skips its per-step select of every state and output.

    Example:
        >>> embedded = keras.layers.Embedding(10, 4, mask_zero=True)(keras.Input((None,), dtype="int32"))
        >>> embedded._keras_mask is not None, getattr(DropMask()(embedded), "_keras_mask", None) is None
        (True, True)
    """

    def call(self, inputs):
        # A new tensor: Keras keeps a mask attached to an input returned as it is.
        return ops.add(inputs, ops.zeros((), inputs.dtype))

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)
