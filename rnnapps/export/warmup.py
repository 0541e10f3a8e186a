"""TF Serving warm-up records: a few representative requests stored inside an export.

TensorFlow builds some kernels and caches lazily, so the first request a freshly loaded
SavedModel answers can take many times longer than the next ones. TF Serving replays the
requests in `<version>/assets.extra/tf_serving_warmup_requests` (a TFRecord file of
`PredictionLog` protos) while it loads a version, before the version takes traffic;
`rnnapps serve` does the same. Each app's `export(..., warmup=True)` (the default) writes
requests for every signature with the helpers below.

Example:
    >>> requests = classifier_requests(["good", "bad"])
    >>> [(signature, sorted(inputs)) for signature, inputs in requests][:1]
    [('serving_default', ['text'])]
"""

import os

import numpy as np
import tensorflow as tf

WARMUP_FILE = "tf_serving_warmup_requests"
EXTRA_DIR = "assets.extra"
# TF Serving refuses a warm-up file of more than 1000 records.
MAX_RECORDS = 1000


def _texts(words, counts=(1, 3, 12)):
    """A short, a medium and a long text made of `words` (known tokens, so the embedding and
    recurrent kernels see realistic lengths), plus "" (the defined empty-input path)."""
    words = [w for w in words if w and not w.startswith("[")] or ["a"]
    return [" ".join(words[i % len(words)] for i in range(n)) for n in counts] + [""]


def classifier_requests(words):
    """Warm-up requests of a classifier export: one batch of texts of several lengths."""
    return [("serving_default", {"text": np.array(_texts(words), dtype=object)})]


def generation_requests(words, joiner=" "):
    """Warm-up requests of a language-model export: `serving_default` and `generate` with
    greedy, top-k and top-p knobs (each knob takes another branch of the sampling loop)."""
    prompts = np.array([joiner.join(words[:2]), ""], dtype=object)
    requests = [("serving_default", {"prompt": prompts[:1]})]
    for temperature, top_k, top_p in ((0.0, 0, 1.0), (0.8, 20, 1.0), (1.0, 0, 0.9)):
        requests.append(("generate", {
            "prompt": prompts, "max_length": np.int32(20), "temperature": np.float32(temperature),
            "top_k": np.int32(top_k), "top_p": np.float32(top_p), "seed": np.int64(1),
        }))
    return requests


def poetry_requests(characters, rhyme=False):
    """Warm-up requests of a poetry export: `serving_default` and `generate` for a free poem
    and a constrained quatrain (acrostic, no-repeat; rhyme only if the export has rhyme tables)."""
    head = "".join(characters[:4])
    requests = [("serving_default", {"prompt": np.array([head[:1]], dtype=object)})]
    for form, acrostic, constrained in (("free", "", False), ("wujue", head, True)):
        requests.append(("generate", {
            "form": np.array(form, dtype=object), "acrostic": np.array([acrostic], dtype=object),
            "first_line": np.array([""], dtype=object), "mood": np.array([""], dtype=object),
            "rhyme": np.bool_(constrained and rhyme), "no_repeat": np.bool_(constrained),
            "temperature": np.float32(0.8), "top_k": np.int32(0), "seed": np.int64(1),
        }))
    return requests


def translation_requests(words):
    """Warm-up requests of a translator export: every signature, sources of several lengths."""
    sources = np.array(_texts(words, counts=(1, 4, 10)), dtype=object)
    requests = [("serving_default", {"source": sources})]
    for signature in ("translate", "greedy"):
        requests.append((signature, {"source": sources, "max_length": np.int32(20)}))
    return requests


def prediction_log(model_name, signature_name, inputs):
    """One `PredictionLog` holding a Predict request (the protos of tensorflow-serving-api)."""
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature_name))
    for key, value in inputs.items():
        request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
    return prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))


def write_warmup(directory, model_name, requests):
    """Writes `requests` (a list of `(signature_name, {input: array})`) as TF Serving's warm-up
    file of the SavedModel in `directory`; returns its path.

    Example:
        >>> write_warmup("/tmp/x/1", "sentiment", classifier_requests(["good"]))  # doctest: +SKIP
        '/tmp/x/1/assets.extra/tf_serving_warmup_requests'
    """
    if len(requests) > MAX_RECORDS:
        raise ValueError(f"TF Serving reads at most {MAX_RECORDS} warm-up records, got {len(requests)}")
    os.makedirs(os.path.join(directory, EXTRA_DIR), exist_ok=True)
    path = os.path.join(directory, EXTRA_DIR, WARMUP_FILE)
    with tf.io.TFRecordWriter(path) as writer:
        for signature_name, inputs in requests:
            writer.write(prediction_log(model_name, signature_name, inputs).SerializeToString())
    return path


def read_warmup(directory):
    """The Predict requests of a SavedModel's warm-up file as `(signature_name, {input: array})`
    (an empty list when there is none).

    Example:
        >>> read_warmup("saved_models/sentiment/1")[0][0]  # doctest: +SKIP
        'serving_default'
    """
    from tensorflow_serving.apis import prediction_log_pb2

    path = os.path.join(directory, EXTRA_DIR, WARMUP_FILE)
    if not os.path.isfile(path):
        return []
    requests = []
    for record in tf.data.TFRecordDataset(path).as_numpy_iterator():
        log = prediction_log_pb2.PredictionLog.FromString(record)
        if log.WhichOneof("log_type") != "predict_log":
            continue  # classify/regress logs: no such signatures in rnnapps exports
        request = log.predict_log.request
        inputs = {key: tf.make_ndarray(proto) for key, proto in request.inputs.items()}
        requests.append((request.model_spec.signature_name or "serving_default", inputs))
    return requests
