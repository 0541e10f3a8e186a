"""One recurrent step from a precomputed input projection (inference only).

Every Keras cell starts its step with `inputs @ kernel + input_bias`. When the inputs
are token embeddings, that product takes one of only V values, so a generation loop
can compute all of them once per call (a `[V, gates]` table) and look a token's row
up instead of multiplying at every token: at batch 1 this removes the embedding
lookup, a matmul and a bias add, about a third of a char-level step on CPU.

`input_projection(cell, inputs)` makes the table; `step_from_projection(cell,
projection, states)` is the rest of the cell's step, the same maths as Keras'
`LSTMCell`, `GRUCell` (both `reset_after` settings) and `SimpleRNNCell` with
`training=False`. `supports_projection` says whether a cell qualifies.

Example:
    >>> cell = keras.layers.GRUCell(4); _ = cell(tf.ones((1, 3)), [tf.zeros((1, 4))])
    >>> table = input_projection(cell, tf.eye(3))  # the rows for inputs e0, e1, e2
    >>> output, states = step_from_projection(cell, tf.gather(table, [2]), [tf.zeros((1, 4))])
    >>> output.shape
    TensorShape([1, 4])
"""

import keras
import tensorflow as tf

_CELL_TYPES = (keras.layers.LSTMCell, keras.layers.GRUCell, keras.layers.SimpleRNNCell)


def supports_projection(cell):
    """True for a built float32 Keras LSTM/GRU/SimpleRNN cell (the maths this module repeats)."""
    return (
        type(cell) in _CELL_TYPES
        and cell.built
        and cell.compute_dtype == "float32"
        and cell.variable_dtype == "float32"
    )


def _input_bias(cell):
    if not cell.use_bias:
        return None
    bias = tf.convert_to_tensor(cell.bias)
    if isinstance(cell, keras.layers.GRUCell) and cell.reset_after:
        return bias[0]  # [2, 3 * units]: input biases, then recurrent biases
    return bias


def input_projection(cell, inputs):
    """`inputs @ kernel + input_bias` of `cell` for inputs `[N, D]` -> `[N, gates * units]`."""
    projection = tf.matmul(tf.convert_to_tensor(inputs, tf.float32), tf.convert_to_tensor(cell.kernel))
    bias = _input_bias(cell)
    return projection if bias is None else projection + bias


def step_from_projection(cell, projection, states):
    """The cell's step after its input projection: `(output [B, units], new_states list)`.

    Args:
        cell: a cell for which `supports_projection` is True.
        projection: `[B, gates * units]`, rows of `input_projection(cell, ...)`.
        states: the cell's states, `[h, c]` (LSTM) or `[h]`.
    """
    recurrent = tf.convert_to_tensor(cell.recurrent_kernel)
    if isinstance(cell, keras.layers.LSTMCell):
        h, c = states
        gates = projection + tf.matmul(h, recurrent)
        i, f, g, o = tf.split(gates, 4, axis=1)
        c = cell.recurrent_activation(f) * c + cell.recurrent_activation(i) * cell.activation(g)
        h = cell.recurrent_activation(o) * cell.activation(c)
        return h, [h, c]
    if isinstance(cell, keras.layers.GRUCell):
        (h,) = states
        units = cell.units
        x_z, x_r, x_h = tf.split(projection, 3, axis=1)
        if cell.reset_after:
            inner = tf.matmul(h, recurrent)
            if cell.use_bias:
                inner += tf.convert_to_tensor(cell.bias)[1]
        else:
            inner = tf.matmul(h, recurrent[:, : 2 * units])
        z = cell.recurrent_activation(x_z + inner[:, :units])
        r = cell.recurrent_activation(x_r + inner[:, units : 2 * units])
        if cell.reset_after:
            recurrent_h = r * inner[:, 2 * units :]
        else:
            recurrent_h = tf.matmul(r * h, recurrent[:, 2 * units :])
        candidate = cell.activation(x_h + recurrent_h)
        h = z * h + (1 - z) * candidate
        return h, [h]
    (h,) = states
    output = projection + tf.matmul(h, recurrent)
    if cell.activation is not None:
        output = cell.activation(output)
    return output, [output]
