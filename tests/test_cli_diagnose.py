"""`rnnapps diagnose gradient-flow|neurons|history` and the train commands' --resume flag."""

import json
import os

import pytest

import rnnapps
from rnnapps.cli import main
from rnnapps.training.history import TrainingHistory

TEXT = 'He said "no (never)".\nShe said "yes".\n' * 3


@pytest.fixture(scope="module")
def saved_lm(tmp_path_factory):
    gen = rnnapps.TextGenerator.from_vocabulary(sorted(set(TEXT)), cell="lstm", units=6, depth=1, embedding_dim=4)
    gen.history = TrainingHistory({"loss": [2.0, 1.5], "grad_norm": [1.0, 0.8], "grad_norm/lm_lstm_0": [0.5, 0.4]})
    return gen.save(tmp_path_factory.mktemp("cli") / "lm")


def test_gradient_flow_of_untrained_cells_writes_png_and_json(tmp_path, capsys):
    out, numbers = tmp_path / "flow.png", tmp_path / "flow.json"
    argv = ["diagnose", "gradient-flow", "-o", str(out), "--json", str(numbers), "--units", "8",
            "--embedding-dim", "4", "--length", "22", "--batch-size", "2", "--recurrent-scale", "0.5"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "untrained simple (recurrent x0.5)" in printed and "ratio" in printed
    assert os.path.getsize(out) > 10_000
    rows = json.load(open(numbers))
    assert [row["cell"] for row in rows] == ["simple", "gru", "lstm"] and len(rows[0]["mean"]) == 22


def test_gradient_flow_of_saved_apps_on_a_text(saved_lm, tmp_path, capsys):
    corpus = tmp_path / "text.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    out = tmp_path / "saved.png"
    assert main(["diagnose", "gradient-flow", saved_lm, "--text-file", str(corpus), "--length", "15", "-o", str(out)]) == 0
    assert "lm: x" in capsys.readouterr().out and out.exists()


def test_neurons_ranks_and_renders(saved_lm, tmp_path, capsys):
    base = tmp_path / "views" / "n"
    assert main(["diagnose", "neurons", saved_lm, "--text", TEXT, "--rank", "quotes", "--top", "2", "-o", str(base)]) == 0
    printed = capsys.readouterr().out
    assert "units tracking 'quotes'" in printed and printed.count("  unit ") == 2
    assert (tmp_path / "views" / "n.html").stat().st_size > 2_000 and (tmp_path / "views" / "n.png").exists()


def test_history_from_a_save_and_from_a_json_file(saved_lm, tmp_path):
    assert main(["diagnose", "history", saved_lm, "-o", str(tmp_path / "h.png")]) == 0
    plain = tmp_path / "keras_history.json"
    plain.write_text(json.dumps({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}))
    assert main(["diagnose", "history", str(plain), "-o", str(tmp_path / "h2.png"), "--title", "run"]) == 0
    assert (tmp_path / "h.png").exists() and (tmp_path / "h2.png").exists()


@pytest.mark.parametrize("argv, message", [
    (["diagnose", "history", "missing.json"], "no training history at missing.json"),
    (["diagnose", "neurons", "{lm}", "--text", "abc", "--units", "9"], "out of range"),
    (["diagnose", "neurons", "{lm}"], "give the text"),
    (["diagnose", "gradient-flow", "--length", "1"], "--length must be >= 2"),
    (["diagnose", "gradient-flow", "MISSING_DIR"], "no saved app"),
])
def test_errors_are_one_line(saved_lm, argv, message, capsys):
    assert main([a.replace("{lm}", saved_lm) for a in argv]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # (Keras may warn before)
    assert last.startswith("rnnapps: error: ") and message in last


def test_lm_train_with_resume_saves_history_and_cleans_its_backup(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT * 2, encoding="utf-8")
    out = tmp_path / "lm"
    argv = ["lm", "train", str(corpus), "-o", str(out), "--cell", "gru", "--units", "6", "--depth", "1",
            "--embedding-dim", "4", "--sequence-length", "10", "--epochs", "2", "--batch-size", "4",
            "--resume", "--seed", "1"]
    assert main(argv) == 0
    assert not (tmp_path / "lm.backup").exists()  # BackupAndRestore deletes it after a finished fit
    history = json.load(open(out / "history.json"))
    assert len(history["epochs"]["loss"]) == 2 and history["steps"]["grad_norm"]


def test_help_of_diagnose_actions(capsys):
    for action in ("gradient-flow", "neurons", "history"):
        with pytest.raises(SystemExit):
            main(["diagnose", action, "--help"])
        assert f"usage: rnnapps diagnose {action}" in capsys.readouterr().out
    for command in ("classify", "lm", "translate"):
        with pytest.raises(SystemExit):
            main([command, "train", "--help"])
        help_text = capsys.readouterr().out
        assert "--resume" in help_text and "--mixed-precision" in help_text
