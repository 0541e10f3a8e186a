"""SentimentClassifier under MirroredStrategy over two logical CPU devices (fresh process:
logical devices must be configured before TensorFlow initialises)."""

import json

import numpy as np
import os

from tests.helpers import run_python

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_trains_saves_and_exports_under_mirrored_strategy(tmp_path):
    code = f"""
import json, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras, rnnapps
from tests.helpers import tiny_sentiment_data
keras.utils.set_random_seed(0)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
texts, labels = tiny_sentiment_data(per_class=20)
clf = rnnapps.SentimentClassifier(cell="gru", units=8, embedding_dim=8, strategy=strategy)
clf.fit(texts, labels, epochs=3, batch_size=16, validation_split=0.2, verbose=0)
export = clf.export({str(tmp_path)!r}, "sentiment")
requests = ["superb film", "dull plot and poor acting", "", "average story"]
served = tf.saved_model.load(export).signatures["serving_default"](text=tf.constant(requests))
reloaded = rnnapps.load(clf.save({str(tmp_path / 'saved')!r}), strategy=strategy)

def full(predictions):
    return [predictions.labels, predictions.probabilities.tolist(), predictions.class_ids.tolist()]

print(json.dumps({{
    "replicas": strategy.num_replicas_in_sync,
    "epochs": len(clf.history.history["loss"]),
    "grad_norm": clf.history.history["grad_norm"][-1],
    "served": [[t.decode() for t in served["label"].numpy()], served["probabilities"].numpy().tolist(),
               served["class_id"].numpy().tolist()],
    "python": full(clf.predict(requests)),
    "reloaded": full(reloaded.predict(requests)),
}}))
"""
    result = run_python(code, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["replicas"] == 2 and answer["epochs"] == 3
    assert answer["grad_norm"] > 0
    # Every output of every request, not one label: the export and the reloaded app answer like the app.
    for outputs in (answer["served"], answer["reloaded"]):
        assert outputs[0] == answer["python"][0] and outputs[2] == answer["python"][2]
        np.testing.assert_allclose(outputs[1], answer["python"][1], rtol=1e-5, atol=1e-6)
