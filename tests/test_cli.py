"""The `rnnapps` command line: help texts, classify train/predict/evaluate/export, errors."""

import json
import os

import pytest

from rnnapps.cli import build_parser, main
from tests.helpers import tiny_sentiment_data


def test_help_lists_commands_and_is_fast(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "quickstart" in out and "classify" in out
    for action in ("train", "predict", "evaluate", "export"):
        with pytest.raises(SystemExit):
            main(["classify", action, "--help"])
        assert "usage: rnnapps classify " + action in capsys.readouterr().out


def test_parser_requires_an_output_for_training():
    with pytest.raises(SystemExit):
        build_parser().parse_args(["classify", "train", "data.tsv"])


def test_classify_train_predict_evaluate_export(tmp_path, capsys):
    texts, labels = tiny_sentiment_data(per_class=15)
    data = tmp_path / "reviews.tsv"
    data.write_text("text\tlabel\n" + "".join(f"{t}\t{l}\n" for t, l in zip(texts, labels)))
    model_dir = tmp_path / "model"
    code = main(["classify", "train", str(data), "-o", str(model_dir), "--cell", "gru", "--units", "8",
                 "--embedding-dim", "8", "--epochs", "12", "--batch-size", "8", "--validation-split", "0",
                 "--global-clipnorm", "5", "--seed", "3"])
    assert code == 0
    assert "saved classifier (negative, neutral, positive)" in capsys.readouterr().out

    texts_file = tmp_path / "texts.txt"
    texts_file.write_text("dreadful and dull\n")
    assert main(["classify", "predict", str(model_dir), "the film was superb", "--file", str(texts_file), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [row["label"] for row in rows] == ["positive", "negative"]
    assert set(rows[0]["probabilities"]) == {"negative", "neutral", "positive"}

    assert main(["classify", "evaluate", str(model_dir), str(data), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["num_examples"] == 45 and report["accuracy"] > 0.8

    assert main(["classify", "export", str(model_dir), "--base-dir", str(tmp_path / "serving")]) == 0
    assert "exported SavedModel to" in capsys.readouterr().out
    assert os.path.isfile(tmp_path / "serving" / "sentiment" / "1" / "saved_model.pb")


def test_errors_are_reported_without_a_traceback(tmp_path, capsys):
    assert main(["classify", "predict", str(tmp_path / "nothing"), "hello"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnapps: error:") and "Traceback" not in err
    assert main(["classify", "train", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "m")]) == 2
    assert "no such file" in capsys.readouterr().err


def one_error_line(capsys):
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and len(lines) == 1 and lines[0].startswith("rnnapps: error: "), err
    return lines[0]


@pytest.fixture(scope="module")
def saved_classifier(trained_classifier, tmp_path_factory):
    return trained_classifier.save(tmp_path_factory.mktemp("cli") / "clf")


@pytest.mark.parametrize("value", ["-1", "0"])
def test_cli_refuses_a_bad_batch_size_with_one_line(saved_classifier, capsys, value):
    assert main(["classify", "predict", saved_classifier, "great film", "--batch-size", value]) == 2
    assert "batch_size must be an integer in [1," in one_error_line(capsys)


def test_cli_missing_file_is_one_error_line(saved_classifier, tmp_path, capsys):
    assert main(["classify", "predict", saved_classifier, "--file", str(tmp_path / "missing.txt")]) == 2
    assert "missing.txt" in one_error_line(capsys)


@pytest.mark.parametrize(
    "error, status, message",
    [(KeyboardInterrupt(), 130, "interrupted"), (MemoryError(), 2, "out of memory"), (ZeroDivisionError("boom"), 1, "unexpected ZeroDivisionError: boom")],
)
def test_cli_ends_every_failure_with_one_error_line(tmp_path, capsys, monkeypatch, error, status, message):
    import rnnapps

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(rnnapps.SentimentClassifier, "fit", fail)
    data = tmp_path / "reviews.tsv"
    data.write_text("text\tlabel\ngood\tpositive\nbad\tnegative\n")
    assert main(["classify", "train", str(data), "-o", str(tmp_path / "model")]) == status
    assert message in one_error_line(capsys)
