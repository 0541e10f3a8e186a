"""`rnnapps lm train|generate|evaluate|export` on a tiny corpus."""

import json
import os
import shutil
import subprocess

import pytest

from rnnapps.cli import main

TEXT = "the cat sat on the mat.\nthe dog sat on the log.\n" * 20


def test_lm_train_generate_evaluate_export(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    model_dir = tmp_path / "lm"
    code = main(["lm", "train", str(corpus), "-o", str(model_dir), "--cell", "gru", "--units", "16", "--depth", "1",
                 "--embedding-dim", "8", "--sequence-length", "17", "--epochs", "2", "--batch-size", "8", "--seed", "1"])
    assert code == 0
    assert "saved char-level language model" in capsys.readouterr().out

    assert main(["lm", "generate", str(model_dir), "the", "a", "--max-length", "12", "--temperature", "0", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [r["prompt"] for r in rows] == ["the", "a"] and all(r["text"].startswith(r["prompt"]) for r in rows)
    assert len(rows[0]["text"]) == 15

    assert main(["lm", "generate", str(model_dir), "the", "--num-samples", "2", "--seed", "3", "--max-length", "5"]) == 0
    assert capsys.readouterr().out.count("-" * 40) == 1

    assert main(["lm", "evaluate", str(model_dir), str(corpus), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["num_chars"] == len(TEXT) and report["perplexity"] > 1

    # As a user runs it (no TF_CPP_MIN_LOG_LEVEL set): the first lines are the program's
    # own, not TensorFlow's C++ start-up log.
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    command = [shutil.which("rnnapps"), "lm", "generate", str(model_dir), "the", "--max-length", "5", "--temperature", "0"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("the"), result.stdout
    assert "I0000" not in result.stderr and "E0000" not in result.stderr and "cuda" not in result.stderr.lower(), result.stderr

    assert main(["lm", "export", str(model_dir), "--base-dir", str(tmp_path / "exports"), "--name", "tiny"]) == 0
    assert os.path.isfile(tmp_path / "exports" / "tiny" / "1" / "saved_model.pb")
    assert "tensorflow_model_server --model_name=tiny" in capsys.readouterr().out


@pytest.mark.parametrize("argv,message", [
    (["lm", "generate", "MISSING", "x"], "no saved app"),
])
def test_lm_errors_are_one_line(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_lm_help_texts(capsys):
    for action in ("train", "generate", "evaluate", "export"):
        with pytest.raises(SystemExit):
            main(["lm", action, "--help"])
        assert f"usage: rnnapps lm {action}" in capsys.readouterr().out
