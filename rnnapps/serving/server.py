"""`serve()`: the registry, the REST app and the optional gRPC server, run together.

Example:
    >>> serve({"sentiment": "saved_models/sentiment"}, port=8501, grpc_port=8500)  # doctest: +SKIP
"""

import sys

from rnnapps.errors import ConfigError
from rnnapps.serving.grpc_service import start_grpc_server
from rnnapps.serving.limits import ServerLimits
from rnnapps.serving.registry import ModelRegistry

INSTALL_HINT = 'rnnapps serve needs starlette and uvicorn: pip install "rnnapps[serve]"'


def serve(bases, port=8501, host="127.0.0.1", grpc_port=None, poll_seconds=1.0, num_versions=1,
          limits=None, workers=8, warmup=True, demo=True, batching=None):
    """Serves the model bases `{name: path}` until interrupted (Ctrl-C or SIGTERM).

    Args:
        port, host: where the REST API (and the demo page) listen.
        grpc_port: also serve TF Serving's gRPC API there (None: no gRPC).
        poll_seconds: how often the model bases are scanned for new versions (0: never).
        num_versions: serve the highest N versions of each model.
        limits: `ServerLimits` for every request (REST and gRPC).
        workers: threads running signatures (per protocol).
        warmup: replay each version's warm-up requests before serving it.
        demo: serve the demo page at `/`.
        batching: `{"max_rows", "max_concurrent"}` to merge concurrent requests to batchable
            signatures (`rnnapps.serving.batching`), or None.
    """
    try:
        import uvicorn

        from rnnapps.serving.rest import create_app
    except ImportError as error:
        raise ConfigError(f"{INSTALL_HINT} ({error})") from None

    limits = limits or ServerLimits()
    registry = ModelRegistry(bases, num_versions=num_versions, warmup=warmup, batching=batching).start(poll_seconds)
    grpc_server = None
    try:
        if grpc_port is not None:
            grpc_server = start_grpc_server(registry, grpc_port, host=host, limits=limits, workers=workers)
        app = create_app(registry, limits=limits, workers=workers, demo=demo)
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        print(f"rnnapps serve: REST API on http://{host}:{port}/v1/models/<name>"
              + (f", demo page on http://{host}:{port}/" if demo else "")
              + (f", gRPC on {host}:{grpc_port}" if grpc_port is not None else "")
              + f"; models: {', '.join(sorted(bases))}", file=sys.stderr, flush=True)
        uvicorn.Server(config).run()
    finally:
        if grpc_server is not None:
            grpc_server.stop(grace=None)
        registry.stop()
