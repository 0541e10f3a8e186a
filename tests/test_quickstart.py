"""`rnnapps quickstart` end to end through the installed console script (every app, briefly)."""

import os
import re
import shutil
import subprocess

from rnnapps.quickstart import next_steps
from rnnapps.quickstart.common import hold_out_every


def test_quickstart_runs_end_to_end_from_the_console_script(tmp_path):
    script = shutil.which("rnnapps")
    assert script is not None, "the rnnapps console script is installed"
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}  # as a user runs it
    result = subprocess.run(
        [script, "quickstart", "--epochs", "1", "--export-dir", "exports", "--work-dir", "work"],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=400,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "held-out evaluation" in result.stdout
    assert "reloaded copy gives identical predictions: True" in result.stdout
    assert "agrees with the Python object: True" in result.stdout
    for name in ("sentiment", "language_model", "poetry", "translator"):
        assert os.path.isfile(tmp_path / "exports" / name / "1" / "saved_model.pb"), name
        assert os.path.isfile(tmp_path / "work" / name / "config.json"), name
    # The summary: one held-out figure per app, then the commands to try next.
    summary = result.stdout.split("quickstart finished in", 1)[1]
    for app in ("sentiment", "language model", "poetry", "translation"):
        assert re.search(rf"^  {app}: held-out ", summary, re.MULTILINE), (app, summary)
    assert "what to try next" in summary
    assert f"rnnapps lm generate {tmp_path / 'work' / 'language_model'}" in summary
    # TensorFlow's C++ start-up log is not shown (the CLI imports it quietly).
    assert "cuda" not in result.stderr.lower() and "oneDNN" not in result.stderr, result.stderr[:2000]


def test_held_out_items_are_spread_over_the_sample():
    kept, held_out = hold_out_every(list(range(20)), 7)
    assert held_out == [3, 10, 17]
    assert sorted(kept + held_out) == list(range(20))


def test_next_steps_name_the_saved_apps():
    steps = next_steps({"sentiment": {"saved": "/w/sentiment"}, "poetry": {"saved": "/w/my poems"}})
    commands = [command for _, command in steps]
    assert commands == [
        "rnnapps classify predict /w/sentiment 'What a wonderful evening!'",
        "rnnapps poetry generate '/w/my poems' --form qijue --acrostic '春夏秋冬'",
    ]
