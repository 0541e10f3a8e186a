"""`rnnapps serve` and `rnnapps serving-config`: serve exports with TF Serving's APIs, or
write the model config that makes TF Serving serve them."""

import sys

from rnnapps.serving.limits import ServerLimits

LIMITS = ServerLimits()


def _serve(args):
    from rnnapps.serving import ServerLimits, find_model_bases, serve

    skipped = []
    bases = find_model_bases(args.model_bases, skipped)
    for path, reason in skipped:
        print(f"rnnapps serve: skipping {path}: {reason}", file=sys.stderr)
    limits = ServerLimits(
        max_body_bytes=args.max_body_bytes, max_rows=args.max_rows, max_string_bytes=args.max_string_bytes,
        max_new_tokens=args.max_new_tokens, max_pending=args.max_pending,
    )
    serve(
        bases, port=args.port, host=args.host, grpc_port=args.grpc_port, poll_seconds=args.poll_seconds,
        num_versions=args.num_versions, limits=limits, workers=args.workers, warmup=not args.no_warmup,
        demo=not args.no_demo,
        batching=None if args.no_batching else {"max_rows": args.max_batch_rows, "max_concurrent": args.batch_threads},
    )


def _serving_config(args):
    from rnnapps.serving import find_model_bases, model_config_list

    bases = find_model_bases(args.model_bases)
    sys.stdout.write(model_config_list(bases, num_versions=args.num_versions, path_prefix=args.path_prefix))


def add_parser(sub):
    serve = sub.add_parser(
        "serve",
        help="serve exports with TF Serving's REST (and gRPC) API and a demo page",
        description="Serve SavedModel exports with TF Serving's REST API (/v1/models/NAME[/versions/N][/metadata|:predict]), "
        "optionally its gRPC PredictionService, and a demo page of the four apps at /. The highest version of each "
        "model is served; new versions are picked up while running. A development and demo server: use "
        "tensorflow_model_server in production (see 'rnnapps serving-config').",
        epilog="Examples: rnnapps serve saved_models/*   |   rnnapps serve saved_models --port 8080 --grpc-port 8500   |   "
        "rnnapps serve reviews=saved_models/sentiment",
    )
    serve.add_argument("model_bases", nargs="+", metavar="MODEL_BASE", help="a model base (saved_models/NAME holding versions 1, 2, ...), "
                       "NAME=PATH to serve it under another name, or a folder of model bases; files are skipped")
    serve.add_argument("--port", type=int, default=8501, help="REST API port (default: 8501, as TF Serving)")
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1; 0.0.0.0 for all)")
    serve.add_argument("--grpc-port", type=int, help="also serve TF Serving's gRPC API on this port (TF Serving uses 8500)")
    serve.add_argument("--poll-seconds", type=float, default=1.0, help="how often to look for new versions; 0 never (default: 1)")
    serve.add_argument("--num-versions", type=int, default=1, help="serve the highest N versions of each model (default: 1)")
    serve.add_argument("--workers", type=int, default=8, help="threads running model signatures (default: 8)")
    serve.add_argument("--no-warmup", action="store_true", help="do not replay the exports' warm-up requests before serving them")
    serve.add_argument("--no-demo", action="store_true", help="serve the API only, no demo page")
    batching = serve.add_argument_group("batching (signatures with only batch-shaped inputs and outputs, e.g. the classifier's)")
    batching.add_argument("--no-batching", action="store_true", help="run every request on its own")
    batching.add_argument("--max-batch-rows", type=int, default=64, help="most rows merged into one call (default: 64)")
    batching.add_argument("--batch-threads", type=int, default=2, help="merged calls running at once (default: 2, so the next call starts while the server answers the last one)")
    limits = serve.add_argument_group("request limits (a request beyond them gets a 400)")
    limits.add_argument("--max-body-bytes", type=int, default=LIMITS.max_body_bytes, help=f"largest request body (default: {LIMITS.max_body_bytes})")
    limits.add_argument("--max-rows", type=int, default=LIMITS.max_rows, help=f"most rows (texts, prompts) per request (default: {LIMITS.max_rows})")
    limits.add_argument("--max-string-bytes", type=int, default=LIMITS.max_string_bytes, help=f"longest input string in bytes (default: {LIMITS.max_string_bytes})")
    limits.add_argument("--max-new-tokens", type=int, default=LIMITS.max_new_tokens, help=f"largest max_length a request may ask (default: {LIMITS.max_new_tokens})")
    limits.add_argument("--max-pending", type=int, default=LIMITS.max_pending, help=f"requests admitted at once; more get a 503 (default: {LIMITS.max_pending})")
    serve.set_defaults(run=_serve)

    config = sub.add_parser(
        "serving-config",
        help="print a TF Serving model_config_list for exports",
        description="Print a TF Serving model config (text format) serving every model base found, for "
        "tensorflow_model_server --model_config_file=FILE.",
        epilog="Example: rnnapps serving-config saved_models/ --path-prefix /models > models.config",
    )
    config.add_argument("model_bases", nargs="+", metavar="MODEL_BASE", help="a folder of model bases (saved_models/), model bases, or NAME=PATH")
    config.add_argument("--num-versions", type=int, default=1, help="serve the highest N versions of each model (default: 1)")
    config.add_argument("--path-prefix", help="write PREFIX/NAME as base paths (e.g. /models where a container mounts saved_models/)")
    config.set_defaults(run=_serving_config)
