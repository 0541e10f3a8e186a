"""TF Serving's JSON tensor encoding: both request formats, b64, dtypes, shapes, responses."""

import numpy as np
import pytest
import tensorflow as tf

from rnnapps.serving.errors import ServingError
from rnnapps.serving.json_tensors import COLUMNAR, ROW, format_predict, parse_predict

KNOBS = {"prompt": tf.TensorSpec([None], tf.string), "max_length": tf.TensorSpec([], tf.int32),
         "temperature": tf.TensorSpec([], tf.float32), "rhyme": tf.TensorSpec([], tf.bool)}


def test_row_and_columnar_requests():
    specs = {"text": tf.TensorSpec([None], tf.string)}
    inputs, form = parse_predict({"instances": ["é", {"b64": "/w=="}]}, specs)
    assert form == ROW and inputs["text"].tolist() == ["é".encode(), b"\xff"]
    inputs, form = parse_predict({"inputs": {"prompt": ["a", "b"], "max_length": 5, "temperature": 1, "rhyme": True}}, KNOBS)
    assert form == COLUMNAR and inputs["max_length"].dtype == np.int32 and inputs["max_length"].shape == ()
    assert inputs["temperature"].dtype == np.float32 and inputs["rhyme"].item() is True
    pairs = {"a": tf.TensorSpec([None, 2], tf.float32), "b": tf.TensorSpec([None], tf.int64)}
    inputs, _ = parse_predict({"instances": [{"a": [1, 2], "b": 3}, {"a": [4, float("nan")], "b": 5}]}, pairs)
    assert inputs["a"].shape == (2, 2) and np.isnan(inputs["a"][1, 1]) and inputs["b"].tolist() == [3, 5]


@pytest.mark.parametrize("body, message", [
    ([], "JSON object"),
    ({}, "needs 'instances'"),
    ({"instances": "a"}, "must be a list"),
    ({"instances": ["a"]}, "several inputs"),
    ({"instances": [{"prompt": "a"}]}, "needs exactly"),
    ({"inputs": ["a"]}, "several inputs"),
    ({"inputs": {"prompt": ["a"], "max_length": 1.5, "temperature": 1, "rhyme": True}}, "holds integers"),
    ({"inputs": {"prompt": ["a"], "max_length": True, "temperature": 1, "rhyme": True}}, "holds numbers"),
    ({"inputs": {"prompt": ["a"], "max_length": 1, "temperature": 1, "rhyme": 1}}, "booleans"),
    ({"inputs": {"prompt": [{"b64": "%%"}], "max_length": 1, "temperature": 1, "rhyme": True}}, "base64"),
    ({"inputs": {"prompt": ["a"], "max_length": 1, "temperature": 1, "rhyme": True, "top_k": 3}}, "unknown ['top_k']"),
])
def test_malformed_requests_are_invalid_arguments(body, message):
    with pytest.raises(ServingError) as caught:
        parse_predict(body, KNOBS)
    assert caught.value.code == "INVALID_ARGUMENT" and caught.value.http_status == 400 and message in str(caught.value)


def test_responses():
    outputs = {"label": np.array([b"pos", b"neg"], dtype=object), "p": np.array([[0.5, np.inf], [1, 0]], np.float32),
               "raw_bytes": np.array([b"\xff", b"a"], dtype=object)}
    rows = format_predict(outputs, ROW)["predictions"]
    assert rows[0] == {"label": "pos", "p": [0.5, float("inf")], "raw_bytes": {"b64": "/w=="}}
    assert format_predict({"label": outputs["label"]}, COLUMNAR) == {"outputs": ["pos", "neg"]}
    with pytest.raises(ServingError, match="different batch sizes"):
        format_predict({"a": np.zeros([2]), "b": np.zeros([3])}, ROW)
