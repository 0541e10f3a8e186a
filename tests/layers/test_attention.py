"""`SourceAttention`, `PaddingMask` and `AttentionDecoder`: masks, numpy values, round trips."""

import keras
import numpy as np
import pytest

from rnnapps.layers import SCORES, AttentionDecoder, PaddingMask, SourceAttention
from tests.helpers import run_model_saving_test, run_serialization_test

RNG = np.random.default_rng(3)
QUERY = RNG.normal(size=(3, 4, 6)).astype("float32")
MEMORY = RNG.normal(size=(3, 5, 6)).astype("float32")
MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]], dtype="float32")


def numpy_of(x):
    return keras.ops.convert_to_numpy(x)


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("score", SCORES)
@pytest.mark.parametrize("steps", [1, 4])
def test_rows_sum_to_one_and_padding_gets_exactly_zero(score, steps):
    layer = SourceAttention(score, units=7)
    context, weights = layer(QUERY[:, :steps], MEMORY, MASK.astype(bool) if steps == 1 else MASK)
    context, weights = numpy_of(context), numpy_of(weights)
    assert context.shape == (3, steps, 6) and weights.shape == (3, steps, 5)
    np.testing.assert_allclose(weights[:2].sum(-1), 1.0, rtol=1e-6)
    assert np.all(weights[0, :, 3:] == 0.0)
    assert np.all(weights[2] == 0.0) and np.all(context[2] == 0.0)  # no valid source step: zeros, not NaN
    # What sits in the padding positions cannot change the result.
    noisy = MEMORY.copy()
    noisy[0, 3:] = 100.0
    again, _ = layer(QUERY[:, :steps], noisy, MASK)
    np.testing.assert_allclose(numpy_of(again)[0], context[0], rtol=1e-6, atol=1e-6)


def test_dot_score_matches_numpy():
    query = np.array([[[1.0, 0.0], [0.0, 2.0]]], dtype="float32")
    memory = np.array([[[1.0, 1.0], [2.0, 0.0], [0.0, 3.0], [5.0, 5.0]]], dtype="float32")
    mask = np.array([[1, 1, 1, 0]], dtype="float32")
    context, weights = SourceAttention("dot")(query, memory, mask)
    expected = softmax(query[0] @ memory[0, :3].T)
    np.testing.assert_allclose(numpy_of(weights)[0, :, :3], expected, rtol=1e-6)
    np.testing.assert_array_equal(numpy_of(weights)[0, :, 3], [0.0, 0.0])
    np.testing.assert_allclose(numpy_of(context)[0], expected @ memory[0, :3], rtol=1e-6)


@pytest.mark.parametrize("score", ["general", "concat"])
def test_parametrised_scores_match_numpy(score):
    layer = SourceAttention(score, units=5)
    _, weights = layer(QUERY, MEMORY, MASK)
    q, m = QUERY[1], MEMORY[1]
    if score == "general":
        scores = q @ numpy_of(layer.kernel) @ m.T
    else:
        hidden = (q @ numpy_of(layer.query_kernel))[:, None, :] + (m @ numpy_of(layer.memory_kernel))[None, :, :]
        scores = np.tanh(hidden) @ numpy_of(layer.score_vector)
    np.testing.assert_allclose(numpy_of(weights)[1], softmax(scores), rtol=1e-5, atol=1e-6)


def test_dot_needs_equal_widths_and_unknown_scores_are_refused():
    with pytest.raises(ValueError, match="general"):
        SourceAttention("dot")(QUERY[..., :4], MEMORY, MASK)
    with pytest.raises(ValueError, match="score must be one of"):
        SourceAttention("cosine")


@pytest.mark.parametrize("score", SCORES)
def test_attention_round_trips_through_config_and_keras_file(score, tmp_path):
    run_serialization_test(SourceAttention(score, units=5, name="attention"))
    query, memory, mask = keras.Input((None, 6)), keras.Input((None, 6)), keras.Input((None,))
    context, _ = SourceAttention(score, units=5)(query, memory, mask)
    model = keras.Model([query, memory, mask], context)
    run_model_saving_test(model, [QUERY, MEMORY, MASK], tmp_path)


def test_padding_mask():
    layer = PaddingMask(dtype="float32")
    np.testing.assert_array_equal(numpy_of(layer(np.array([[4, 1, 0, 0]]))), [[1.0, 1.0, 0.0, 0.0]])
    assert run_serialization_test(PaddingMask(padding_id=3)).padding_id == 3


@pytest.mark.parametrize("style,feed", [("luong", True), ("bahdanau", False)])
def test_attention_decoder_masked_steps_leave_states_unchanged(style, feed):
    decoder = AttentionDecoder("lstm", 6, depth=2, style=style, score="concat", input_feeding=feed)
    inputs = RNG.normal(size=(3, 4, 5)).astype("float32")
    states = [np.zeros((3, 6), "float32")] * 4
    outputs = decoder(inputs, MEMORY, MASK, states, inputs_mask=np.array([[1, 1, 0, 0]] * 3, bool))
    short = decoder(inputs[:, :2], MEMORY, MASK, states)
    assert len(outputs) == 2 + len(decoder.state_size)
    for final, expected in zip(outputs[2:], short[2:]):
        np.testing.assert_allclose(numpy_of(final), numpy_of(expected), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(numpy_of(outputs[0])[:, :2], numpy_of(short[0]), rtol=1e-6, atol=1e-6)
    weights = numpy_of(outputs[1])
    np.testing.assert_allclose(weights[:2].sum(-1), 1.0, rtol=1e-6)
    assert np.all(weights[0, :, 3:] == 0.0)


def test_attention_decoder_round_trips_through_config_and_keras_file(tmp_path):
    decoder = AttentionDecoder("gru", 6, depth=2, score="general", input_feeding=True, dropout=0.1, name="dec")
    assert run_serialization_test(decoder).state_size == [6, 6, 6]
    inputs, memory, mask = keras.Input((None, 5)), keras.Input((None, 6)), keras.Input((None,))
    states = [keras.Input((6,)) for _ in range(2)]  # the input-feeding vector left out: zeros
    outputs, _, *_ = decoder(inputs, memory, mask, states)
    model = keras.Model([inputs, memory, mask] + states, outputs)
    values = [RNG.normal(size=(3, 4, 5)).astype("float32"), MEMORY, MASK] + [np.zeros((3, 6), "float32")] * 2
    run_model_saving_test(model, values, tmp_path)
    with pytest.raises(ValueError, match="Luong"):
        AttentionDecoder("gru", 6, style="bahdanau", input_feeding=True)
