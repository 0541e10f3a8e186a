"""examples/tang_poetry.py runs as documented on a tiny chinese-poetry JSON stand-in."""

import importlib.util
import json
import os

import pytest

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "examples", "tang_poetry.py")
SAMPLE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "rnnapps", "samples", "poems.txt")


@pytest.mark.large  # trains a whole example script: `pytest --run-large`
def test_tang_poetry_example_on_chinese_poetry_json_files(tmp_path, capsys):
    # The bundled sample rewritten in the chinese-poetry layout, over two files.
    rows = [line.rstrip("\n").split("\t") for line in open(SAMPLE, encoding="utf-8")]
    poems = [{"title": t, "author": a, "paragraphs": [p[i:i + 12] for i in range(0, len(p), 12)]} for t, a, p in rows]
    for index, part in enumerate((poems[:60], poems[60:])):
        (tmp_path / f"poet.tang.{index * 1000}.json").write_text(json.dumps(part, ensure_ascii=False), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("tang_poetry", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    code = example.main([
        str(tmp_path / "poet.tang.*.json"), "--form", "wujue", "--epochs", "1", "--units", "8", "--embedding-dim", "8",
        "--depth", "1", "--cell", "gru", "--num-samples", "5", "--output", str(tmp_path / "model"),
        "--export-dir", str(tmp_path / "exports"),
    ])
    assert code == 0
    out = capsys.readouterr().out
    assert "Held-out poems: perplexity" in out and "wujue validity of 5 samples: 100% constrained" in out
    assert "wujue from the first line 白日依山尽:\n白日依山尽，" in out
    assert os.path.isfile(tmp_path / "exports" / "tang_poetry" / "1" / "saved_model.pb")
    assert example.main([str(tmp_path / "missing.*.json")]) == 2
