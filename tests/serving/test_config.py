"""Model bases from command-line arguments, TF Serving's model_config_list, `rnnapps serving-config`."""

import pytest

from rnnapps.cli import main
from rnnapps.errors import ConfigError
from rnnapps.serving.config import find_model_bases, model_config_list


@pytest.fixture()
def exports(tmp_path):
    for name in ("sentiment", "translator"):
        (tmp_path / "saved_models" / name / "1").mkdir(parents=True)
    (tmp_path / "saved_models" / "README.md").write_text("exports land here")
    return tmp_path / "saved_models"


def test_model_bases_from_globs_folders_and_names(exports):
    skipped = []
    bases = find_model_bases([str(p) for p in sorted(exports.iterdir())], skipped)  # like saved_models/*
    assert sorted(bases) == ["sentiment", "translator"] and skipped[0][1] == "not a directory"
    assert find_model_bases([str(exports)]) == bases  # a folder of model bases
    assert find_model_bases([f"reviews={exports / 'sentiment'}"]) == {"reviews": str(exports / "sentiment")}
    with pytest.raises(ConfigError, match="does not exist"):
        find_model_bases([str(exports / "nope")])
    with pytest.raises(ConfigError, match="two model bases"):
        find_model_bases([f"x={exports / 'sentiment'}", f"x={exports / 'translator'}"])


def test_serving_config_prints_a_model_config_list(exports, capsys):
    assert main(["serving-config", str(exports), "--path-prefix", "/models", "--num-versions", "2"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("model_config_list {") and text.count("config {") == 2
    assert 'base_path: "/models/sentiment"' in text and "latest { num_versions: 2 }" in text
    local = model_config_list(find_model_bases([str(exports)]))
    assert f'base_path: "{exports / "translator"}"' in local and "model_version_policy" not in local
    assert main(["serve", str(exports / "missing")]) == 2
