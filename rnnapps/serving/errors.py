"""Errors of the model server, with TF Serving's status codes.

A `ServingError` carries one of the canonical status codes TF Serving (and gRPC) use;
the REST layer turns it into `{"error": message}` with the HTTP status TF Serving gives
that code, the gRPC layer into the same gRPC status. So a client sees the same failure
from `rnnapps serve` as from `tensorflow_model_server`.

Example:
    >>> error = ServingError("NOT_FOUND", "no model named x")
    >>> error.http_status, str(error)
    (404, 'no model named x')
"""

import re

from rnnapps.errors import RnnappsError

# Canonical code -> HTTP status, as TF Serving's REST server maps them.
HTTP_STATUS = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "NOT_FOUND": 404,
    "RESOURCE_EXHAUSTED": 429,
    "INTERNAL": 500,
    "UNKNOWN": 500,
    "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}


class ServingError(RnnappsError):
    """A request failed; `code` is a canonical status name such as "INVALID_ARGUMENT"."""

    def __init__(self, code, message):
        if code not in HTTP_STATUS:
            raise ValueError(f"unknown status code {code!r}")
        super().__init__(message)
        self.code = code

    @property
    def http_status(self):
        return HTTP_STATUS[self.code]


def invalid(message):
    """A `ServingError` for a malformed or out-of-limits request (HTTP 400)."""
    return ServingError("INVALID_ARGUMENT", message)


def from_tensorflow(error):
    """A `ServingError` for an error TensorFlow raised while running a signature.

    Graph-side checks of the exports (an unknown poem form, too many rows) raise
    `InvalidArgumentError`: the request was wrong, so it is a 400 like in TF Serving.
    """
    import tensorflow as tf

    code = {
        tf.errors.InvalidArgumentError: "INVALID_ARGUMENT",
        tf.errors.OutOfRangeError: "OUT_OF_RANGE",
        tf.errors.ResourceExhaustedError: "RESOURCE_EXHAUSTED",
        tf.errors.FailedPreconditionError: "FAILED_PRECONDITION",
        tf.errors.UnimplementedError: "UNIMPLEMENTED",
    }.get(type(error), "INTERNAL")
    message = getattr(error, "message", None) or str(error)
    return ServingError(code, _what_went_wrong(message))


def _what_went_wrong(message):
    """The part of a TF runtime error that describes the failure: without the "Graph
    execution error" header, the node's (unavailable) stack trace and the op annotations.

    Example:
        >>> _what_went_wrong("Graph execution error:\\n\\nDetected at node A:\\n<stack traces unavailable>\\n"
        ...                  "assertion failed: [bad form]\\n\\t [[{{node A}}]] [Op:f]")
        'assertion failed: [bad form]'
    """
    lines = [line.strip() for line in message.split("\n")]
    kept = [
        line for line in lines
        if line and line != "Graph execution error:" and not line.startswith(("Detected at node", "<stack traces", "[[", "File "))
    ]
    text = " ".join(kept) or message.strip()
    return re.sub(r"\s*\[Op:[^\]]*\]$", "", re.sub(r"\s*\[\[\{\{node [^}]*\}\}\]\]", "", text)).strip()
