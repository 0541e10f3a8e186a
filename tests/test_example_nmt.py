"""examples/nmt_spa_eng.py runs as documented on a tiny spa.txt stand-in, and names the remedy offline."""

import os

import pytest

from rnnapps.data.synthetic import reversed_numbers
from tests.test_examples import load_example


@pytest.mark.large  # trains a whole example script: `pytest --run-large`
def test_nmt_example_on_a_local_pairs_file(tmp_path, capsys):
    pairs = tmp_path / "spa.txt"
    pairs.write_text("".join(f"{s}\t{t}\tCC-BY 2.0 (France) Attribution: tatoeba.org\n" for s, t in reversed_numbers(150, seed=4, max_length=4)))
    example = load_example("nmt_spa_eng")
    code = example.main([
        "--pairs", str(pairs), "--test-pairs", "20", "--epochs", "1", "--units", "8", "--embedding-dim", "8",
        "--beam-width", "2", "--bleu-samples", "10", "--output", str(tmp_path / "model"),
        "--export-dir", str(tmp_path / "exports"), "--heatmap", str(tmp_path / "attention.png"),
        "--backup-dir", str(tmp_path / "backup"),
    ])
    assert code == 0
    out = capsys.readouterr().out
    assert "130 training pairs, 20 held out" in out
    assert "Held-out pairs, greedy:" in out and "BLEU" in out and "over 20 pairs (beam width 2)" in out
    assert os.path.isfile(tmp_path / "attention.png")
    assert os.path.isfile(tmp_path / "model" / "target_vocabulary.json")
    assert os.path.isfile(tmp_path / "exports" / "nmt_spa_eng" / "1" / "saved_model.pb")


def test_nmt_example_offline_tfds_reports_the_remedy(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("rnnapps.data.tfds.internet_reachable", lambda *a, **k: False)
    example = load_example("nmt_spa_eng")
    code = example.main(["--tfds", "ted_hrlr_translate/pt_to_en", "--tfds-data-dir", str(tmp_path / "tfds"),
                         "--output", str(tmp_path / "m"), "--backup-dir", str(tmp_path / "b")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: TFDS dataset 'ted_hrlr_translate/pt_to_en' is not available here")
    assert "internet" in err and "data_dir" in err and "pairs file" in err
