"""A training process killed after epoch 2 of 4 (`os._exit`, no cleanup) resumes on rerun
and ends with 4 epochs, a continuous history and the optimizer state of an uninterrupted run.

The run goes through the command line (`rnnapps lm train --resume`); the kill is a
callback injected by the test's launcher, so nothing in rnnapps knows about it.
"""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KILLED = 17

LAUNCHER = """
import os, sys
import keras, rnnapps
from rnnapps.cli import main

kill_after = int(os.environ.get("KILL_AFTER_EPOCH", "0"))

class Kill(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == kill_after:
            print("losses so far", self.model.history.history.get("loss"), flush=True)
            os._exit(%d)  # like SIGKILL: no cleanup, no atexit, no finally

original = rnnapps.TextGenerator.fit
def fit(self, *args, **kwargs):
    kwargs["callbacks"] = list(kwargs.get("callbacks") or []) + [Kill()]
    return original(self, *args, **kwargs)
rnnapps.TextGenerator.fit = fit
sys.exit(main(sys.argv[1:]))
""" % KILLED


def start(argv, kill_after=0):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KILL_AFTER_EPOCH=str(kill_after), PYTHONPATH=ROOT)
    return subprocess.Popen([sys.executable, "-c", LAUNCHER] + argv, cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process, timeout=240):
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def test_killed_training_resumes_and_matches_an_uninterrupted_run(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat.\nthe dog sat on the log.\n" * 12, encoding="utf-8")

    def argv(output):
        return ["lm", "train", str(corpus), "-o", str(output), "--cell", "gru", "--units", "12", "--depth", "1",
                "--embedding-dim", "8", "--sequence-length", "16", "--batch-size", "4", "--epochs", "4", "--learning-rate", "0.02",
                "--validation-split", "0", "--patience", "0", "--seed", "3", "--resume"]

    # The uninterrupted reference and the run that gets killed, side by side (2 cores).
    reference, victim = start(argv(tmp_path / "whole")), start(argv(tmp_path / "resumed"), kill_after=2)
    code, out, err = finish(victim)
    assert code == KILLED, err[-3000:]
    assert "losses so far" in out
    backup = tmp_path / "resumed.backup"
    assert json.load(open(backup / "training_metadata.json"))["epoch"] == 2
    assert not (tmp_path / "resumed").exists()  # killed before saving
    rerun = start(argv(tmp_path / "resumed"))
    for process in (reference, rerun):
        code, out, err = finish(process)
        assert code == 0, err[-3000:]
    assert not backup.exists()  # a finished fit removes its backup

    whole = json.load(open(tmp_path / "whole" / "history.json"))["epochs"]
    resumed = json.load(open(tmp_path / "resumed" / "history.json"))["epochs"]
    print("uninterrupted losses:", whole["loss"])
    print("killed + resumed losses:", resumed["loss"])
    assert len(resumed["loss"]) == len(whole["loss"]) == 4
    assert len(resumed["grad_norm"]) == 4
    # Epochs 1-2 come from the killed process, bit for bit the reference's (same seed).
    assert resumed["loss"][:2] == pytest.approx(whole["loss"][:2], rel=1e-5)
    # Epochs 3-4 continue from the restored weights and Adam state: close to the reference
    # (only the shuffle order of the resumed epochs differs), far below a fresh start.
    assert resumed["loss"][2:] == pytest.approx(whole["loss"][2:], rel=0.03)
    fresh_gap = whole["loss"][0] - whole["loss"][2]
    assert fresh_gap > 0.3 and abs(resumed["loss"][2] - whole["loss"][2]) < 0.2 * fresh_gap
    import keras

    import rnnapps.training  # noqa: F401  (registers GradNormModel)

    iterations = [int(keras.saving.load_model(tmp_path / run / "model.keras").optimizer.iterations) for run in ("whole", "resumed")]
    assert iterations[0] == iterations[1] > 0  # as many optimizer steps as the uninterrupted run
