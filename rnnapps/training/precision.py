"""Mixed precision: a scoped Keras dtype policy, and float32 model outputs.

`mixed_float16` (GPUs with tensor cores) and `mixed_bfloat16` (CPUs with AVX-512
BF16/AMX, TPUs) compute in 16 bits while keeping float32 variables. Keras' policy is a
global setting: `precision_scope` sets it only while an app builds or loads its
models, so nothing leaks into other models (layers capture the policy when they are
created). `mixed_float16` also makes `compile` wrap the optimizer in a
`LossScaleOptimizer`; the gradient-norm logs undo its scale.
"""

import contextlib

import keras

from rnnapps.errors import ConfigError

POLICIES = (None, "float32", "mixed_float16", "mixed_bfloat16")


def check_precision(policy):
    """Validates a `mixed_precision` option; returns it (None = the global default).

    Example:
        >>> check_precision("mixed_bfloat16")
        'mixed_bfloat16'
    """
    if policy not in POLICIES:
        raise ConfigError(
            f"mixed_precision must be one of {POLICIES}, got {policy!r} "
            "(mixed_float16 on GPUs, mixed_bfloat16 on CPUs and TPUs)"
        )
    return policy


@contextlib.contextmanager
def precision_scope(policy):
    """Sets Keras' global dtype policy to `policy` inside the block, then restores it.

    Args:
        policy: a `POLICIES` name; None leaves the policy alone.

    Example:
        >>> with precision_scope("mixed_bfloat16"):
        ...     layer = keras.layers.Dense(2)
        >>> layer.compute_dtype, keras.config.dtype_policy().name
        ('bfloat16', 'float32')
    """
    check_precision(policy)
    if policy is None:
        yield
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def float32_outputs(*models):
    """Makes the layer producing each model's first output compute in float32.

    Logits and probabilities in 16 bits lose precision in the softmax and the loss
    (and exported probabilities would change dtype), so the output layers run in
    float32 while the recurrent layers below them stay in 16 bits. Layers shared by
    several models are fixed once for all of them.

    Example:
        >>> with precision_scope("mixed_bfloat16"):
        ...     inputs = keras.Input((3,)); model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
        >>> float32_outputs(model); model(np.ones((1, 3))).dtype   # doctest: +SKIP
        tf.float32
    """
    for model in models:
        # Only the first output: the logits or probabilities. Further outputs (the RNN
        # states of a step model) come from recurrent layers that must stay in 16 bits.
        history = getattr(model.outputs[0], "_keras_history", None)
        layer = getattr(history, "operation", None)
        if layer is not None and getattr(layer, "compute_dtype", "float32") not in ("float32", "int32", "bool"):
            layer.dtype_policy = "float32"
