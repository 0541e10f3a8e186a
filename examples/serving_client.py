"""Clients of a served rnnapps export: REST with the standard library, gRPC with
tensorflow-serving-api's generated stubs. They work unchanged against `rnnapps serve`
and against TF Serving (`tensorflow_model_server`).

    rnnapps serve saved_models/* --grpc-port 8500          # or TF Serving, see README.md
    python examples/serving_client.py "what a film" "dull and long"
    python examples/serving_client.py --protocol grpc --model sentiment "what a film"
    python examples/serving_client.py --model translator --signature translate --source "I am cold."

REST sends `{"signature_name": ..., "inputs": {...}}` to `/v1/models/<model>:predict`; gRPC
sends a `PredictRequest` to `PredictionService/Predict`. Both print the outputs as JSON.
"""

import argparse
import json
import urllib.error
import urllib.request


def rest_predict(url, model, inputs, signature_name="serving_default", version=None, timeout=60):
    """POSTs a columnar predict request; returns the `outputs` object.

    Raises:
        RuntimeError: with the server's `{"error": ...}` message on an HTTP error.

    Example:
        >>> rest_predict("http://localhost:8501", "sentiment", {"text": ["great"]})["label"]  # doctest: +SKIP
        ['positive']
    """
    path = f"/v1/models/{model}" + (f"/versions/{version}" if version else "") + ":predict"
    body = json.dumps({"signature_name": signature_name, "inputs": inputs}).encode("utf-8")
    request = urllib.request.Request(url.rstrip("/") + path, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            outputs = json.loads(response.read())["outputs"]
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"HTTP {error.code}: {json.loads(error.read()).get('error')}") from None
    # A signature with one output gets it unnamed (TF Serving's rule); name it again.
    return outputs if isinstance(outputs, dict) else {"output": outputs}


def grpc_predict(target, model, inputs, signature_name="serving_default", version=None, timeout=60):
    """Calls PredictionService/Predict over gRPC; returns `{output: numpy array}`.

    `inputs` maps names to lists/arrays/scalars; each becomes a TensorProto of its numpy
    dtype, so pass numpy scalars for typed knobs (`np.int32(20)` for an int32 input).

    Example:
        >>> grpc_predict("localhost:8500", "sentiment", {"text": ["great"]})["label"]  # doctest: +SKIP
        array([b'positive'], dtype=object)
    """
    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = signature_name
    if version:
        request.model_spec.version.value = int(version)
    for key, value in inputs.items():
        request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
    with grpc.insecure_channel(target) as channel:
        response = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=timeout)
    return {key: tf.make_ndarray(proto) for key, proto in response.outputs.items()}


def _jsonable(value):
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("texts", nargs="*", help="texts for the model's string input (default: a sample)")
    parser.add_argument("--protocol", choices=("rest", "grpc"), default="rest")
    parser.add_argument("--url", default="http://localhost:8501", help="REST base URL (default: http://localhost:8501)")
    parser.add_argument("--target", default="localhost:8500", help="gRPC host:port (default: localhost:8500)")
    parser.add_argument("--model", default="sentiment", help="model name (default: sentiment)")
    parser.add_argument("--signature", default="serving_default", help="signature name (default: serving_default)")
    parser.add_argument("--input", default=None, help="name of the string input (default: text, or source/prompt for those models)")
    parser.add_argument("--max-length", type=int, help="add a max_length input (translate/greedy/generate signatures)")
    parser.add_argument("--source", action="append", default=[], help="a source sentence (translator), repeatable")
    parser.add_argument("--version", type=int, help="ask for this model version")
    args = parser.parse_args(argv)

    texts = args.texts + args.source or ["what a wonderful film"]
    name = args.input or ("source" if args.source or args.model.startswith("transl") else "prompt" if args.model in ("language_model", "poetry") else "text")
    inputs = {name: texts}
    if args.max_length is not None or args.signature in ("translate", "greedy"):
        import numpy as np

        length = args.max_length if args.max_length is not None else 50
        inputs["max_length"] = np.int32(length) if args.protocol == "grpc" else length
    if args.protocol == "rest":
        outputs = rest_predict(args.url, args.model, inputs, args.signature, args.version)
    else:
        outputs = grpc_predict(args.target, args.model, inputs, args.signature, args.version)
    print(json.dumps({key: _jsonable(value) for key, value in sorted(outputs.items())}, ensure_ascii=False))


if __name__ == "__main__":
    main()
