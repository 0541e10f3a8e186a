"""SavedModel exports: atomic versioned publishing, fresh-process serving, saved_model_cli."""

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from rnnapps.export import EXTRA_DIR, METADATA_FILE
from rnnapps.io_utils import publish_version
from tests.helpers import run_python

REQUESTS = ["the film was superb", "", "dreadful acting", "春眠 👍🏽", "typical story " * 500]


@pytest.fixture(scope="module")
def exported(trained_classifier, tmp_path_factory):
    base = tmp_path_factory.mktemp("saved_models")
    return trained_classifier.export(base, "sentiment"), base


def test_export_is_versioned_and_carries_metadata(trained_classifier, exported):
    version_dir, base = exported
    assert os.path.basename(version_dir) == "1"
    assert os.path.isfile(os.path.join(version_dir, "saved_model.pb"))
    metadata = json.load(open(os.path.join(version_dir, EXTRA_DIR, METADATA_FILE)))
    assert metadata["label_names"] == trained_classifier.label_names
    second = trained_classifier.export(base, "sentiment")
    assert os.path.basename(second) == "2"
    # Nothing but integer versions is left for TF Serving to see.
    assert sorted(os.listdir(os.path.join(base, "sentiment"))) == ["1", "2"]
    shutil.rmtree(second)


def test_export_answers_raw_strings_in_a_fresh_process(trained_classifier, exported):
    version_dir, _ = exported
    code = f"""
import json, tensorflow as tf
model = tf.saved_model.load({version_dir!r})
serve = model.signatures["serving_default"]
out = serve(text=tf.constant({REQUESTS!r} + [b"bad \\xff bytes"]))
empty = serve(text=tf.constant([], tf.string))
print(json.dumps({{
    "label": [x.decode() for x in out["label"].numpy()],
    "probabilities": out["probabilities"].numpy().tolist(),
    "class_id": out["class_id"].numpy().tolist(),
    "empty_shape": list(empty["probabilities"].shape),
}}))
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    expected = trained_classifier.predict(REQUESTS + [b"bad \xff bytes"])
    assert answer["label"] == expected.labels
    np.testing.assert_allclose(answer["probabilities"], expected.probabilities, rtol=1e-5, atol=1e-6)
    assert answer["class_id"] == expected.class_ids.tolist()
    assert answer["empty_shape"] == [0, 3]


def test_saved_model_cli_shows_and_runs_the_signature(trained_classifier, exported):
    version_dir, _ = exported
    cli = shutil.which("saved_model_cli")
    assert cli is not None, "saved_model_cli is installed with tensorflow"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    shown = subprocess.run([cli, "show", "--dir", version_dir, "--all"], capture_output=True, text=True, env=env, timeout=240)
    assert shown.returncode == 0, shown.stderr[-2000:]
    for key in ("inputs['text']", "DT_STRING", "outputs['label']", "outputs['probabilities']", "outputs['class_id']"):
        assert key in shown.stdout
    ran = subprocess.run(
        [cli, "run", "--dir", version_dir, "--tag_set", "serve", "--signature_def", "serving_default",
         "--input_exprs", 'text=["the film was superb", "dreadful acting"]'],
        capture_output=True, text=True, env=env, timeout=240,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    labels = trained_classifier.predict(["the film was superb", "dreadful acting"]).labels
    assert f"[b'{labels[0]}' b'{labels[1]}']" in ran.stdout


def test_failed_export_leaves_nothing_behind(tmp_path):
    def broken_writer(directory):
        open(os.path.join(directory, "partial"), "w").close()
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        publish_version(broken_writer, tmp_path, "sentiment")
    assert os.listdir(tmp_path / "sentiment") == []
