"""Request batching: concurrent calls merge into one, each caller gets its own rows and errors."""

import threading
import time

import numpy as np
import pytest
import tensorflow as tf

from rnnapps.serving.batching import Batcher, batchable
from rnnapps.serving.servable import Signature


def test_concurrent_calls_are_merged_and_split_back():
    calls = []

    def run(inputs):
        calls.append(len(inputs["x"]))
        time.sleep(0.05)  # long enough for the other callers to queue up
        if (inputs["x"] < 0).any():
            raise ValueError("negative")
        return {"y": inputs["x"] * 10, "z": np.stack([inputs["x"], inputs["x"]], axis=1)}

    batcher = Batcher(run, max_rows=8)
    results = {}

    def call(i):
        try:
            results[i] = batcher({"x": np.array([i, i + 100])})
        except ValueError as error:
            results[i] = error

    threads = [threading.Thread(target=call, args=(i,)) for i in (-1, 1, 2, 3, 4, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert isinstance(results[-1], ValueError)  # a bad call fails alone ...
    for i in (1, 2, 3, 4, 5):  # ... and the others still get their own rows
        assert results[i]["y"].tolist() == [i * 10, (i + 100) * 10]
        assert results[i]["z"].shape == (2, 2)
    assert max(calls) > 2 and max(calls) <= 8  # merged, within max_rows
    assert batcher({"x": np.zeros([0], int)})["y"].shape == (0,)


@pytest.mark.parametrize("inputs, outputs, expected", [
    ({"text": [None]}, {"p": [None, 3], "label": [None]}, True),
    ({"text": [None], "max_length": []}, {"p": [None]}, False),
    ({"text": [None]}, {"tokens": [None, None]}, False),
])
def test_only_row_shaped_signatures_are_batchable(inputs, outputs, expected):
    class Fake:
        structured_input_signature = ((), {k: tf.TensorSpec(v, tf.string) for k, v in inputs.items()})
        structured_outputs = {k: tf.TensorSpec(v, tf.float32) for k, v in outputs.items()}

    assert batchable(Signature("s", Fake())) is expected
