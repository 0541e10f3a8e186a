"""TF Serving warm-up records written by every app's export: readable as PredictionLogs,
one or more per signature, and each replays through the SavedModel."""

import os

import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from rnnapps.export.warmup import EXTRA_DIR, WARMUP_FILE, read_warmup


def test_every_export_carries_warmup_requests_that_replay(tiny_exports):
    for name, version_dir in tiny_exports.items():
        path = os.path.join(version_dir, EXTRA_DIR, WARMUP_FILE)
        records = list(tf.data.TFRecordDataset(path).as_numpy_iterator())
        logs = [prediction_log_pb2.PredictionLog.FromString(record) for record in records]
        assert logs and all(log.WhichOneof("log_type") == "predict_log" for log in logs)
        assert all(log.predict_log.request.model_spec.name == name for log in logs)
        loaded = tf.saved_model.load(version_dir)
        requests = read_warmup(version_dir)
        # Every signature is warmed up (the first call of each traces its own kernels).
        assert {signature for signature, _ in requests} == set(loaded.signatures), name
        for signature, inputs in requests:
            outputs = loaded.signatures[signature](**{key: tf.constant(value) for key, value in inputs.items()})
            rows = next(len(value) for key, value in inputs.items() if key in ("text", "prompt", "source", "acrostic"))
            assert all(output.shape[0] == rows for output in outputs.values()), (name, signature)


def test_export_without_warmup(trained_classifier, tmp_path):
    version_dir = trained_classifier.export(tmp_path, "plain", warmup=False)
    assert not os.path.exists(os.path.join(version_dir, EXTRA_DIR, WARMUP_FILE))
    assert read_warmup(version_dir) == []
