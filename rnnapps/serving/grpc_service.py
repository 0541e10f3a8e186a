"""The gRPC side of `rnnapps serve --grpc-port`: TF Serving's `PredictionService` (Predict,
GetModelMetadata) and `ModelService` (GetModelStatus), on the stubs generated in
`tensorflow-serving-api`, so a `PredictionServiceStub` client talks to it unchanged.

Example:
    >>> server = start_grpc_server(registry, port=8500)  # doctest: +SKIP
    >>> server.stop(grace=None)                          # doctest: +SKIP
"""

from concurrent.futures import ThreadPoolExecutor

from rnnapps.serving.errors import ServingError, invalid
from rnnapps.serving.limits import ServerLimits, check_request


def _services(registry, limits):
    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import (
        get_model_metadata_pb2,
        model_service_pb2_grpc,
        predict_pb2,
        prediction_service_pb2_grpc,
    )

    def version_of(spec):
        if spec.version_label:
            raise ServingError("NOT_FOUND", f"version labels are not supported by rnnapps serve (got {spec.version_label!r})")
        return spec.version.value if spec.HasField("version") else None

    def answer(context, work):
        try:
            return work()
        except ServingError as error:
            context.abort(getattr(grpc.StatusCode, error.code), str(error))

    class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):
            def work():
                servable = registry.get(request.model_spec.name, version_of(request.model_spec))
                signature = servable.signature(request.model_spec.signature_name)
                try:
                    inputs = {key: tf.make_ndarray(proto) for key, proto in request.inputs.items()}
                except (TypeError, ValueError) as error:
                    raise invalid(f"an input tensor cannot be read: {error}") from None
                check_request(inputs, limits)
                outputs = servable.predict(signature.name, inputs, tuple(request.output_filter))
                response = predict_pb2.PredictResponse()
                response.model_spec.name = servable.name
                response.model_spec.version.value = servable.version
                response.model_spec.signature_name = signature.name
                for key, value in outputs.items():
                    response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
                return response

            return answer(context, work)

        def GetModelMetadata(self, request, context):
            def work():
                fields = list(request.metadata_field)
                if fields != ["signature_def"]:
                    raise invalid(f"metadata_field must be ['signature_def'] (the only metadata served), got {fields}")
                servable = registry.get(request.model_spec.name, version_of(request.model_spec))
                response = get_model_metadata_pb2.GetModelMetadataResponse()
                response.model_spec.name = servable.name
                response.model_spec.version.value = servable.version
                response.metadata["signature_def"].Pack(servable.signature_def_map())
                return response

            return answer(context, work)

    class ModelService(model_service_pb2_grpc.ModelServiceServicer):
        def GetModelStatus(self, request, context):
            return answer(context, lambda: registry.status(request.model_spec.name, version_of(request.model_spec)))

    return (
        (prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server, PredictionService()),
        (model_service_pb2_grpc.add_ModelServiceServicer_to_server, ModelService()),
    )


def start_grpc_server(registry, port, host="127.0.0.1", limits=None, workers=8):
    """Starts a gRPC server for `registry` on `host:port`; returns it (call `.stop(None)`)."""
    import grpc

    limits = limits or ServerLimits()
    options = [("grpc.max_receive_message_length", limits.max_body_bytes), ("grpc.max_send_message_length", 64 << 20)]
    server = grpc.server(ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rnnapps-grpc"), options=options)
    for add, service in _services(registry, limits):
        add(service, server)
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError:  # newer grpcio raises where older returned 0
        bound = 0
    if bound == 0:
        raise ServingError("UNAVAILABLE", f"cannot listen on {host}:{port} for gRPC (port in use?)")
    server.start()
    return server
