"""The language model, the translator and the poet under MirroredStrategy over two logical CPU devices:
one epoch each, exports answer, and the logged gradient norm is exact (equal to a
single-device run on the same batch). The classifier has its own test
(test_sentiment_distributed.py).

One fresh process (logical devices must be configured before TensorFlow initialises)
trains all three apps, to pay for the TensorFlow start-up once.
"""

import json
import os

import pytest

from tests.helpers import run_python

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_lm_translator_and_poet_train_and_export_under_mirrored_strategy(tmp_path):
    code = f"""
import json, os, numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras, rnnapps
from rnnapps.builders.language_model import LanguageModelSpec, build_language_model
from rnnapps.training import GradientNormMonitor

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
out = {{"replicas": strategy.num_replicas_in_sync}}

# Exactness of the logged norm: the same batch, one device vs two replicas.
ids = np.random.default_rng(0).integers(2, 12, (8, 9)).astype("int32")
norms = []
for scope in (None, strategy):
    keras.utils.set_random_seed(1)
    spec = LanguageModelSpec(cell="gru", units=6, embedding_dim=4, depth=1, optimizer="sgd", learning_rate=1e-9, clipnorm=None)
    if scope is None:
        model = build_language_model(12, spec).train
    else:
        with scope.scope():
            model = build_language_model(12, spec).train
    monitor = GradientNormMonitor()
    model.fit(ids, np.roll(ids, -1, 1), batch_size=8, epochs=1, verbose=0, callbacks=[monitor], shuffle=False)
    norms.append({{k: v[0] for k, v in monitor.steps.items() if k != "step"}})
out["norms"] = norms

keras.utils.set_random_seed(0)
text = "the cat sat on the mat. the dog sat on the log.\\n" * 8
gen = rnnapps.TextGenerator(cell="gru", units=8, depth=1, embedding_dim=4, sequence_length=12, strategy=strategy)
gen.fit(text, epochs=1, batch_size=4, validation_split=0, verbose=0)
export = tf.saved_model.load(gen.export({str(tmp_path)!r}, "lm"))
served = export.signatures["generate"](prompt=tf.constant(["the", "", "dog sat"]), max_length=tf.constant(6), temperature=tf.constant(0.7),
                                       top_k=tf.constant(5), top_p=tf.constant(0.9), seed=tf.constant(3, tf.int64))
python = gen.generate(["the", "", "dog sat"], max_length=6, temperature=0.7, top_k=5, top_p=0.9, seed=3, return_details=True)
out["generator"] = [served["text"].numpy()[0].decode(), served["generated"].numpy()[0].decode(), gen.history.history["grad_norm"][0]]
out["generator_full"] = [
    [[t.decode() for t in served["text"].numpy()], [t.decode() for t in served["generated"].numpy()],
     [[int(i) for i in row if i > 0] for row in served["token_ids"].numpy()]],
    [python["text"], python["generated"], python["token_ids"]],
]

pairs = [("one two", "uno dos"), ("two three", "dos tres"), ("three one", "tres uno")] * 4
tr = rnnapps.Translator(cell="gru", units=4, source_embedding_dim=4, target_embedding_dim=4, strategy=strategy)
tr.fit(pairs, epochs=1, batch_size=4, validation_split=0, verbose=0)
export = tf.saved_model.load(tr.export({str(tmp_path)!r}, "tr", beam_width=2))
served = export.signatures["serving_default"](source=tf.constant(["one two"]))
out["translator"] = [served["translation"].numpy()[0].decode(), tr.translate("one two"), tr.history.history["grad_norm"][0]]
beam = export.signatures["translate"](source=tf.constant(["one two", "three", ""]), max_length=tf.constant(5))
details = tr.translate(["one two", "three", ""], beam_width=2, max_length=5, return_details=True)
out["translator_full"] = [
    [[t.decode() for t in beam["translations"].numpy()[:, 0]], beam["scores"].numpy()[:, 0].tolist(),
     [[t.decode() for t in row if t] for row in beam["tokens"].numpy()]],
    [[d.translation for d in details], [d.scores[0] for d in details], [d.output_tokens for d in details]],
]

poet = rnnapps.PoetryGenerator(cell="gru", units=8, depth=1, embedding_dim=8, strategy=strategy)  # the default dropout: its export under a strategy once failed
poet.fit(os.path.join({ROOT!r}, "rnnapps", "samples", "poems.txt"), epochs=1, batch_size=16, validation_split=0, verbose=0)
export = tf.saved_model.load(poet.export({str(tmp_path)!r}, "poet"))
served = export.signatures["generate"](
    form=tf.constant("wujue"), acrostic=tf.constant(["春花秋月"]), first_line=tf.constant([""]), mood=tf.constant([""]),
    rhyme=tf.constant(False), no_repeat=tf.constant(False), temperature=tf.constant(0.8), top_k=tf.constant(0),
    seed=tf.constant(3, tf.int64))
out["poet"] = [served["poem"].numpy()[0].decode(), poet.history.history["grad_norm"][0]]
out["poet_full"] = [served["poem"].numpy()[0].decode(), poet.generate(form="wujue", acrostic="春花秋月", temperature=0.8, seed=3)]
print(json.dumps(out))
"""
    result = run_python(code, cwd=ROOT, timeout=400)
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["replicas"] == 2
    single, mirrored = answer["norms"]
    assert set(single) == set(mirrored) and len(single) == 4  # global + embedding, gru, logits
    for key, value in single.items():
        assert abs(mirrored[key] - value) <= 1e-4 * value, (key, value, mirrored[key])
    text, generated, grad_norm = answer["generator"]
    assert text == "the" + generated and len(generated) > 0 and grad_norm > 0  # the export generates
    served, python, grad_norm = answer["translator"]
    assert served == python and grad_norm > 0  # the export answers as the app does
    # Every output, not one label: the exports answer exactly like the apps under the strategy.
    served_full, python_full = answer["generator_full"]
    assert served_full == python_full
    served_full, python_full = answer["translator_full"]
    assert served_full[0] == python_full[0] and served_full[2] == python_full[2]
    assert served_full[1] == pytest.approx(python_full[1], rel=1e-5, abs=1e-6)
    assert answer["poet_full"][0] == answer["poet_full"][1]
    poem, grad_norm = answer["poet"]
    lines = [line for line in poem.replace("，", "|").replace("。", "|").split("|") if line]
    assert grad_norm > 0 and [len(line) for line in lines] == [5] * 4, poem  # a wujue, exact form
    assert "".join(line[0] for line in lines) == "春花秋月", poem  # the acrostic
