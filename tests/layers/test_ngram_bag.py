"""`SplitNgramIds` and `StackHeads`: values, shapes and round trips."""

import keras
import numpy as np
import pytest

from rnnapps.layers import SplitNgramIds, StackHeads
from tests.helpers import run_serialization_test


def numpy_of(x):
    return keras.ops.convert_to_numpy(x)


def test_split_separates_token_prefix_and_renumbered_ngrams():
    ids = np.array([[2, 3, 5, 7, 0], [4, 6, 9, 0, 0], [1, 0, 0, 0, 0]], dtype="int32")
    tokens, grams = SplitNgramIds(5)(ids)
    np.testing.assert_array_equal(numpy_of(tokens), [[2, 3], [4, 0], [1, 0]])  # cut to the longest prefix
    np.testing.assert_array_equal(numpy_of(grams), [[0, 0, 1, 3, 0], [0, 2, 5, 0, 0], [0, 0, 0, 0, 0]])


def test_split_keeps_one_step_for_rows_without_tokens():
    tokens, grams = SplitNgramIds(5)(np.array([[6, 7], [0, 0]], dtype="int32"))
    assert numpy_of(tokens).shape == (2, 1)
    np.testing.assert_array_equal(numpy_of(grams), [[2, 3], [0, 0]])


def test_split_round_trips(tmp_path):
    layer = SplitNgramIds(5)
    assert run_serialization_test(layer).vocabulary_size == 5
    inputs = keras.Input((None,), dtype="int32")
    tokens, grams = layer(inputs)
    model = keras.Model(inputs, [tokens, grams])
    model.save(tmp_path / "split.keras")
    again = keras.saving.load_model(tmp_path / "split.keras")
    ids = np.array([[2, 9, 0]], dtype="int32")
    for a, b in zip(again.predict(ids, verbose=0), model.predict(ids, verbose=0)):
        np.testing.assert_array_equal(a, b)


def test_stack_heads(tmp_path):
    heads = [np.zeros((2, 3), "float32"), np.ones((2, 3), "float32")]
    stacked = numpy_of(StackHeads(["a", "b"])(heads))
    assert stacked.shape == (2, 2, 3) and stacked[:, 1].min() == 1.0
    assert run_serialization_test(StackHeads(["a", "b"])).head_names == ["a", "b"]
    with pytest.raises(ValueError, match="distinct"):
        StackHeads(["a", "a"])
    with pytest.raises(ValueError, match="2 heads"):
        StackHeads(["a", "b"])(heads[:1])
