"""Highway connection between two stacked recurrent layers."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="rnnapps")
class HighwayConnection(keras.layers.Layer):
    """Gated mix of a layer's input and output: `g * new + (1 - g) * old`, `g = sigmoid(W old + b)`.

    The gate bias starts negative so that, early in training, the connection mostly
    carries `old` through: deep stacks then start close to a shallow one (Srivastava
    et al., 2015). Called on `[old, new]` of equal width; masks pass through.

    Args:
        gate_bias: initial value of the gate bias.

    Example:
        >>> out = HighwayConnection()([keras.ops.ones((2, 5, 8)), keras.ops.zeros((2, 5, 8))])
    """

    def __init__(self, gate_bias=-1.0, **kwargs):
        super().__init__(**kwargs)
        self.gate_bias = float(gate_bias)
        self.supports_masking = True

    def build(self, input_shape):
        old_shape, new_shape = input_shape
        width = old_shape[-1]
        if width != new_shape[-1]:
            raise ValueError(f"highway inputs must have equal width, got {old_shape} and {new_shape}")
        self.gate = keras.layers.Dense(
            width,
            activation="sigmoid",
            bias_initializer=keras.initializers.Constant(self.gate_bias),
            name="gate",
        )
        self.gate.build(old_shape)

    def call(self, inputs):
        old, new = inputs
        gate = self.gate(old)
        return gate * new + (1.0 - gate) * old

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        masks = [m for m in mask if m is not None]
        if not masks:
            return None
        combined = masks[0]
        for other in masks[1:]:
            combined = ops.logical_and(combined, other)
        return combined

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update(gate_bias=self.gate_bias)
        return config
