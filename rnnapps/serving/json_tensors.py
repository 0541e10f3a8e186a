"""TF Serving's JSON encoding of tensors for the REST predict API, in both directions.

Requests come in the row format (`"instances"`: one item per batch row, objects when
a signature has several inputs) or the columnar format (`"inputs"`: one value, or an
object of named values of any shape); the response mirrors the request's format
(`"predictions"` or `"outputs"`). Strings are UTF-8 JSON strings, binary strings
`{"b64": ...}`; outputs whose name ends in `_bytes` are sent base64-encoded, as TF Serving
does. Floats may be `NaN`/`Infinity` both ways.

Example:
    >>> import tensorflow as tf
    >>> specs = {"text": tf.TensorSpec([None], tf.string)}
    >>> parse_predict({"instances": ["good", "bad"]}, specs)[0]["text"].tolist()
    [b'good', b'bad']
    >>> format_predict({"label": np.array([b"pos", b"neg"])}, "row")
    {'predictions': ['pos', 'neg']}
"""

import base64
import numbers

import numpy as np

from rnnapps.serving.errors import invalid

ROW, COLUMNAR = "row", "columnar"


def is_b64(value):
    return isinstance(value, dict) and len(value) == 1 and "b64" in value


def _leaf(value, dtype, name):
    """One JSON scalar as a Python value of the input's dtype (string inputs: bytes)."""
    if dtype.name == "string":
        if isinstance(value, str):
            return value.encode("utf-8")
        if is_b64(value) and isinstance(value["b64"], str):
            try:
                return base64.b64decode(value["b64"], validate=True)
            except ValueError:
                raise invalid(f"input {name!r}: a 'b64' value is not valid base64") from None
        raise invalid(f"input {name!r} holds strings, got {_short(value)}")
    if dtype.is_bool:
        if isinstance(value, bool):
            return value
        raise invalid(f"input {name!r} holds booleans (true/false), got {_short(value)}")
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        raise invalid(f"input {name!r} holds numbers, got {_short(value)}")
    if dtype.is_integer:
        if isinstance(value, float):
            if not value.is_integer():
                raise invalid(f"input {name!r} holds integers, got {value}")
            value = int(value)
        if not dtype.min <= value <= dtype.max:
            raise invalid(f"input {name!r}: {value} does not fit in {dtype.name}")
    return value


def _short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _dense(value, dtype, name):
    """A nested JSON list (or scalar) -> (shape, flat values); ragged nesting is an error."""
    if not isinstance(value, list):
        return (), [_leaf(value, dtype, name)]
    if not value:
        return (0,), []
    parts = [_dense(item, dtype, name) for item in value]
    shape = parts[0][0]
    if any(part[0] != shape for part in parts):
        raise invalid(f"input {name!r} is not a dense tensor: its nested lists have different lengths")
    return (len(value),) + shape, [leaf for part in parts for leaf in part[1]]


def to_array(value, spec, name):
    """A JSON value -> numpy array of the input's dtype (strings: object array of bytes)."""
    shape, flat = _dense(value, spec.dtype, name)
    if spec.dtype.name == "string":
        array = np.empty(len(flat), dtype=object)
        array[:] = flat
        return array.reshape(shape)
    return np.array(flat, dtype=spec.dtype.as_numpy_dtype).reshape(shape)


def parse_predict(body, specs):
    """A parsed predict request body -> (`{input: array}`, ROW or COLUMNAR).

    Args:
        body: the decoded JSON object.
        specs: the signature's inputs, `{name: tf.TensorSpec}`.
    """
    if not isinstance(body, dict):
        raise invalid("the request body must be a JSON object with 'instances' or 'inputs'")
    if "instances" in body and "inputs" in body:
        raise invalid("give either 'instances' (row format) or 'inputs' (columnar format), not both")
    names = sorted(specs)
    if "instances" in body:
        rows = body["instances"]
        if not isinstance(rows, list):
            raise invalid("'instances' must be a list with one item per row")
        if not rows:
            raise invalid("'instances' is empty: give at least one row")
        named = isinstance(rows[0], dict) and not is_b64(rows[0])
        if not named and len(names) > 1:
            raise invalid(f"this signature has several inputs ({', '.join(names)}): each instance must be an object of them")
        columns = {name: [] for name in names}
        for index, row in enumerate(rows):
            if named != (isinstance(row, dict) and not is_b64(row)):
                raise invalid(f"instance {index} is {'not ' if named else ''}an object, unlike instance 0")
            if named:
                if set(row) != set(names):
                    raise invalid(f"instance {index} has keys {sorted(row)}; this signature needs exactly {names}")
                for name in names:
                    columns[name].append(to_array(row[name], specs[name], name))
            else:
                columns[names[0]].append(to_array(row, specs[names[0]], names[0]))
        inputs = {}
        for name, items in columns.items():
            if any(item.shape != items[0].shape for item in items):
                raise invalid(f"input {name!r} has values of different shapes in different instances")
            inputs[name] = np.stack(items)
        return inputs, ROW
    if "inputs" in body:
        value = body["inputs"]
        if isinstance(value, dict) and not is_b64(value):
            missing = [name for name in names if name not in value]
            unknown = sorted(set(value) - set(names))
            if missing or unknown:
                raise invalid(f"'inputs' must name exactly {names}" + (f"; missing {missing}" if missing else "") + (f"; unknown {unknown}" if unknown else ""))
            return {name: to_array(value[name], specs[name], name) for name in names}, COLUMNAR
        if len(names) > 1:
            raise invalid(f"this signature has several inputs ({', '.join(names)}): 'inputs' must be an object of them")
        return {names[0]: to_array(value, specs[names[0]], names[0])}, COLUMNAR
    raise invalid("the request needs 'instances' (row format) or 'inputs' (columnar format)")


def _nest(flat, shape):
    if not shape:
        return flat[0]
    if len(shape) == 1:
        return list(flat)
    step = len(flat) // shape[0] if shape[0] else 0
    return [_nest(flat[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0])]


def to_json_value(array, name):
    """A numpy output -> nested JSON lists; strings decoded (`*_bytes` outputs: base64)."""
    array = np.asarray(array)
    if array.dtype.kind in ("O", "S"):
        if name.endswith("_bytes"):
            flat = [{"b64": base64.b64encode(item).decode("ascii")} for item in array.ravel()]
        else:
            flat = [item.decode("utf-8", "replace") for item in array.ravel()]
        return _nest(flat, array.shape)
    return array.tolist()


def format_predict(outputs, request_format):
    """Signature outputs `{name: array}` -> the response object of TF Serving's REST API."""
    names = sorted(outputs)
    if request_format == COLUMNAR:
        if len(names) == 1:
            return {"outputs": to_json_value(outputs[names[0]], names[0])}
        return {"outputs": {name: to_json_value(outputs[name], name) for name in names}}
    batch = None
    for name in names:
        shape = np.shape(outputs[name])
        if not shape:
            raise invalid(f"output {name!r} is a scalar: ask in the columnar format ('inputs')")
        if batch is not None and shape[0] != batch:
            raise invalid(f"outputs have different batch sizes ({name!r}: {shape[0]}, others: {batch}): ask in the columnar format ('inputs')")
        batch = shape[0]
    columns = {name: to_json_value(outputs[name], name) for name in names}
    if len(names) == 1:
        return {"predictions": columns[names[0]]}
    return {"predictions": [{name: columns[name][i] for name in names} for i in range(batch or 0)]}
