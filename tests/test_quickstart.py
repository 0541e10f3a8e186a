"""`rnnapps quickstart` end to end through the installed console script (every app, briefly)."""

import os
import shutil
import subprocess


def test_quickstart_runs_end_to_end_from_the_console_script(tmp_path):
    script = shutil.which("rnnapps")
    assert script is not None, "the rnnapps console script is installed"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [script, "quickstart", "--epochs", "1", "--export-dir", "exports", "--work-dir", "work"],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=400,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "held-out evaluation" in result.stdout
    assert "reloaded copy gives identical predictions: True" in result.stdout
    assert "agrees with the Python object: True" in result.stdout
    assert os.path.isfile(tmp_path / "exports" / "sentiment" / "1" / "saved_model.pb")
    assert os.path.isfile(tmp_path / "work" / "sentiment" / "config.json")
