"""`rnnapps translate train|run|evaluate|export` on a tiny pairs file."""

import json
import os

import pytest

from rnnapps.cli import main
from rnnapps.data.synthetic import reversed_numbers


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "pairs.txt"
    path.write_text("".join(f"{s}\t{t}\tCC-BY 2.0 (France)\n" for s, t in reversed_numbers(120, seed=2, max_length=4)))
    return path


@pytest.fixture(scope="module")
def model_dir(pairs_file, tmp_path_factory):
    output = tmp_path_factory.mktemp("models") / "translator"
    code = main([
        "translate", "train", str(pairs_file), "-o", str(output), "--cell", "gru", "--units", "8",
        "--source-embedding-dim", "8", "--target-embedding-dim", "8", "--epochs", "2", "--batch-size", "16",
        "--validation-split", "0.2", "--bleu-every", "2", "--global-clipnorm", "5", "--seed", "1",
    ])
    assert code == 0
    return output


def test_help_lists_the_actions(capsys):
    with pytest.raises(SystemExit) as info:
        main(["translate", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for action in ("train", "run", "evaluate", "export"):
        assert action in out


def test_train_saves_both_vocabularies(model_dir, capsys):
    assert sorted(os.listdir(model_dir)) == ["config.json", "history.json", "model.keras", "target_vocabulary.json", "vocabulary.json"]
    config = json.load(open(model_dir / "config.json"))["config"]
    assert config["cell"] == "gru" and config["units"] == 8 and config["global_clipnorm"] == 5.0


def test_run_prints_translations(model_dir, tmp_path, capsys):
    sources = tmp_path / "sources.txt"
    sources.write_text("four three\n\n")
    assert main(["translate", "run", str(model_dir), "one two", "--file", str(sources)]) == 0
    lines = capsys.readouterr().out.split("\n")
    assert len(lines) == 4 and lines[2] == "" and lines[3] == ""  # the empty line translates to ""

    heatmap = tmp_path / "attention.png"
    assert main(["translate", "run", str(model_dir), "one two", "--beam-width", "3", "--num-results", "2",
                 "--json", "--plot-attention", str(heatmap)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    row = json.loads(out[0])
    assert row["source"] == "one two" and len(row["translations"]) == 2 and len(row["scores"]) == 2
    assert "attention heatmap" in out[1] and heatmap.is_file()


def test_evaluate_reports_bleu(model_dir, pairs_file, capsys):
    assert main(["translate", "evaluate", str(model_dir), str(pairs_file), "--json", "--beam-width", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["num_pairs"] == 120 and report["beam_width"] == 2
    # The reported BLEU is the BLEU of the app's own beam-2 translations of those sources.
    import rnnapps
    from rnnapps.training.bleu import corpus_bleu

    rows = [line.split("\t") for line in pairs_file.read_text().splitlines()]
    hypotheses = rnnapps.load(model_dir).translate([r[0] for r in rows], beam_width=2)
    assert report["bleu"] == pytest.approx(corpus_bleu([r[1] for r in rows], hypotheses).score, abs=1e-6)
    assert main(["translate", "evaluate", str(model_dir), str(pairs_file)]) == 0
    assert "BLEU" in capsys.readouterr().out


def test_export_writes_a_version(model_dir, tmp_path, capsys):
    assert main(["translate", "export", str(model_dir), "--base-dir", str(tmp_path / "serving"), "--beam-width", "2"]) == 0
    assert "exported SavedModel to" in capsys.readouterr().out
    assert os.path.isfile(tmp_path / "serving" / "translator" / "1" / "saved_model.pb")


def test_errors_are_reported_without_a_traceback(model_dir, tmp_path, capsys):
    assert main(["translate", "run", str(tmp_path / "nothing"), "hello"]) == 2
    assert "rnnapps: error:" in capsys.readouterr().err
    assert main(["translate", "run", str(model_dir), "one", "--beam-width", "2", "--num-results", "3"]) == 2
    assert "num_results" in capsys.readouterr().err
    assert main(["translate", "train", str(tmp_path / "missing.txt"), "-o", str(tmp_path / "m")]) == 2
    assert "file" in capsys.readouterr().err
