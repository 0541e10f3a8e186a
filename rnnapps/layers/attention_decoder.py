"""A recurrent decoder whose every step depends on attention: Luong input feeding, Bahdanau.

Luong attention *with input feeding* concatenates the previous step's attentional
vector to the next input, and Bahdanau attention queries with the previous decoder
state and feeds the context into the cell: either way step t needs step t-1's
attention, so even teacher forcing must loop over time. `AttentionDecoder` owns the
stacked cells, the attention and the output projection and runs that loop with
`keras.ops.scan` (Keras 3's `RNN` layer no longer takes the memory as a `constants`
argument). A one-step decoder model calls the same layer on a length-1 sequence, so it
runs exactly the same step code as the teacher-forced model.
"""

import keras
from keras import ops

from rnnapps.layers.attention import SourceAttention
from rnnapps.layers.recurrent_stack import CELLS

STYLES = ("luong", "bahdanau")


def make_cell(cell, units, dropout=0.0, name=None):
    """One Keras RNN cell of the given kind (see `rnnapps.layers.make_rnn`)."""
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
    if cell == "lstm":
        return keras.layers.LSTMCell(units, dropout=dropout, name=name)
    if cell == "gru":
        return keras.layers.GRUCell(units, dropout=dropout, name=name)
    if cell == "irnn":
        return keras.layers.SimpleRNNCell(
            units,
            activation="relu",
            recurrent_initializer=keras.initializers.Identity(gain=1.0),
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.001),
            dropout=dropout,
            name=name,
        )
    return keras.layers.SimpleRNNCell(units, dropout=dropout, name=name)


@keras.saving.register_keras_serializable(package="rnnapps")
class AttentionDecoder(keras.layers.Layer):
    """Stacked recurrent decoder with attention inside the time loop.

    One step, with `h` the top layer's output, `c` the context and `a` the output
    ("attentional") vector `tanh(Wc [c; h])`:

    - "luong": run the cells on the input (plus `a_{t-1}` with input feeding), then
      attend with the new `h_t`; `a_t = tanh(Wc [c_t; h_t])` (Luong et al., 2015).
    - "bahdanau": attend with the previous top state `h_{t-1}`, run the cells on
      `[input; c_t]`, then `a_t = tanh(Wc [c_t; h_t])` (Bahdanau et al., 2015, with a
      tanh output layer instead of maxout).

    Args:
        cell: "simple", "irnn", "gru" or "lstm".
        units: width of every layer and of the output vector.
        depth: number of stacked cells.
        style: "luong" or "bahdanau".
        score: the attention score (see `SourceAttention`).
        attention_units: hidden width of a concat/additive score.
        input_feeding: feed `a_{t-1}` into the first cell (Luong only).
        dropout: input dropout of every cell (one mask per sequence, as in Keras).

    Call arguments:
        inputs: `[B, T, E]` embedded target tokens; their Keras mask (or `inputs_mask`)
            freezes every state on padding steps.
        memory: `[B, S, D]` encoder outputs.
        source_mask: `[B, S]` bool/float mask of the real source steps.
        initial_states: flat list: each layer's states in order (`h` for GRU/SimpleRNN,
            `h, c` for LSTM), then `a_{t-1}` when input feeding; leaving that last one
            out starts it at zeros, as at the first step.

    Returns:
        `(outputs [B, T, units], weights [B, T, S], *final_states)`, the final states in
        the order of `state_size` (the attentional vector last when input feeding).

    Example:
        >>> decoder = AttentionDecoder("gru", 8, input_feeding=True)
        >>> memory = keras.ops.ones((2, 5, 8))
        >>> outputs, weights, h, a = decoder(keras.ops.ones((2, 3, 4)), memory, None, [keras.ops.zeros((2, 8))])
        >>> tuple(outputs.shape), tuple(weights.shape)
        ((2, 3, 8), (2, 3, 5))
    """

    def __init__(
        self,
        cell="lstm",
        units=128,
        depth=1,
        style="luong",
        score="general",
        attention_units=None,
        input_feeding=True,
        dropout=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if style not in STYLES:
            raise ValueError(f"style must be one of {STYLES}, got {style!r}")
        if input_feeding and style != "luong":
            raise ValueError("input_feeding is a Luong option: Bahdanau attention already feeds its context")
        if int(depth) < 1 or int(units) < 1:
            raise ValueError(f"depth and units must be >= 1, got depth={depth}, units={units}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.cell = cell
        self.units = int(units)
        self.depth = int(depth)
        self.style = style
        self.score = score
        self.attention_units = None if attention_units is None else int(attention_units)
        self.input_feeding = bool(input_feeding)
        self.dropout = float(dropout)
        self.cells = [make_cell(cell, self.units, self.dropout, name=f"{cell}_cell_{i}") for i in range(self.depth)]
        self.attention = SourceAttention(score, self.attention_units, name="attention")
        self.attentional = keras.layers.Dense(self.units, activation="tanh", use_bias=False, name="attentional")
        self.supports_masking = True

    @property
    def states_per_layer(self):
        return 2 if self.cell == "lstm" else 1

    @property
    def state_size(self):
        """Widths of the flat state list: the cells' states, then `a` with input feeding."""
        return [self.units] * (self.states_per_layer * self.depth + int(self.input_feeding))

    def build(self, inputs_shape, memory_shape, source_mask_shape=None, initial_states_shape=None):
        memory_width = memory_shape[-1]
        first_width = inputs_shape[-1]
        if self.input_feeding:
            first_width += self.units
        if self.style == "bahdanau":
            first_width += memory_width
        for index, cell in enumerate(self.cells):
            cell.build((None, first_width if index == 0 else self.units))
        self.attention.build((None, None, self.units), tuple(memory_shape))
        self.attentional.build((None, self.units + memory_width))

    def step(self, inputs, states, keys, memory, source_mask, training=None):
        """One step: `inputs [B, E]`, flat `states` -> `(output [B, units], new states, weights [B, S])`."""
        per = self.states_per_layer
        layer_states = [list(states[i * per : (i + 1) * per]) for i in range(self.depth)]
        x = inputs
        if self.style == "bahdanau":
            context, weights = self._attend(layer_states[-1][0], keys, memory, source_mask)
            x = ops.concatenate([x, context], axis=-1)
        elif self.input_feeding:
            x = ops.concatenate([x, states[-1]], axis=-1)
        new_states = []
        for cell, cell_states in zip(self.cells, layer_states):
            x, cell_states = cell(x, cell_states, training=training)
            new_states.extend(cell_states)
        if self.style == "luong":
            context, weights = self._attend(x, keys, memory, source_mask)
        output = self.attentional(ops.concatenate([context, x], axis=-1))
        if self.input_feeding:
            new_states.append(output)
        return output, new_states, weights

    def _attend(self, query, keys, memory, source_mask):
        context, weights = self.attention.attend(ops.expand_dims(query, 1), keys, memory, source_mask)
        return ops.squeeze(context, 1), ops.squeeze(weights, 1)

    def call(self, inputs, memory, source_mask, initial_states, training=None, inputs_mask=None):
        batch = ops.shape(inputs)[0]
        states = list(initial_states)
        if self.input_feeding and len(states) == len(self.state_size) - 1:
            states.append(ops.zeros((batch, self.units), dtype=self.compute_dtype))
        if len(states) != len(self.state_size):
            raise ValueError(f"expected {len(self.state_size)} initial states, got {len(states)}")
        keys = self.attention.project_memory(memory)  # once, not once per step
        if inputs_mask is None:
            inputs_mask = ops.ones(ops.shape(inputs)[:2], dtype="bool")
        self._set_dropout_masks(inputs, training)

        def body(carry, step_inputs):
            old_states = carry[0]
            x, valid = step_inputs[:, :-1], step_inputs[:, -1] > 0.5
            output, new_states, weights = self.step(x, old_states, keys, memory, source_mask, training)
            # Padding steps leave every state as it was (like a masked Keras RNN step).
            keep = ops.expand_dims(valid, -1)
            new_states = [ops.where(keep, new, old) for new, old in zip(new_states, old_states)]
            carry = (new_states, output, weights)
            return carry, carry

        init = (
            states,
            ops.zeros((batch, self.units), dtype=self.compute_dtype),
            ops.zeros((batch, ops.shape(memory)[1]), dtype=self.compute_dtype),
        )
        # One scanned sequence, the validity flag riding as a last feature column: Keras'
        # TF `ops.scan` fails on several sequences whose length is unknown at trace time.
        valid_column = ops.expand_dims(ops.cast(inputs_mask, inputs.dtype), -1)
        sequence = ops.transpose(ops.concatenate([inputs, valid_column], axis=-1), (1, 0, 2))
        (final_states, _, _), (_, outputs, weights) = ops.scan(body, init, sequence)
        for cell in self.cells:
            cell.reset_dropout_mask()
        return (ops.transpose(outputs, (1, 0, 2)), ops.transpose(weights, (1, 0, 2)), *final_states)

    def _set_dropout_masks(self, inputs, training):
        """Creates each cell's input-dropout mask before the loop (one mask per sequence)."""
        if not (training and self.dropout > 0):
            return
        batch = ops.shape(inputs)[0]
        for cell in self.cells:
            cell.reset_dropout_mask()
            width = cell.kernel.shape[0]
            cell.get_dropout_mask(ops.ones((batch, width), dtype=self.compute_dtype))

    def compute_mask(self, inputs, previous_mask=None):
        return [previous_mask, previous_mask] + [None] * len(self.state_size)

    def compute_output_shape(self, inputs_shape, memory_shape, source_mask_shape=None, initial_states_shape=None):
        batch, steps = inputs_shape[0], inputs_shape[1]
        states = [(batch, width) for width in self.state_size]
        return ((batch, steps, self.units), (batch, steps, memory_shape[1]), *states)

    def get_config(self):
        config = super().get_config()
        config.update(
            cell=self.cell,
            units=self.units,
            depth=self.depth,
            style=self.style,
            score=self.score,
            attention_units=self.attention_units,
            input_feeding=self.input_feeding,
            dropout=self.dropout,
        )
        return config
