"""What every app's save/load guarantees (rnnapps/apps/base.py): never touch a folder
that is not provably an rnnapps save, repair a replacement cut short, refuse tampering."""

import json
import os

import pytest

import rnnapps
from rnnapps.apps.base import is_saved_app
from rnnapps.errors import ModelFileError


def test_save_refuses_a_project_folder_that_merely_has_a_config_json(trained_classifier, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "config.json").write_text(json.dumps({"name": "my-web-app", "debug": True}))
    (project / "main.py").write_text("print('precious')")
    with pytest.raises(ModelFileError, match="not an rnnapps save.*nothing was changed"):
        trained_classifier.save(project)
    assert sorted(os.listdir(project)) == ["config.json", "main.py"]
    assert sorted(os.listdir(tmp_path)) == ["project"]


def test_save_into_the_working_directory_is_refused(trained_classifier, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "data.csv").write_text("a,b")
    with pytest.raises(ModelFileError, match="refusing to overwrite"):
        trained_classifier.save(".")
    assert sorted(os.listdir(tmp_path)) == ["config.json", "data.csv"]


def test_only_a_readable_rnnapps_config_proves_a_save(trained_classifier, tmp_path):
    path = trained_classifier.save(tmp_path / "clf")
    assert is_saved_app(path)
    for document in ({"app": "SentimentClassifier"}, {"app": 3, "format_version": 1, "config": {}}, [1]):
        (tmp_path / "other").mkdir(exist_ok=True)
        (tmp_path / "other" / "config.json").write_text(json.dumps(document))
        assert not is_saved_app(tmp_path / "other")


def test_load_restores_a_save_left_renamed_aside_by_a_kill(trained_classifier, tmp_path):
    path = trained_classifier.save(tmp_path / "clf")
    os.rename(path, f"{path}.old-0123abcd")  # what a kill between the two renames leaves
    loaded = rnnapps.load(path)
    assert loaded.label_names == trained_classifier.label_names
    assert sorted(os.listdir(tmp_path)) == ["clf"]
