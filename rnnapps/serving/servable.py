"""One loaded version of an export: its signatures, how to run them, and its metadata.

Example:
    >>> servable = Servable.load("sentiment", 1, "saved_models/sentiment/1")  # doctest: +SKIP
    >>> servable.predict("serving_default", {"text": np.array([b"great"], object)})["label"]  # doctest: +SKIP
    array([b'positive'], dtype=object)
"""

import os
import time

import numpy as np

from rnnapps.serving.batching import Batcher, batchable
from rnnapps.serving.errors import ServingError, from_tensorflow, invalid

DEFAULT_SIGNATURE = "serving_default"


class Signature:
    """A signature's callable and its named inputs and outputs (`tf.TensorSpec`s)."""

    def __init__(self, name, fn):
        self.name = name
        self.fn = fn
        self.inputs = dict(fn.structured_input_signature[1])
        self.outputs = dict(fn.structured_outputs)
        self.batchable = batchable(self)

    def check(self, inputs):
        """Raises a 400 `ServingError` unless `inputs` names exactly this signature's inputs
        with their ranks and fixed dimensions (TF would fail later with a less clear message)."""
        missing = sorted(set(self.inputs) - set(inputs))
        unknown = sorted(set(inputs) - set(self.inputs))
        if missing or unknown:
            raise invalid(
                f"signature {self.name!r} takes inputs {sorted(self.inputs)}"
                + (f"; missing {missing}" if missing else "") + (f"; unknown {unknown}" if unknown else "")
            )
        for key, spec in self.inputs.items():
            shape = np.shape(inputs[key])
            expected = spec.shape.as_list()
            if len(shape) != len(expected) or any(e is not None and e != s for e, s in zip(expected, shape)):
                wanted = "a scalar" if not expected else f"shape {['?' if e is None else e for e in expected]}"
                raise invalid(f"input {key!r} of signature {self.name!r} must be {wanted}, got shape {list(shape)}")


class Servable:
    """A SavedModel version loaded for serving.

    Attributes:
        name, version, path: model name, integer version and its directory.
        signatures: `{signature_name: Signature}` (the callable ones).
        batchers: `{signature_name: Batcher}` for the signatures whose requests are merged
            (`batching={"max_rows": ..., "max_concurrent": ...}`; none when `batching` is None).
    """

    def __init__(self, name, version, path, loaded, signature_defs, batching=None):
        self.name, self.version, self.path = name, int(version), path
        self._loaded = loaded  # keeps the variables and tables alive
        self._signature_defs = signature_defs
        self.batching = dict(batching) if batching is not None else None
        self.signatures = {key: Signature(key, fn) for key, fn in loaded.signatures.items()}
        self.batchers = {
            key: Batcher(lambda inputs, signature=signature: self.run_signature(signature, inputs), **batching)
            for key, signature in self.signatures.items()
            if batching is not None and signature.batchable
        }
        self.loaded_at = time.time()

    @classmethod
    def load(cls, name, version, path, batching=None):
        """Loads the SavedModel in `path` (raises `ServingError` "UNAVAILABLE" if it cannot)."""
        import tensorflow as tf
        from tensorflow.core.protobuf import saved_model_pb2

        try:
            loaded = tf.saved_model.load(path)
            proto = saved_model_pb2.SavedModel()
            with open(os.path.join(path, "saved_model.pb"), "rb") as handle:
                proto.ParseFromString(handle.read())
        except Exception as error:  # any unreadable export: report it, keep serving the others
            raise ServingError("UNAVAILABLE", f"could not load {path}: {type(error).__name__}: {error}") from error
        return cls(name, version, path, loaded, proto.meta_graphs[0].signature_def, batching=batching)

    def signature(self, name):
        name = name or DEFAULT_SIGNATURE
        if name not in self.signatures:
            raise invalid(f"model {self.name!r} version {self.version} has no signature {name!r}; it has {sorted(self.signatures)}")
        return self.signatures[name]

    def predict(self, signature_name, inputs, output_filter=()):
        """Runs a signature on numpy inputs; returns `{output: numpy array}`.

        Args:
            signature_name: "" or None for `serving_default`.
            inputs: `{input name: array}` (strings as object arrays of bytes).
            output_filter: output names to return (all when empty).
        """
        signature = self.signature(signature_name)
        signature.check(inputs)
        return self.predict_checked(signature, inputs, output_filter)

    def predict_checked(self, signature, inputs, output_filter=()):
        """`predict` for a `Signature` of this servable and inputs that already passed
        `signature.check` (the REST front checks a request before it may join a batch)."""
        unknown = sorted(set(output_filter) - set(signature.outputs))
        if unknown:
            raise invalid(f"signature {signature.name!r} has no outputs {unknown}; it has {sorted(signature.outputs)}")
        run = self.batchers.get(signature.name) or (lambda values: self.run_signature(signature, values))
        outputs = run(inputs)
        return {key: value for key, value in outputs.items() if not output_filter or key in output_filter}

    def run_signature(self, signature, inputs):
        """Calls `signature` (a `Signature`) on checked numpy inputs, no batching; returns
        `{output: numpy array}`, or raises a `ServingError`."""
        import tensorflow as tf

        try:
            tensors = {key: tf.constant(value, dtype=signature.inputs[key].dtype) for key, value in inputs.items()}
            outputs = signature.fn(**tensors)
        except tf.errors.OpError as error:
            raise from_tensorflow(error) from None
        except (TypeError, ValueError) as error:  # a value TF cannot convert to the input's dtype
            raise invalid(f"signature {signature.name!r}: {error}") from None
        return {key: value.numpy() for key, value in outputs.items()}

    def signature_def_map(self):
        """The SignatureDefs as TF Serving's metadata reports them (`SignatureDefMap` proto)."""
        from tensorflow_serving.apis import get_model_metadata_pb2

        return get_model_metadata_pb2.SignatureDefMap(signature_def=self._signature_defs)

    def warm_up(self):
        """Replays the export's warm-up requests (`assets.extra/tf_serving_warmup_requests`),
        as TF Serving does before a version takes traffic; returns how many ran. A failing
        request fails the load, so a broken export is never switched to."""
        from rnnapps.export.warmup import read_warmup

        requests = read_warmup(self.path)
        for signature_name, inputs in requests:
            self.predict(signature_name, inputs)
        return len(requests)
