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


def test_a_model_keras_with_a_lambda_layer_is_refused(trained_classifier, tmp_path):
    import keras

    path = trained_classifier.save(tmp_path / "clf")
    marker = str(tmp_path / "PWNED")
    inputs = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(trained_classifier.vectorizer.vocabulary_size, 4, name="embedding")(inputs)
    code = keras.layers.Lambda(lambda x: (open(marker, "w").close(), x)[1])(embedded)
    keras.Model(inputs, code).save(os.path.join(path, "model.keras"))
    os.remove(marker)  # building the model ran the lambda here; loading must not
    with pytest.raises(ModelFileError, match="holds Python code.*refused"):
        rnnapps.load(path)
    assert not os.path.exists(marker)


def tamper(path, edit):
    config_path = os.path.join(path, "config.json")
    with open(config_path) as handle:
        document = json.load(handle)
    edit(document)
    with open(config_path, "w") as handle:
        json.dump(document, handle)


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["state"].pop("label_names"),
        lambda d: d.update(format_version="1"),
        lambda d: d.update(format_version=None),
        lambda d: d.update(config=["units", 8]),
        lambda d: d["config"].update(units=4096),       # sizes that do not match the weights
        lambda d: d["config"].update(embedding_dim=37),
        lambda d: d["state"].update(label_names=7),
        lambda d: d.update(app=["SentimentClassifier"]),
    ],
    ids=["no-label-names", "string-version", "null-version", "list-config", "units", "embedding-dim",
         "int-label-names", "list-app"],
)
def test_a_tampered_config_is_a_model_file_error(trained_classifier, tmp_path, edit):
    path = trained_classifier.save(tmp_path / "clf")
    tamper(path, edit)
    with pytest.raises(ModelFileError):
        rnnapps.load(path)


def test_a_model_keras_declaring_a_huge_layer_is_refused_before_allocation(trained_classifier, tmp_path):
    import zipfile

    path = trained_classifier.save(tmp_path / "clf")
    model_path = os.path.join(path, "model.keras")
    with zipfile.ZipFile(model_path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["config.json"] = members["config.json"].replace(b'"input_dim": ', b'"input_dim": 40000000', 1)
    with zipfile.ZipFile(model_path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(ModelFileError, match="declares a layer of size 40000000"):
        rnnapps.load(path)


@pytest.mark.parametrize("batch_size", [-1, 0, 1.5, float("nan"), True, 2**40])
def test_predict_and_evaluate_refuse_a_bad_batch_size(trained_classifier, batch_size):
    from rnnapps.errors import ConfigError

    with pytest.raises(ConfigError, match="batch_size must be an integer"):
        trained_classifier.predict(["great film"], batch_size=batch_size)
    with pytest.raises(ConfigError, match="batch_size must be an integer"):
        trained_classifier.evaluate(["great film"], ["positive"], batch_size=batch_size)


@pytest.mark.parametrize(
    "option, value",
    [("epochs", 0), ("epochs", float("inf")), ("batch_size", -3), ("validation_split", float("nan")),
     ("validation_split", 1.0), ("early_stopping_patience", -1), ("shuffle_buffer", 0)],
)
def test_every_app_refuses_bad_fit_numbers_before_reading_data(option, value):
    from rnnapps.errors import ConfigError

    apps = [
        (rnnapps.SentimentClassifier(units=4, embedding_dim=4), (["a b", "c d"], ["x", "y"])),
        (rnnapps.TextGenerator(units=4, depth=1, embedding_dim=4), ("some text\n",)),
        (rnnapps.PoetryGenerator(units=4, depth=1, embedding_dim=4), (["床前明月光，疑是地上霜。举头望明月，低头思故乡。"],)),
        (rnnapps.Translator(units=4), ([("a", "b")],)),
    ]
    for app, data in apps:
        with pytest.raises(ConfigError, match=option):
            app.fit(*data, **{option: value}, verbose=0)
