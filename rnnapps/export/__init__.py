"""SavedModel exports for stock TF Serving: raw strings in, strings out.

The serving functions (one module per app: `classifier`, `generation`, ...) are also
what the apps call for in-process prediction, so an export answers exactly like the
Python object it came from. This module writes the archives.
"""

import json
import os

import keras
import tensorflow as tf

from rnnapps.export.warmup import EXTRA_DIR, write_warmup
from rnnapps.io_utils import publish_version

METADATA_FILE = "rnnapps.json"


def export_serving(endpoints, tracked, base_dir, name, metadata=None, warmup=None):
    """Writes a SavedModel with the given endpoints as the next version of `<base_dir>/<name>`.

    Args:
        endpoints: list of `(endpoint_name, fn, input_signature)`; the first should be
            "serving_default". Signature `TensorSpec`s carry `name=`: those become the
            request keys; the fns return dicts whose keys become the response keys.
        tracked: layers/models whose variables and lookup tables the fns use.
        base_dir, name: the TF Serving model base path and model name.
        metadata: JSON-serializable facts stored in `assets.extra/rnnapps.json`; its
            "signatures" entry is written here from the traced endpoints (`describe_signature`).
        warmup: `(signature_name, {input: array})` requests written as TF Serving's
            warm-up file (`rnnapps.export.warmup`), or None for none.

    Returns:
        the version directory written, e.g. `saved_models/sentiment/3`.
    """

    def write(directory):
        archive = keras.export.ExportArchive()
        for item in tracked:
            archive.track(item)
        signatures = {}
        for endpoint_name, fn, signature in endpoints:
            traced = archive.add_endpoint(name=endpoint_name, fn=fn, input_signature=signature)
            signatures[endpoint_name] = describe_signature(traced.get_concrete_function())
        archive.write_out(directory, verbose=False)
        if warmup:
            write_warmup(directory, name, warmup)
        if metadata is not None:
            metadata["signatures"] = signatures
            os.makedirs(os.path.join(directory, EXTRA_DIR), exist_ok=True)
            with open(os.path.join(directory, EXTRA_DIR, METADATA_FILE), "w", encoding="utf-8") as handle:
                json.dump(metadata, handle, ensure_ascii=False, indent=2)

    return publish_version(write, base_dir, name)


def _spec_text(spec):
    """`string[None]`, `float32[None, 2]`: a tensor's dtype and shape as the metadata writes them."""
    shape = ", ".join("None" if dim is None else str(dim) for dim in spec.shape.as_list())
    return f"{spec.dtype.name}[{shape}]"


def describe_signature(concrete):
    """`{"inputs": {key: "dtype[shape]"}, "outputs": {...}}` of a traced endpoint: the
    request and response keys with the TensorSpecs the SavedModel really has.

    Example:
        >>> fn = tf.function(lambda text: {"n": tf.strings.length(text)}, input_signature=text_signature())
        >>> describe_signature(fn.get_concrete_function())
        {'inputs': {'text': 'string[None]'}, 'outputs': {'n': 'int32[None]'}}
    """
    args, kwargs = concrete.structured_input_signature
    inputs = [spec for spec in tf.nest.flatten((args, kwargs)) if isinstance(spec, tf.TensorSpec)]
    outputs = concrete.structured_outputs
    return {
        "inputs": {spec.name: _spec_text(spec) for spec in inputs},
        "outputs": {key: _spec_text(value) for key, value in sorted(outputs.items())},
    }


def text_signature(name="text"):
    """The request signature of a string endpoint: `name: string[None]`."""
    return [tf.TensorSpec([None], tf.string, name=name)]
