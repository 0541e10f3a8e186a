"""The example scripts run as documented (on tiny local stand-ins for their real datasets)."""

import importlib.util
import os

import pytest

from tests.helpers import tiny_sentiment_data

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "examples")


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_acl_imdb(root):
    """A miniature aclImdb tree: train/{pos,neg,unsup}, test/{pos,neg}."""
    for split, seed in (("train", 0), ("test", 1)):
        texts, labels = tiny_sentiment_data(per_class=12, seed=seed, classes=("negative", "positive"))
        for index, (text, label) in enumerate(zip(texts, labels)):
            folder = root / split / ("pos" if label == "positive" else "neg")
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{index}_{8 if label == 'positive' else 2}.txt").write_text(text)
    (root / "train" / "unsup").mkdir()
    (root / "train" / "unsup" / "0_0.txt").write_text("no label here")


@pytest.mark.large  # trains a whole example script: `pytest --run-large`
def test_sentiment_imdb_example_on_a_local_aclimdb_folder(tmp_path, capsys):
    make_acl_imdb(tmp_path / "aclImdb")
    example = load_example("sentiment_imdb")
    code = example.main([
        "--data-dir", str(tmp_path / "aclImdb"), "--epochs", "1", "--units", "4", "--embedding-dim", "8",
        "--min-count", "1", "--output", str(tmp_path / "model"), "--export-dir", str(tmp_path / "exports"),
        "--backup-dir", str(tmp_path / "backup"),
    ])
    assert code == 0
    out = capsys.readouterr().out
    assert "Test set:" in out and "examples: 24" in out
    assert os.path.isfile(tmp_path / "model" / "config.json")
    assert os.path.isfile(tmp_path / "exports" / "imdb_sentiment" / "1" / "saved_model.pb")


def test_sentiment_imdb_example_offline_tfds_reports_the_remedy(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("rnnapps.data.tfds.internet_reachable", lambda *a, **k: False)
    example = load_example("sentiment_imdb")
    code = example.main(["--tfds-data-dir", str(tmp_path / "tfds"), "--output", str(tmp_path / "m"),
                         "--backup-dir", str(tmp_path / "b")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: TFDS dataset 'imdb_reviews' is not available here")
    assert "internet" in err and "data_dir" in err


LM_TEXT = "to be or not to be, that is the question.\nwhether tis nobler in the mind to suffer.\n" * 30


@pytest.mark.large  # trains the example end to end (tiny sizes): `pytest --run-large`
def test_char_lm_shakespeare_example_on_a_local_text(tmp_path, capsys):
    text = tmp_path / "play.txt"
    text.write_text(LM_TEXT)
    example = load_example("char_lm_shakespeare")
    code = example.main([
        "--text", str(text), "--epochs", "1", "--units", "8", "--embedding-dim", "8", "--sequence-length", "20",
        "--batch-size", "16", "--sample-every", "1", "--output", str(tmp_path / "model"),
        "--export-dir", str(tmp_path / "exports"),
    ])
    assert code == 0
    out = capsys.readouterr().out
    assert "Training text:" in out and "perplexity" in out and "--- temperature 0.8 ---" in out
    assert os.path.isfile(tmp_path / "model" / "config.json")
    assert os.path.isfile(tmp_path / "exports" / "char_shakespeare" / "1" / "saved_model.pb")


@pytest.mark.large  # trains the example end to end (tiny sizes): `pytest --run-large`
def test_word_lm_example_on_a_local_text(tmp_path, capsys):
    text = tmp_path / "corpus.txt"
    text.write_text(LM_TEXT)
    example = load_example("word_lm")
    code = example.main([
        str(text), "--epochs", "1", "--units", "8", "--embedding-dim", "8", "--sequence-length", "8", "--batch-size", "8",
        "--output", str(tmp_path / "model"), "--export-dir", str(tmp_path / "exports"), "--prompt", "to be",
    ])
    assert code == 0
    out = capsys.readouterr().out
    assert "beam search (width 4): to be" in out and out.count("sampled: to be") == 3
    assert os.path.isfile(tmp_path / "exports" / "word_lm" / "1" / "saved_model.pb")
