"""`rnnapps poetry train|generate|export` on a tiny corpus (evaluate: its help; the report is tested on the app)."""

import json
import os

import pytest

from rnnapps.cli import main
from rnnapps.data.poems import poem_form, poem_lines

POEMS = [
    "静夜思\t李白\t床前明月光，疑是地上霜。举头望明月，低头思故乡。",
    "春晓\t孟浩然\t春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。",
    "登鹳雀楼\t王之涣\t白日依山尽，黄河入海流。欲穷千里目，更上一层楼。",
    "枫桥夜泊\t张继\t月落乌啼霜满天，江枫渔火对愁眠。姑苏城外寒山寺，夜半钟声到客船。",
]


def test_poetry_train_generate_export(tmp_path, capsys):
    corpus = tmp_path / "poems.txt"
    corpus.write_text("\n".join(POEMS * 3) + "\n", encoding="utf-8")
    model_dir = tmp_path / "poet"
    code = main(["poetry", "train", str(corpus), "-o", str(model_dir), "--cell", "gru", "--units", "16", "--depth", "1",
                 "--embedding-dim", "8", "--epochs", "1", "--batch-size", "4", "--validation-split", "0", "--seed", "1"])
    assert code == 0
    assert "saved poetry model" in capsys.readouterr().out

    assert main(["poetry", "generate", str(model_dir), "--form", "七绝", "--first-line", "月落乌啼霜满天", "--acrostic", "月江",
                 "--rhyme", "--num-poems", "2", "--seed", "2"]) == 0
    printed = capsys.readouterr().out.strip().split("\n\n")  # poems apart, one couplet per line
    assert len(printed) == 2
    for poem in printed:
        couplets = poem.splitlines()
        assert len(couplets) == 2 and couplets[0].startswith("月落乌啼霜满天，")
        assert poem_form("".join(couplets), strict=True) == "qijue" and poem_lines(poem)[1][0] == "江"

    assert main(["poetry", "export", str(model_dir), "--base-dir", str(tmp_path / "exports"), "--name", "tang"]) == 0
    assert os.path.isfile(tmp_path / "exports" / "tang" / "1" / "saved_model.pb")
    assert "tensorflow_model_server --model_name=tang" in capsys.readouterr().out

    assert main(["poetry", "generate", str(model_dir), "--form", "wujue", "--acrostic", "春夏秋冬雪"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnapps: error:") and "only 4 lines" in err and "Traceback" not in err


@pytest.mark.parametrize("argv,message", [
    (["poetry", "generate", "MISSING"], "no saved app"),
    (["poetry", "train", "missing.json", "-o", "x"], "no such file"),
])
def test_poetry_errors_are_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_poetry_help_texts(capsys):
    for action in ("train", "generate", "evaluate", "export"):
        with pytest.raises(SystemExit):
            main(["poetry", action, "--help"])
        assert f"usage: rnnapps poetry {action}" in capsys.readouterr().out
