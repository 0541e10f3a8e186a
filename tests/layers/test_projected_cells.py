"""A cell's step from a looked-up input projection equals the Keras cell's own step."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnapps.layers.projected_cells import input_projection, step_from_projection, supports_projection

RNG = np.random.default_rng(0)
INPUTS = RNG.normal(size=(4, 5)).astype("float32")


def built(cell, states):
    cell(INPUTS, states)
    for weight in cell.weights:  # non-zero biases, so a dropped bias would show
        weight.assign(RNG.normal(scale=0.5, size=weight.shape).astype("float32"))
    return cell


@pytest.mark.parametrize(
    "make,state_count",
    [
        (lambda: keras.layers.LSTMCell(6), 2),
        (lambda: keras.layers.LSTMCell(6, use_bias=False, implementation=1), 2),
        (lambda: keras.layers.GRUCell(6), 1),
        (lambda: keras.layers.GRUCell(6, reset_after=False), 1),
        (lambda: keras.layers.GRUCell(6, use_bias=False), 1),
        (lambda: keras.layers.SimpleRNNCell(6), 1),
        (lambda: keras.layers.SimpleRNNCell(6, activation="relu"), 1),
    ],
)
def test_step_from_projection_equals_the_cell(make, state_count):
    states = [RNG.normal(size=(4, 6)).astype("float32") for _ in range(state_count)]
    cell = built(make(), states)
    assert supports_projection(cell)
    expected_output, expected_states = cell(INPUTS, states, training=False)
    expected_states = expected_states if isinstance(expected_states, (list, tuple)) else [expected_states]
    table = input_projection(cell, INPUTS)  # one row per input, as for a vocabulary
    output, new_states = step_from_projection(cell, tf.gather(table, [0, 1, 2, 3]), [tf.constant(s) for s in states])
    np.testing.assert_allclose(output.numpy(), np.asarray(expected_output), rtol=1e-5, atol=1e-6)
    assert len(new_states) == len(expected_states)
    for mine, theirs in zip(new_states, expected_states):
        np.testing.assert_allclose(mine.numpy(), np.asarray(theirs), rtol=1e-5, atol=1e-6)


def test_only_built_float32_keras_cells_qualify():
    assert not supports_projection(keras.layers.LSTMCell(4))  # not built
    half = keras.layers.GRUCell(4, dtype="mixed_float16")
    half(INPUTS, [np.zeros((4, 4), "float32")])
    assert not supports_projection(half)

    class Custom(keras.layers.SimpleRNNCell):
        pass

    custom = Custom(4)
    custom(INPUTS, [np.zeros((4, 4), "float32")])
    assert not supports_projection(custom)  # its maths may differ from SimpleRNNCell's
