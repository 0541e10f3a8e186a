"""`RecurrentStack` and `make_rnn`: IRNN init, cuDNN-eligible defaults, connections, final states."""

import keras
import numpy as np
import pytest

from rnnapps.errors import ConfigError
from rnnapps.layers import HighwayConnection, RecurrentStack, make_rnn

IDS = np.array([[3, 5, 2, 7, 0, 0], [4, 1, 6, 0, 0, 0], [2, 2, 2, 2, 2, 2]], dtype="int32")


def stack_model(stack, vocabulary_size=10, embedding_dim=5):
    """ids -> (top sequence, final hidden) with a masking embedding in front of `stack`."""
    ids = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True, name="embedding")(ids)
    sequence, states = stack(embedded, return_states=True)
    return keras.Model(ids, [sequence, stack.final_hidden(states)])


def test_irnn_starts_from_identity_with_relu():
    layer = make_rnn("irnn", 6)
    layer.build((None, None, 4))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer.cell.recurrent_kernel), np.eye(6))
    assert layer.get_config()["activation"] == "relu"
    assert np.abs(keras.ops.convert_to_numpy(layer.cell.kernel)).max() < 0.01
    assert isinstance(layer, keras.layers.SimpleRNN)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_and_gru_defaults_are_cudnn_eligible(cell, bidirectional):
    stack = RecurrentStack(cell, 4, depth=2, bidirectional=bidirectional)
    stack_model(stack)
    layers = []
    for layer in stack.layers:
        layers.extend([layer.forward_layer, layer.backward_layer] if bidirectional else [layer])
    assert len(layers) == (4 if bidirectional else 2)
    for layer in layers:
        config = layer.get_config()
        assert config["activation"] == "tanh"
        assert config["recurrent_activation"] == "sigmoid"
        assert config["recurrent_dropout"] == 0
        assert config["unroll"] is False
        assert config["return_sequences"] and config["return_state"]
        if cell == "gru":
            assert config["reset_after"] is True


@pytest.mark.parametrize("cell", ["simple", "irnn", "gru", "lstm"])
def test_make_rnn_builds_each_cell(cell):
    expected = {"simple": keras.layers.SimpleRNN, "irnn": keras.layers.SimpleRNN,
                "gru": keras.layers.GRU, "lstm": keras.layers.LSTM}[cell]
    layer = make_rnn(cell, 3, dropout=0.25, name=f"my_{cell}")
    assert type(layer) is expected
    assert (layer.units, layer.dropout, layer.name) == (3, 0.25, f"my_{cell}")
    outputs = layer(np.ones((2, 4, 5), dtype="float32"))
    assert tuple(outputs[0].shape) == (2, 4, 3)
    assert len(outputs) == (3 if cell == "lstm" else 2)


def test_output_width_and_states():
    assert RecurrentStack("gru", 4, bidirectional=True).output_width == 8
    assert RecurrentStack("gru", 4, bidirectional=True, merge_mode="sum").output_width == 4
    assert RecurrentStack("lstm", 4).output_width == 4
    assert RecurrentStack("lstm", 4).states_per_direction == 2
    assert RecurrentStack("irnn", 4).states_per_direction == 1


@pytest.mark.parametrize("connection, layer_type", [("residual", keras.layers.Add), ("highway", HighwayConnection)])
def test_connections_between_stacked_layers(connection, layer_type):
    stack = RecurrentStack("gru", 4, depth=3, bidirectional=True, connection=connection)
    model = stack_model(stack)
    assert stack.connections[0] is None
    for index in (1, 2):
        layer = model.get_layer(f"rnn_{connection}_{index}")
        assert isinstance(layer, layer_type)
        assert tuple(layer.output.shape) == (None, None, 8)
    sequence, hidden = model.predict(IDS, verbose=0)
    assert sequence.shape == (3, 6, 8) and hidden.shape == (3, 8)


def test_residual_connection_adds_the_layer_input():
    stack = RecurrentStack("simple", 4, depth=2, connection="residual")
    inputs = keras.Input((None, 4))
    first = stack.layers[0](inputs)[0]
    model = keras.Model(inputs, [first, stack(inputs)])
    x = np.random.default_rng(0).normal(size=(2, 3, 4)).astype("float32")
    first_out, top = model.predict(x, verbose=0)
    second_alone = stack.layers[1](first_out)[0]
    np.testing.assert_allclose(top, first_out + keras.ops.convert_to_numpy(second_alone), rtol=1e-5, atol=1e-6)


def run_direction(layer, embedded):
    """Final state of a single-direction layer over one unpadded sequence [1, T, D]."""
    return keras.ops.convert_to_numpy(layer(embedded)[1])[0]


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_bidirectional_final_hidden_is_forward_last_and_backward_first(cell):
    stack = RecurrentStack(cell, 4, depth=1, bidirectional=True)
    model = stack_model(stack)
    _, hidden = model.predict(IDS, verbose=0)
    bidirectional = stack.layers[0]
    embedding = model.get_layer("embedding")
    for row, token_ids in enumerate(IDS):
        valid = token_ids[token_ids != 0]
        embedded = keras.ops.convert_to_numpy(embedding(valid[None, :]))
        forward = run_direction(bidirectional.forward_layer, embedded)
        # The backward direction reads the valid tokens from last to first, so its final
        # state is the state after the first token: replay that with a plain layer
        # holding the backward weights on the explicitly reversed tokens.
        backward_layer = make_rnn(cell, 4)
        backward_layer.build(embedded.shape)
        backward_layer.set_weights(bidirectional.backward_layer.get_weights())
        backward = run_direction(backward_layer, embedded[:, ::-1])
        np.testing.assert_allclose(hidden[row, :4], forward, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(hidden[row, 4:], backward, rtol=1e-5, atol=1e-6)


def test_final_hidden_is_padding_invariant_with_depth_two():
    stack = RecurrentStack("lstm", 4, depth=2, bidirectional=True, connection="highway")
    model = stack_model(stack)
    short = np.array([[3, 5, 2]], dtype="int32")
    padded = np.array([[3, 5, 2, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6, 7]], dtype="int32")
    _, alone = model.predict(short, verbose=0)
    _, batched = model.predict(padded, verbose=0)
    np.testing.assert_allclose(batched[0], alone[0], rtol=1e-5, atol=1e-6)
    assert not np.allclose(batched[1], alone[0])


def test_unidirectional_final_hidden_is_the_state_after_the_last_valid_token():
    stack = RecurrentStack("simple", 4)
    model = stack_model(stack)
    sequence, hidden = model.predict(IDS, verbose=0)
    np.testing.assert_allclose(hidden[0], sequence[0, 3], rtol=1e-6)  # 4 valid tokens
    np.testing.assert_allclose(hidden[1], sequence[1, 2], rtol=1e-6)
    np.testing.assert_allclose(hidden[2], sequence[2, 5], rtol=1e-6)


def test_initial_states_are_used():
    stack = RecurrentStack("gru", 3, depth=2)
    inputs = keras.Input((None, 2))
    starts = [[keras.Input((3,))], [keras.Input((3,))]]
    sequence, states = stack(inputs, initial_states=starts, return_states=True)
    model = keras.Model([inputs, starts[0][0], starts[1][0]], states[1][0])
    x = np.ones((1, 2, 2), dtype="float32")
    zeros = np.zeros((1, 3), dtype="float32")
    base = model.predict([x, zeros, zeros], verbose=0)
    moved = model.predict([x, zeros, np.ones((1, 3), dtype="float32")], verbose=0)
    assert not np.allclose(base, moved)


@pytest.mark.parametrize(
    "options",
    [
        {"cell": "transformer"},
        {"depth": 0},
        {"units": 0},
        {"connection": "dense"},
        {"merge_mode": "max"},
        {"dropout": 1.0},
        {"recurrent_dropout": -0.1},
    ],
)
def test_invalid_options_raise_config_error(options):
    settings = dict(cell="gru", units=4)
    settings.update(options)
    with pytest.raises(ConfigError):
        RecurrentStack(**settings)
