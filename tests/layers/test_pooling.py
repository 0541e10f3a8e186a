"""`MaskedPooling`, `AttentionPooling` and `DropMask`: values against numpy, masks, weights, round trips."""

import keras
import numpy as np
import pytest

from rnnapps.layers import AttentionPooling, DropMask, MaskedPooling
from tests.helpers import run_layer_test, run_serialization_test

RNG = np.random.default_rng(5)
INPUTS = RNG.normal(size=(3, 5, 4)).astype("float32") - 3.0  # all-negative values test max
MASK = np.array(
    [[True, True, True, False, False], [True, True, True, True, True], [False, False, False, False, False]]
)


def numpy_of(x):
    return keras.ops.convert_to_numpy(x)


def test_masked_mean_matches_numpy():
    pooled = numpy_of(MaskedPooling("mean")(INPUTS, mask=MASK))
    np.testing.assert_allclose(pooled[0], INPUTS[0, :3].mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(pooled[1], INPUTS[1].mean(axis=0), rtol=1e-5)
    np.testing.assert_array_equal(pooled[2], np.zeros(4))  # no valid step: zeros, not NaN


def test_masked_max_matches_numpy():
    pooled = numpy_of(MaskedPooling("max")(INPUTS, mask=MASK))
    np.testing.assert_allclose(pooled[0], INPUTS[0, :3].max(axis=0), rtol=1e-6)
    np.testing.assert_allclose(pooled[1], INPUTS[1].max(axis=0), rtol=1e-6)
    np.testing.assert_array_equal(pooled[2], np.zeros(4))


def test_max_ignores_large_values_on_padding():
    inputs = INPUTS.copy()
    inputs[0, 3:] = 100.0
    pooled = numpy_of(MaskedPooling("max")(inputs, mask=MASK))
    np.testing.assert_allclose(pooled[0], INPUTS[0, :3].max(axis=0), rtol=1e-6)


@pytest.mark.parametrize("mode", ["mean", "max"])
def test_without_mask_pools_every_step(mode):
    pooled = numpy_of(MaskedPooling(mode)(INPUTS))
    expected = INPUTS.mean(axis=1) if mode == "mean" else INPUTS.max(axis=1)
    np.testing.assert_allclose(pooled, expected, rtol=1e-5)


def test_invalid_mode():
    with pytest.raises(ValueError, match="mode"):
        MaskedPooling("sum")


def test_attention_weights_sum_to_one_over_valid_steps_and_zero_on_padding():
    layer = AttentionPooling(units=6, return_weights=True)
    pooled, weights = (numpy_of(x) for x in layer(INPUTS, mask=MASK))
    assert weights.shape == (3, 5) and pooled.shape == (3, 4)
    np.testing.assert_allclose(weights[:2].sum(axis=1), [1.0, 1.0], rtol=1e-5)
    np.testing.assert_array_equal(weights[0, 3:], [0.0, 0.0])
    assert np.all(weights[0, :3] > 0) and np.all(weights[1] > 0)
    np.testing.assert_array_equal(weights[2], np.zeros(5))  # nothing valid: no weight anywhere
    np.testing.assert_allclose(pooled, np.einsum("bt,btd->bd", weights, INPUTS), rtol=1e-5, atol=1e-6)


def test_attention_weights_follow_the_scorer():
    layer = AttentionPooling(return_weights=True)
    layer.build(INPUTS.shape)
    hidden = np.tanh(INPUTS @ numpy_of(layer.projection.kernel) + numpy_of(layer.projection.bias))
    scores = (hidden @ numpy_of(layer.score.kernel))[..., 0]
    scores = np.where(MASK, scores, -np.inf)
    expected = np.exp(scores[:2] - scores[:2].max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    _, weights = layer(INPUTS, mask=MASK)
    np.testing.assert_allclose(numpy_of(weights)[:2], expected, rtol=1e-5, atol=1e-7)
    assert layer.projection.units == 4  # default: the input width


def test_attention_mask_from_embedding():
    ids = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(9, 4, mask_zero=True)(ids)
    pooled, weights = AttentionPooling(return_weights=True)(embedded)
    model = keras.Model(ids, [pooled, weights])
    short_pooled, _ = model.predict(np.array([[3, 4]]), verbose=0)
    padded_pooled, padded_weights = model.predict(np.array([[3, 4, 0, 0], [5, 6, 7, 8]]), verbose=0)
    np.testing.assert_allclose(padded_pooled[0], short_pooled[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(padded_weights[0, 2:], [0.0, 0.0])
    np.testing.assert_allclose(padded_weights.sum(axis=1), [1.0, 1.0], rtol=1e-5)


@pytest.mark.parametrize("mode", ["mean", "max"])
def test_masked_pooling_layer_round_trip(mode, tmp_path):
    run_layer_test(MaskedPooling(mode), INPUTS, (3, 4), tmp_path, mask=MASK)
    assert run_serialization_test(MaskedPooling(mode)).mode == mode


def test_drop_mask_passes_values_on_without_a_mask(tmp_path):
    ids = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(10, 4, mask_zero=True)(ids)
    assert getattr(DropMask()(embedded), "_keras_mask", None) is None
    values = np.asarray(run_layer_test(DropMask(), INPUTS, INPUTS.shape, tmp_path))
    np.testing.assert_array_equal(values, INPUTS)


def test_attention_pooling_layer_round_trip(tmp_path):
    run_layer_test(AttentionPooling(units=3), INPUTS, (3, 4), tmp_path, mask=MASK)
    revived = run_serialization_test(AttentionPooling(units=7, return_weights=True))
    assert (revived.units, revived.return_weights) == (7, True)


def test_output_shapes():
    assert MaskedPooling().compute_output_shape((None, 7, 5)) == (None, 5)
    assert AttentionPooling(return_weights=True).compute_output_shape((None, 7, 5)) == ((None, 5), (None, 7))


def test_last_valid_step_picks_each_rows_last_unmasked_vector():
    from rnnapps.layers import LastValidStep

    x = np.arange(24, dtype="float32").reshape(2, 4, 3)
    mask = np.array([[True, True, False, False], [True, True, True, True]])
    np.testing.assert_array_equal(LastValidStep()(x, mask=mask).numpy(), [x[0, 1], x[1, 3]])
    np.testing.assert_array_equal(LastValidStep()(x).numpy(), x[:, 3])
    empty = np.zeros((1, 4), bool)
    np.testing.assert_array_equal(LastValidStep()(x[:1], mask=empty).numpy(), x[:1, 0])
    # One step (a generation loop's token) is its own last step, masked or not.
    for one_mask in (None, np.array([[True], [False]])):
        np.testing.assert_array_equal(LastValidStep()(x[:, :1], mask=one_mask).numpy(), x[:, 0])
