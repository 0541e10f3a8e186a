"""`examples/diagnostics.py` runs as documented, on a tiny setting."""

import json
import os

import pytest

from tests.test_examples import load_example


@pytest.mark.large  # trains a whole example script: `pytest --run-large`
def test_diagnostics_example_writes_its_files(tmp_path, capsys):
    text = tmp_path / "text.txt"
    text.write_text('He said "no (never)".\nShe said "yes".\n' * 8, encoding="utf-8")
    example = load_example("diagnostics")
    code = example.main(["--text", str(text), "--out-dir", str(tmp_path / "out"), "--epochs", "1", "--units", "8",
                         "--sequence-length", "16", "--cells", "lstm", "--recurrent-scale", "0.5"])
    assert code == 0
    out = capsys.readouterr().out
    assert "units tracking quotes" in out and "units tracking brackets" in out
    files = set(os.listdir(tmp_path / "out"))
    assert {"gradient_flow.png", "gradient_flow.json", "history.png", "neurons_quotes.html", "neurons_brackets.png"} <= files
    labels = [row["label"] for row in json.load(open(tmp_path / "out" / "gradient_flow.json"))]
    assert labels == ["untrained lstm", "untrained lstm, recurrent x0.5", "trained lstm"]
