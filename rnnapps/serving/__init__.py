"""A development and demo server for rnnapps exports with TF Serving's APIs.

`rnnapps serve saved_models/*` answers the REST API of `tensorflow_model_server`
(`/v1/models/<name>[/versions/<v>][/metadata|:predict]`), optionally its gRPC
`PredictionService`, and shows a demo page of the four apps at `/`. A client written
against it works unchanged against TF Serving, which is the production server: this one
is for laptops, notebooks and demos (one process, no request batching).

Modules: `registry` (versions and polling), `servable` (one loaded version),
`json_tensors` (the REST JSON encoding), `rest` (starlette app), `grpc_service`,
`limits`, `errors`, `config` (model bases, `model_config_list`), `server` (`serve()`).

Example:
    >>> from rnnapps.serving import serve
    >>> serve({"sentiment": "saved_models/sentiment"}, port=8501)  # doctest: +SKIP
"""

from rnnapps.serving.config import find_model_bases, model_config_list
from rnnapps.serving.errors import ServingError
from rnnapps.serving.limits import ServerLimits
from rnnapps.serving.server import serve

__all__ = ["ServerLimits", "ServingError", "find_model_bases", "model_config_list", "serve"]
