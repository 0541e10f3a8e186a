"""The recurrent stack: cell type, depth, direction, dropout and connections in one place.

`RecurrentStack` owns its Keras layers, so the same weights can be called from several
functional models (a classifier, or the train/prefill/step models of a language model).
The defaults keep Keras' cuDNN-eligible path for LSTM/GRU on a GPU: tanh/sigmoid
activations, `recurrent_dropout=0`, `unroll=False`, right-padded masks.
"""

import keras

from rnnapps.errors import ConfigError
from rnnapps.layers.highway import HighwayConnection

CELLS = ("simple", "irnn", "gru", "lstm")
CONNECTIONS = (None, "residual", "highway")
MERGE_MODES = ("concat", "sum", "ave", "mul")


def make_rnn(cell, units, dropout=0.0, recurrent_dropout=0.0, name=None):
    """One Keras recurrent layer returning sequences and its final state(s).

    `irnn` is the identity-initialised ReLU RNN of Le, Jaitly & Hinton (2015): a
    SimpleRNN whose recurrent matrix starts as the identity and whose input weights
    start tiny, so early on it copies its state forward instead of squashing it.

    Example:
        >>> make_rnn("gru", 32).units
        32
    """
    if cell not in CELLS:
        raise ConfigError(f"cell must be one of {CELLS}, got {cell!r}")
    common = dict(
        units=units,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        return_sequences=True,
        return_state=True,
        name=name,
    )
    if cell == "lstm":
        layer = keras.layers.LSTM(**common)
    elif cell == "gru":
        layer = keras.layers.GRU(**common)
    elif cell == "irnn":
        layer = keras.layers.SimpleRNN(
            activation="relu",
            recurrent_initializer=keras.initializers.Identity(gain=1.0),
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.001),
            **common,
        )
    else:
        layer = keras.layers.SimpleRNN(**common)
    if name is not None:
        # Keras names every cell "lstm_cell" etc.; a model that calls several cells
        # directly (a language model's one-token step) needs unique operation names.
        layer.cell.name = f"{name}_cell"
    return layer


class RecurrentStack:
    """A stack of `depth` recurrent layers, optionally bidirectional, with connections.

    Args:
        cell: "simple" (Elman), "irnn" (identity-initialised ReLU), "gru" or "lstm".
        units: hidden units per direction.
        depth: number of stacked layers.
        bidirectional: wrap every layer in `keras.layers.Bidirectional`.
        merge_mode: how the two directions are combined ("concat", "sum", "ave", "mul").
        dropout: input dropout of every recurrent layer.
        recurrent_dropout: dropout on the recurrent state (disables cuDNN on GPU).
        connection: None, "residual" (add the layer's input) or "highway" (gated mix)
            between stacked layers, from the second layer on.
        name: prefix of the layer names.

    Calling the stack on a (masked) `[B, T, D]` tensor returns the top layer's sequence
    `[B, T, width]`, and with `return_states=True` also the final states of every layer.

    Example:
        >>> stack = RecurrentStack("gru", 16, depth=2, bidirectional=True)
        >>> stack(keras.Input((None, 8))).shape
        (None, None, 32)
    """

    def __init__(
        self,
        cell="lstm",
        units=128,
        depth=1,
        bidirectional=False,
        merge_mode="concat",
        dropout=0.0,
        recurrent_dropout=0.0,
        connection=None,
        name="rnn",
    ):
        if int(depth) < 1:
            raise ConfigError(f"depth must be >= 1, got {depth}")
        if int(units) < 1:
            raise ConfigError(f"units must be >= 1, got {units}")
        if connection not in CONNECTIONS:
            raise ConfigError(f"connection must be one of {CONNECTIONS}, got {connection!r}")
        if merge_mode not in MERGE_MODES:
            raise ConfigError(f"merge_mode must be one of {MERGE_MODES}, got {merge_mode!r}")
        for label, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0.0 <= float(rate) < 1.0:
                raise ConfigError(f"{label} must be in [0, 1), got {rate}")
        self.cell = cell
        self.units = int(units)
        self.depth = int(depth)
        self.bidirectional = bool(bidirectional)
        self.merge_mode = merge_mode
        self.connection = connection
        self.layers = []
        self.connections = []
        for index in range(self.depth):
            rnn = make_rnn(cell, self.units, dropout, recurrent_dropout, name=f"{name}_{cell}_{index}")
            if self.bidirectional:
                rnn = keras.layers.Bidirectional(rnn, merge_mode=merge_mode, name=f"{name}_bi_{index}")
            self.layers.append(rnn)
            if index > 0 and connection == "residual":
                self.connections.append(keras.layers.Add(name=f"{name}_residual_{index}"))
            elif index > 0 and connection == "highway":
                self.connections.append(HighwayConnection(name=f"{name}_highway_{index}"))
            else:
                self.connections.append(None)

    @property
    def states_per_direction(self):
        """Number of state tensors one direction carries: 2 for LSTM (h, c), else 1."""
        return 2 if self.cell == "lstm" else 1

    @property
    def output_width(self):
        """Width of the top layer's output sequence."""
        doubled = self.bidirectional and self.merge_mode == "concat"
        return self.units * (2 if doubled else 1)

    def __call__(self, inputs, initial_states=None, return_states=False, training=None):
        """Runs the stack.

        Args:
            inputs: `[B, T, D]` tensor (its Keras mask is honoured).
            initial_states: optional list, per layer, of that layer's state list.
            return_states: also return the per-layer lists of final states.
        """
        x = inputs
        all_states = []
        for index, (rnn, connection) in enumerate(zip(self.layers, self.connections)):
            init = None if initial_states is None else initial_states[index]
            outputs = rnn(x, initial_state=init, training=training)
            sequence, states = outputs[0], list(outputs[1:])
            if connection is not None:
                sequence = connection([x, sequence])
            all_states.append(states)
            x = sequence
        return (x, all_states) if return_states else x

    def final_hidden(self, states):
        """The top layer's final hidden state(s) `[B, units * directions]`.

        For a bidirectional stack this joins the forward state after the last token
        with the backward state after the first token ("first + last").
        """
        top = states[-1]
        per = self.states_per_direction
        hidden = [top[0]] if not self.bidirectional else [top[0], top[per]]
        if len(hidden) == 1:
            return hidden[0]
        return keras.layers.Concatenate(name="final_hidden")(hidden)
