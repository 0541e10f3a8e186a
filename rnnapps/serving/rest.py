"""The REST side of `rnnapps serve`: TF Serving's HTTP API on starlette, plus the demo page.

Routes (as `tensorflow_model_server --rest_api_port` has them, case-insensitive):
- `GET /v1/models/<name>[/versions/<v>]`: version status (`GetModelStatusResponse` JSON);
- `GET /v1/models/<name>[/versions/<v>]/metadata`: the signatures (`GetModelMetadataResponse` JSON);
- `POST /v1/models/<name>[/versions/<v>]:predict`: `{"signature_name", "instances" | "inputs"}`;
- errors: `{"error": message}` with TF Serving's HTTP status for the error's code.
Not part of TF Serving: `GET /` (the demo page), `/static/...` (its files) and
`GET /demo/models.json` (served models and their apps, so the page can fill itself in).

Every response carries permissive CORS headers (a page on another origin may call the
API, like TF Serving with `--rest_api_enable_cors_support`). Signatures run in a thread pool,
never on the event loop. A small predict body (16 KiB at most) is decoded on the loop and, if
its signature is batchable, joins an `AsyncBatcher` that merges concurrent requests into one
call (one thread hop per merged call); larger bodies are decoded and encoded in the pool too.

Example:
    >>> app = create_app(ModelRegistry({"sentiment": "saved_models/sentiment"}).start())  # doctest: +SKIP
    >>> import uvicorn; uvicorn.run(app, port=8501)                                        # doctest: +SKIP
"""

import asyncio
import contextlib
import functools
import json
import os
import re
import traceback
import weakref
from concurrent.futures import ThreadPoolExecutor

from starlette.applications import Starlette
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from rnnapps.serving.batching import AsyncBatcher
from rnnapps.serving.errors import ServingError, invalid
from rnnapps.serving.json_tensors import format_predict, parse_predict
from rnnapps.serving.limits import ServerLimits, check_request

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
PREDICT_PATH = re.compile(r"/v1/models/([^/:]+)(?:/versions/(\d+)|/labels/([^/:]+))?:(classify|regress|predict)", re.I)
STATUS_PATH = re.compile(r"/v1/models(?:/([^/:]+))?(?:/versions/(\d+)|/labels/([^/:]+))?(?:/(metadata))?", re.I)
# Bodies up to this size are decoded on the event loop (a few microseconds for a short text),
# so a batchable request reaches its batch without a thread hop; larger ones in a worker thread.
ON_LOOP_BODY_BYTES = 16 * 1024
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, GET",
    "Access-Control-Allow-Headers": "Content-Type",
}
RAW_HEADERS = [(b"content-type", b"application/json")] + [
    (key.lower().encode("latin-1"), value.encode("latin-1")) for key, value in CORS_HEADERS.items()
]


def json_response(payload, status=200):
    body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status_code=status, media_type="application/json", headers=CORS_HEADERS)


def error_body(error):
    return json.dumps({"error": str(error)}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def error_response(error):
    return json_response(error_body(error), error.http_status)


class PredictFastPath:
    """The ASGI app: `POST /v1/...` straight to `post(path, chunks, content length)`, the
    rest to the starlette app. Predict requests are the hot path; skipping starlette's
    middleware, request and response objects saves about a fifth of the event loop's time
    per request (measured with the signature call stubbed out), and the answers are the same.
    """

    def __init__(self, post, app):
        self._post = post
        self.app = app
        self.state = app.state

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith("/v1/"):
            return await self.app(scope, receive, send)
        declared = next((value.decode("latin-1") for key, value in scope["headers"] if key == b"content-length"), None)
        try:
            status, body = await self._post(scope["path"], _body_chunks(receive), declared)
        except _Disconnected:
            return
        except Exception as error:  # noqa: BLE001 - answered as TF Serving would, and logged
            traceback.print_exc()
            status, body = 500, error_body(ServingError("INTERNAL", f"{type(error).__name__}: {error}"))
        headers = RAW_HEADERS + [(b"content-length", str(len(body)).encode("latin-1"))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class _Disconnected(Exception):
    pass


async def _body_chunks(receive):
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


def _proto_json(message, preserve_names=True):
    from google.protobuf import json_format

    return json_format.MessageToDict(
        message, always_print_fields_with_no_presence=True, preserving_proto_field_name=preserve_names
    )


def decode_predict(registry, limits, name, version, body):
    """A predict request body (bytes) -> (servable, signature, inputs, request format)."""
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
    signature.check(inputs)
    return servable, signature, inputs, request_format


def encode_predict(outputs, request_format):
    return json.dumps(format_predict(outputs, request_format), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def predict_json(registry, limits, name, version, body):
    """A predict request body (bytes) -> the response body (bytes); runs in a worker thread."""
    servable, signature, inputs, request_format = decode_predict(registry, limits, name, version, body)
    return encode_predict(servable.predict_checked(signature, inputs), request_format)


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
    async_batchers = weakref.WeakKeyDictionary()  # servable -> {signature name: AsyncBatcher}

    async def read_body(chunks, declared):
        """The body from the async iterator `chunks`, refused early when it is too large."""
        if declared and declared.isdigit() and int(declared) > limits.max_body_bytes:
            raise invalid(f"the request body has {declared} bytes; this server takes at most {limits.max_body_bytes}")
        parts, size = [], 0
        async for chunk in chunks:
            size += len(chunk)
            if size > limits.max_body_bytes:
                raise invalid(f"the request body exceeds {limits.max_body_bytes} bytes, the most this server takes")
            parts.append(chunk)
        return b"".join(parts)

    async def predict(name, version, body):
        loop = asyncio.get_running_loop()
        if len(body) > ON_LOOP_BODY_BYTES:  # decoding a large body would stall the other requests
            return await loop.run_in_executor(executor, predict_json, registry, limits, name, version, body)
        servable, signature, inputs, request_format = decode_predict(registry, limits, name, version, body)
        batcher = async_batcher(servable, signature)
        if batcher is None:
            return await loop.run_in_executor(executor, lambda: encode_predict(servable.predict_checked(signature, inputs), request_format))
        return encode_predict(await batcher(inputs), request_format)

    def async_batcher(servable, signature):
        """The servable's `AsyncBatcher` for `signature` (made on first use), or None."""
        if servable.batching is None or not signature.batchable:
            return None
        batchers = async_batchers.setdefault(servable, {})
        if signature.name not in batchers:
            run = functools.partial(servable.run_signature, signature)
            batchers[signature.name] = AsyncBatcher(run, executor, **servable.batching)
        return batchers[signature.name]

    async def post(path, chunks, declared):
        """Answers `POST path` (a predict request): (HTTP status, JSON body bytes)."""
        try:
            match = PREDICT_PATH.fullmatch(path)
            if not match:
                raise invalid(f"Malformed request: POST {path}")
            name, version, label, method = match.groups()
            if label is not None:
                raise ServingError("NOT_FOUND", f"version labels are not supported by rnnapps serve: use /versions/<n> (got label {label!r})")
            if method.lower() != "predict":
                raise ServingError("UNIMPLEMENTED", f":{method} is not implemented by rnnapps serve (rnnapps exports have predict signatures): use :predict")
            body = await read_body(chunks, declared)
            if state["pending"] >= limits.max_pending:
                raise ServingError("UNAVAILABLE", f"the server is busy ({limits.max_pending} requests pending): retry later")
            state["pending"] += 1
            try:
                return 200, await predict(name, version, body)
            finally:
                state["pending"] -= 1
        except ServingError as error:
            return error.http_status, error_body(error)

    async def api(request):
        path = request.url.path
        try:
            if request.method == "OPTIONS":  # CORS preflight
                return Response(status_code=200, headers=CORS_HEADERS)
            if request.method == "POST":
                status, body = await post(path, request.stream(), request.headers.get("content-length"))
                return json_response(body, status)
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

    starlette_app = Starlette(routes=routes, lifespan=lifespan)
    starlette_app.state.registry = registry
    return PredictFastPath(post, starlette_app)
