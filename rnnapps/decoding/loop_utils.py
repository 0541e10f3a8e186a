"""Small graph helpers shared by the sampling and beam-search loops.

Both loops run their first step outside the `tf.while_loop` ("peeling"): that single
trace tells us the structure of the step function's `aux` outputs (needed to create
their TensorArrays before the loop) and guarantees every TensorArray holds at least
one element, because stacking an empty TensorArray whose element shape is only
partly known (the batch is dynamic) fails at run time. When `max_new_tokens <= 0` the
peeled step still runs once but counts for nothing, and the outputs are sliced to 0
steps.
"""

import tensorflow as tf


def as_scalar(value, dtype):
    """`value` (Python number or tensor) as a scalar tensor of `dtype`."""
    return tf.reshape(tf.cast(value, dtype), [])


def relaxed_shape(shape):
    """`shape` with its leading (batch) dimension unknown.

    The loop variables enter the loop with whatever static batch size the caller had,
    while a Keras step model usually returns `None` there; the while loop needs an
    invariant that accepts both.
    """
    shape = tf.TensorShape(shape)
    if shape.rank is None or shape.rank == 0:
        return shape
    return tf.TensorShape([None]).concatenate(shape[1:])


def shape_invariants(loop_vars):
    """Invariants for `tf.while_loop`: batch dims relaxed, TensorArrays by their flow."""

    def invariant(value):
        if isinstance(value, tf.TensorArray):
            return tf.TensorShape([])  # the shape of the TensorArray's flow handle
        return relaxed_shape(value.shape)

    return tf.nest.map_structure(invariant, loop_vars)


def conform(template, values):
    """`values` repacked into the nest structure of `template`.

    Step functions and processors may hand back lists where they were given tuples
    (Keras model outputs are lists); a while loop needs the identical structure.
    """
    return tf.nest.pack_sequence_as(template, tf.nest.flatten(values))


def write_step(arrays, step, values):
    """Writes the nest `values` at index `step`, creating the TensorArrays when `arrays` is None."""
    values = tf.nest.map_structure(tf.convert_to_tensor, values)
    if arrays is None:
        arrays = tf.nest.map_structure(
            lambda v: tf.TensorArray(v.dtype, size=0, dynamic_size=True, element_shape=relaxed_shape(v.shape)),
            values,
        )
    return tf.nest.map_structure(lambda array, v: array.write(step, v), arrays, values)


def stack_steps(array, steps):
    """A TensorArray of `[B, ...]` per step -> `[B, steps, ...]` (its first `steps` entries)."""
    stacked = array.stack()
    rank = stacked.shape.rank
    perm = [1, 0] + list(range(2, rank)) if rank is not None else None
    if perm is None:  # unknown rank: build the permutation in the graph
        perm = tf.concat([[1, 0], tf.range(2, tf.rank(stacked))], axis=0)
    return tf.transpose(stacked, perm)[:, :steps]


def mask_steps(values, valid):
    """Zeros every `values[b, t, ...]` where `valid[b, t]` is False (`valid` may have more leading dims)."""
    extra = tf.ones([tf.rank(values) - tf.rank(valid)], tf.int32)
    valid = tf.reshape(valid, tf.concat([tf.shape(valid), extra], axis=0))
    return tf.where(valid, values, tf.zeros_like(values))
