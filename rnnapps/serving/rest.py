"""The REST side of `rnnapps serve`: TF Serving's HTTP API on starlette, plus the demo page.

Routes (as `tensorflow_model_server --rest_api_port` has them, case-insensitive):
- `GET /v1/models/<name>[/versions/<v>]`: version status (`GetModelStatusResponse` JSON);
- `GET /v1/models/<name>[/versions/<v>]/metadata`: the signatures (`GetModelMetadataResponse` JSON);
- `POST /v1/models/<name>[/versions/<v>]:predict`: `{"signature_name", "instances" | "inputs"}`;
- errors: `{"error": message}` with TF Serving's HTTP status for the error's code.
Not part of TF Serving: `GET /` (the demo page), `/static/...` (its files) and
`GET /demo/models.json` (served models and their apps, so the page can fill itself in).

Every response carries permissive CORS headers (a page on another origin may call the
API, like TF Serving with `--rest_api_enable_cors_support`). Parsing, the signature call
and the JSON encoding of a predict request run in a thread pool, never on the event loop.

Example:
    >>> app = create_app(ModelRegistry({"sentiment": "saved_models/sentiment"}).start())  # doctest: +SKIP
    >>> import uvicorn; uvicorn.run(app, port=8501)                                        # doctest: +SKIP
"""

import asyncio
import contextlib
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor

from starlette.applications import Starlette
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from rnnapps.serving.errors import ServingError, invalid
from rnnapps.serving.json_tensors import format_predict, parse_predict
from rnnapps.serving.limits import ServerLimits, check_request

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
PREDICT_PATH = re.compile(r"/v1/models/([^/:]+)(?:/versions/(\d+)|/labels/([^/:]+))?:(classify|regress|predict)", re.I)
STATUS_PATH = re.compile(r"/v1/models(?:/([^/:]+))?(?:/versions/(\d+)|/labels/([^/:]+))?(?:/(metadata))?", re.I)
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, GET",
    "Access-Control-Allow-Headers": "Content-Type",
}


def json_response(payload, status=200):
    body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status_code=status, media_type="application/json", headers=CORS_HEADERS)


def error_response(error):
    return json_response({"error": str(error)}, error.http_status)


def _proto_json(message, preserve_names=True):
    from google.protobuf import json_format

    return json_format.MessageToDict(
        message, always_print_fields_with_no_presence=True, preserving_proto_field_name=preserve_names
    )


def predict_json(registry, limits, name, version, body):
    """A predict request body (bytes) -> the response body (bytes); runs in a worker thread."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise invalid(f"the request body is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise invalid("the request body must be a JSON object with 'instances' or 'inputs'")
    signature_name = document.get("signature_name", "")
    if not isinstance(signature_name, str):
        raise invalid("'signature_name' must be a string")
    servable = registry.get(name, version)
    signature = servable.signature(signature_name)
    inputs, request_format = parse_predict(document, signature.inputs)
    check_request(inputs, limits)
    outputs = servable.predict(signature.name, inputs)
    payload = format_predict(outputs, request_format)
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def metadata_json(servable):
    """TF Serving's metadata response (model spec + `signature_def` map) as a dict."""
    return {
        "model_spec": {"name": servable.name, "signature_name": "", "version": str(servable.version)},
        "metadata": {"signature_def": _proto_json(servable.signature_def_map())},
    }


def demo_models(registry):
    """What the demo page needs to fill itself in: served models, their app and signatures."""
    models = []
    for name in registry.names():
        try:
            servable = registry.get(name)
        except ServingError:
            continue
        app = ""
        try:
            with open(os.path.join(servable.path, "assets.extra", "rnnapps.json"), encoding="utf-8") as handle:
                app = json.load(handle).get("app", "")
        except (OSError, ValueError):
            pass  # an export made elsewhere: the page guesses the app from its signatures
        models.append({"name": name, "version": servable.version, "app": app, "signatures": sorted(servable.signatures)})
    return {"models": models}


def create_app(registry, limits=None, workers=8, demo=True):
    """The starlette app serving `registry` (a started `ModelRegistry`).

    Args:
        limits: `ServerLimits` (defaults if None).
        workers: threads that run signatures (TF releases the GIL while a graph runs).
        demo: also serve the demo page at `/`.
    """
    limits = limits or ServerLimits()
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rnnapps-serve")
    state = {"pending": 0}

    async def read_body(request):
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limits.max_body_bytes:
            raise invalid(f"the request body has {declared} bytes; this server takes at most {limits.max_body_bytes}")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limits.max_body_bytes:
                raise invalid(f"the request body exceeds {limits.max_body_bytes} bytes, the most this server takes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def api(request):
        path = request.url.path
        try:
            if request.method == "OPTIONS":  # CORS preflight
                return Response(status_code=200, headers=CORS_HEADERS)
            if request.method == "POST":
                match = PREDICT_PATH.fullmatch(path)
                if not match:
                    raise invalid(f"Malformed request: POST {path}")
                name, version, label, method = match.groups()
                if label is not None:
                    raise ServingError("NOT_FOUND", f"version labels are not supported by rnnapps serve: use /versions/<n> (got label {label!r})")
                if method.lower() != "predict":
                    raise ServingError("UNIMPLEMENTED", f":{method} is not implemented by rnnapps serve (rnnapps exports have predict signatures): use :predict")
                body = await read_body(request)
                if state["pending"] >= limits.max_pending:
                    raise ServingError("UNAVAILABLE", f"the server is busy ({limits.max_pending} requests pending): retry later")
                state["pending"] += 1
                try:
                    loop = asyncio.get_running_loop()
                    payload = await loop.run_in_executor(executor, predict_json, registry, limits, name, version, body)
                finally:
                    state["pending"] -= 1
                return json_response(payload)
            match = STATUS_PATH.fullmatch(path)
            if not match:
                raise invalid(f"Malformed request: GET {path}")
            name, version, label, metadata = match.groups()
            if not name:
                raise invalid("Missing model name in request.")
            if label is not None:
                raise ServingError("NOT_FOUND", f"version labels are not supported by rnnapps serve: use /versions/<n> (got label {label!r})")
            if metadata:
                return json_response(metadata_json(registry.get(name, version)))
            return json_response(_proto_json(registry.status(name, version)))
        except ServingError as error:
            return error_response(error)

    async def index(request):
        return FileResponse(os.path.join(STATIC_DIR, "index.html"))

    async def models(request):
        return json_response(demo_models(registry))

    routes = [Route("/v1/{rest:path}", api, methods=["GET", "POST", "OPTIONS"])]
    if demo:
        routes += [
            Route("/", index),
            Route("/demo/models.json", models),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        ]
    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        executor.shutdown(wait=False)

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.registry = registry
    return app
