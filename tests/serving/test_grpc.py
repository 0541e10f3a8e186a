"""`rnnapps serve --grpc-port`: TF Serving's PredictionService and ModelService through the
generated stubs of tensorflow-serving-api, and the example client that uses them."""

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    prediction_service_pb2_grpc,
)

from tests.test_examples import load_example

client = load_example("serving_client")
grpc_predict, rest_predict = client.grpc_predict, client.rest_predict


def test_example_client_prints_answers_over_both_protocols(server, capsys):
    client.main(["--url", server.url, "great film"])
    client.main(["--protocol", "grpc", "--target", server.grpc_target, "--model", "translator", "--signature", "translate", "--source", "one two"])
    rest_line, grpc_line = capsys.readouterr().out.strip().splitlines()
    assert '"label": [' in rest_line and '"translations": [[' in grpc_line


def test_predict_over_grpc_answers_like_rest(server):
    texts = ["what a wonderful film", ""]
    over_grpc = grpc_predict(server.grpc_target, "sentiment", {"text": texts})
    over_rest = rest_predict(server.url, "sentiment", {"text": texts})
    assert [label.decode() for label in over_grpc["label"]] == over_rest["label"]
    np.testing.assert_allclose(over_grpc["probabilities"], over_rest["probabilities"], rtol=1e-6)
    translated = grpc_predict(server.grpc_target, "translator", {"source": ["one two"], "max_length": np.int32(6)}, signature_name="translate", version=1)
    assert translated["attention"].shape[0] == 1 and translated["source_tokens"].tolist() == [[b"one", b"two"]]


def test_metadata_status_and_errors_over_grpc(server):
    with grpc.insecure_channel(server.grpc_target) as channel:
        prediction = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        request.model_spec.name = "language_model"
        response = prediction.GetModelMetadata(request, timeout=30)
        signatures = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signatures)
        assert response.model_spec.version.value == 1
        assert set(signatures.signature_def["generate"].inputs) == {"prompt", "max_length", "temperature", "top_k", "top_p", "seed"}

        status_request = get_model_status_pb2.GetModelStatusRequest()
        status_request.model_spec.name = "poetry"
        status = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(status_request, timeout=30)
        assert [(s.version, s.state) for s in status.model_version_status] == [(1, get_model_status_pb2.ModelVersionStatus.AVAILABLE)]

        with pytest.raises(grpc.RpcError) as caught:
            grpc_predict(server.grpc_target, "nope", {"text": ["a"]})
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.RpcError) as caught:
            grpc_predict(server.grpc_target, "sentiment", {"text": tf.constant([1, 2])})
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.RpcError) as caught:
            grpc_predict(server.grpc_target, "sentiment", {"text": ["x"] * 17})
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "at most 16" in caught.value.details()
