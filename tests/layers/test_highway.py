"""`HighwayConnection`: the gated mix it computes, masks, and config / `.keras` round trips."""

import keras
import numpy as np
import pytest

from rnnapps.layers import HighwayConnection
from tests.helpers import run_model_saving_test, run_serialization_test

RNG = np.random.default_rng(3)
OLD = RNG.normal(size=(2, 3, 4)).astype("float32")
NEW = RNG.normal(size=(2, 3, 4)).astype("float32")


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_output_is_gated_mix_of_old_and_new():
    layer = HighwayConnection(gate_bias=-1.5)
    output = keras.ops.convert_to_numpy(layer([OLD, NEW]))
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in layer.gate.weights)
    np.testing.assert_array_equal(bias, np.full(4, -1.5, dtype="float32"))
    gate = sigmoid(OLD @ kernel + bias)
    np.testing.assert_allclose(output, gate * NEW + (1 - gate) * OLD, rtol=1e-5, atol=1e-6)


def test_negative_gate_bias_starts_close_to_carrying_the_input():
    layer = HighwayConnection(gate_bias=-20.0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer([OLD, NEW])), OLD, atol=1e-5)


def test_unequal_widths_are_rejected():
    with pytest.raises(ValueError, match="equal width"):
        HighwayConnection()([OLD, NEW[..., :3]])


def test_masks_are_combined():
    layer = HighwayConnection()
    first = keras.ops.convert_to_tensor([[True, True, False]])
    second = keras.ops.convert_to_tensor([[True, False, False]])
    combined = layer.compute_mask([OLD[:1], NEW[:1]], [first, second])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(combined), [[True, False, False]])
    only = layer.compute_mask([OLD[:1], NEW[:1]], [None, first])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(only), [[True, True, False]])
    assert layer.compute_mask([OLD, NEW], None) is None
    assert layer.compute_mask([OLD, NEW], [None, None]) is None


def test_mask_passes_through_in_a_model():
    ids = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(5, 4, mask_zero=True)(ids)
    mixed = HighwayConnection()([embedded, keras.layers.Dense(4)(embedded)])
    model = keras.Model(ids, keras.layers.GlobalAveragePooling1D()(mixed))
    with_padding = model.predict(np.array([[1, 2, 0, 0]]), verbose=0)
    without = model.predict(np.array([[1, 2]]), verbose=0)
    np.testing.assert_allclose(with_padding, without, rtol=1e-5, atol=1e-6)


def test_config_round_trip():
    revived = run_serialization_test(HighwayConnection(gate_bias=-2.0, name="hw"))
    assert revived.gate_bias == -2.0 and revived.name == "hw"


def test_keras_file_round_trip(tmp_path):
    old = keras.Input((3, 4))
    new = keras.Input((3, 4))
    model = keras.Model([old, new], HighwayConnection(gate_bias=0.5)([old, new]))
    restored = run_model_saving_test(model, [OLD, NEW], tmp_path)
    layer = [layer for layer in restored.layers if isinstance(layer, HighwayConnection)][0]
    assert layer.gate_bias == 0.5
