"""The on-disk format of a saved app: file names, provenance checks, and the size guard
that refuses a tampered `model.keras` before Keras allocates its layers."""

import importlib
import json
import os
import zipfile

import keras

from rnnapps.errors import ModelFileError
from rnnapps.io_utils import read_json_file, recover_directory

CONFIG_FILE = "config.json"
MODEL_FILE = "model.keras"
VOCABULARY_FILE = "vocabulary.json"
HISTORY_FILE = "history.json"
FORMAT_VERSION = 1
# Keys of Keras layer configs that size a layer's weights.
MODEL_SIZE_KEYS = ("input_dim", "output_dim", "units")


def _ints_under(value, keys):
    """Every int stored under one of `keys`, anywhere in a nested JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in keys and type(item) is int:
                yield item
            else:
                yield from _ints_under(item, keys)
    elif isinstance(value, list):
        for item in value:
            yield from _ints_under(item, keys)


def is_saved_app(path):
    """True when `path` is provably an rnnapps save: its `config.json` is a JSON object
    naming an app (a string) and an integer format version. Only such a directory is
    ever replaced by `save`; any other folder is refused, even one with a `config.json`.

    Example:
        >>> is_saved_app("/")
        False
    """
    try:
        with open(os.path.join(os.fspath(path), CONFIG_FILE), encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, ValueError):
        return False
    return (
        isinstance(document, dict)
        and isinstance(document.get("app"), str)
        and type(document.get("format_version")) is int
        and "config" in document
    )


def read_saved_config(path):
    """Reads and checks `config.json` of a saved app directory (restoring a save that a
    kill left renamed aside, see `rnnapps.io_utils`)."""
    path = os.fspath(path)
    recover_directory(path, is_saved_app)
    config_path = os.path.join(path, CONFIG_FILE)
    if not os.path.isdir(path):
        raise ModelFileError(f"no saved app at {path}: the directory does not exist")
    if not os.path.isfile(config_path):
        raise ModelFileError(f"{path} is not a saved rnnapps app: {CONFIG_FILE} is missing")
    document = read_json_file(config_path, "app config")
    if not isinstance(document, dict) or not isinstance(document.get("app"), str):
        raise ModelFileError(f"{config_path} does not describe an rnnapps app")
    version = document.get("format_version", 0)
    if type(version) is not int or version < 0:
        raise ModelFileError(f"{config_path} is damaged: format_version must be an integer, got {version!r}; save the app again")
    for key in ("config", "state"):
        if not isinstance(document.get(key, {}), dict):
            raise ModelFileError(f"{config_path} is damaged: {key!r} must be an object; save the app again")
    if document.get("format_version", 0) > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was saved by a newer rnnapps (format {document['format_version']}); upgrade rnnapps to load it"
        )
    return document


def check_model_file_sizes(model_path, bound):
    """Raises `ModelFileError` when `model.keras` declares a layer larger than `bound`
    (a tampered file must not exhaust memory); a file that is not a readable zip passes
    (`keras.saving.load_model` reports the damage)."""
    try:
        with zipfile.ZipFile(model_path) as archive:
            config = json.loads(archive.read("config.json"))
    except Exception:  # not a zip, no config: load_model reports the damage
        return
    largest = max(_ints_under(config, MODEL_SIZE_KEYS), default=0)
    if largest > bound:
        raise ModelFileError(
            f"{model_path} declares a layer of size {largest}, far beyond the app's options and vocabulary "
            f"(at most {bound}): the files do not belong together or were edited; save the app again"
        )


def check_declared_sizes(path, declared, weights):
    """Raises `ModelFileError` when a size config.json declares (`{"units": 64, ...}`) is no
    dimension of the loaded `weights`: the files come from different saves or were edited."""
    dimensions = {dim for weight in weights for dim in weight.shape}
    wrong = {key: value for key, value in declared.items() if value not in dimensions}
    if wrong:
        raise ModelFileError(
            f"{path}/{CONFIG_FILE} gives sizes {wrong} that the weights in {MODEL_FILE} do not have: "
            "the files come from different saves or were edited; save the app again"
        )


def load_model_file(model_path):
    """Loads a save's `model.keras` (call it in the app's scope); `ModelFileError` for a damaged
    file, or one holding Python code (a Lambda layer's bytecode), which is refused, never run."""
    importlib.import_module("rnnapps.layers")  # registers the custom layers
    try:
        # safe_mode=True (explicit, whatever Keras' default).
        return keras.saving.load_model(model_path, safe_mode=True)
    except Exception as error:  # zip, HDF5 and deserialization errors all mean: damaged file
        if "safe_mode" in str(error):
            raise ModelFileError(
                f"{model_path} holds Python code (e.g. a Lambda layer) and was refused: rnnapps only loads "
                "models built from its own layers; re-save the app with rnnapps"
            ) from None
        raise ModelFileError(f"{model_path} is corrupted or incompatible: {type(error).__name__}: {error}") from None
