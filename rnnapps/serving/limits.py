"""Bounds on what one request to `rnnapps serve` may ask, so no request can exhaust the
server: a request beyond them fails with a 400 and a message naming the limit.

The defaults match the request limits of the exports (`max_batch` rows, 10 000 new
tokens); TF Serving itself has no such checks, so a client that stays within them works
against both servers.

Example:
    >>> ServerLimits(max_rows=8).max_rows
    8
"""

import dataclasses

from rnnapps.checks import check_int_fields

# Integer inputs that ask for output tokens; their value is bounded by max_new_tokens.
TOKEN_COUNT_INPUTS = ("max_length",)


@dataclasses.dataclass(frozen=True)
class ServerLimits:
    """Per-request limits of the development server.

    Args:
        max_body_bytes: largest request body (JSON) accepted.
        max_rows: largest first dimension (batch) of any input tensor.
        max_string_bytes: longest string value (UTF-8 bytes) of any input.
        max_values: most values (all inputs together) in one request.
        max_new_tokens: largest `max_length` a request may ask for.
        max_pending: requests admitted at once (running or waiting); more get a 503.
    """

    max_body_bytes: int = 1 << 20
    max_rows: int = 256
    max_string_bytes: int = 1 << 16
    max_values: int = 100_000
    max_new_tokens: int = 10_000
    max_pending: int = 128

    def __post_init__(self):
        check_int_fields(self)


def check_request(inputs, limits):
    """Raises a 400 `ServingError` naming the limit a decoded request exceeds.

    Example:
        >>> import numpy as np
        >>> check_request({"max_length": np.int32(50)}, ServerLimits())
    """
    import numpy as np

    from rnnapps.serving.errors import invalid

    values = 0
    for name, array in inputs.items():
        array = np.asarray(array)
        values += array.size
        if array.ndim and array.shape[0] > limits.max_rows:
            raise invalid(f"input {name!r} has {array.shape[0]} rows; this server takes at most {limits.max_rows} per request: split the request")
        if array.dtype == object and array.size:
            longest = max(len(item) for item in array.ravel())
            if longest > limits.max_string_bytes:
                raise invalid(f"input {name!r} holds a string of {longest} bytes; this server takes at most {limits.max_string_bytes}")
        if name in TOKEN_COUNT_INPUTS and array.size and array.dtype.kind in "iu" and int(array.max()) > limits.max_new_tokens:
            raise invalid(f"{name} is {int(array.max())}; this server generates at most {limits.max_new_tokens} tokens per request")
    if values > limits.max_values:
        raise invalid(f"the request holds {values} values; this server takes at most {limits.max_values}")
