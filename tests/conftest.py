"""Shared pytest set-up: quiet TensorFlow, fresh Keras state and seeds per test, `large` marker."""

import os

# Must be set before TensorFlow is imported anywhere.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--run-large", action="store_true", default=False, help="also run tests marked large")


# The longest test files, longest first. With `--dist loadfile` each file runs on one
# worker, in collection order: starting these first lets both workers finish together
# instead of one idling while the other runs a long file collected late.
LONGEST_FILES_FIRST = (
    "tests/apps/test_translator.py",
    "tests/serving/test_rest.py",  # exports the tiny apps (tiny_exports) and starts the server
    "tests/test_quickstart.py",
    "tests/test_fuzz.py",
    "tests/apps/test_distributed_apps.py",
    "tests/test_cli_translate.py",
    "tests/test_cli_lm.py",
    "tests/apps/test_sentiment_distributed.py",
    "tests/apps/test_sentiment.py",
    "tests/apps/test_generator.py",
    "tests/apps/test_poetry.py",
    "tests/export/test_serving_graphs.py",
    "tests/apps/test_concurrency.py",
    "tests/test_cli_poetry.py",
    "tests/apps/test_resume_subprocess.py",
    "tests/test_export.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {path: index for index, path in enumerate(LONGEST_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: the rest keep their order
    if config.getoption("--run-large"):
        return
    skip_large = pytest.mark.skip(reason="large test: run with --run-large")
    for item in items:
        if "large" in item.keywords:
            item.add_marker(skip_large)


@pytest.fixture(autouse=True)
def fresh_keras_state():
    """Every test starts from a clean Keras session and fixed seeds.

    `free_memory=False` skips the `gc.collect()` that `clear_session` runs by default:
    ~0.25 s per test once TensorFlow is loaded, and Python collects garbage anyway.
    """
    import keras

    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(1234)
    yield


@pytest.fixture(scope="session")
def trained_classifier(tmp_path_factory):
    """A small trained 3-class SentimentClassifier shared by read-only tests."""
    import keras

    from tests.helpers import tiny_sentiment_data
    import rnnapps

    keras.utils.set_random_seed(7)
    texts, labels = tiny_sentiment_data()
    clf = rnnapps.SentimentClassifier(cell="gru", units=16, embedding_dim=16)
    clf.fit(texts, labels, epochs=20, batch_size=16, validation_split=0.0, verbose=0)
    return clf


@pytest.fixture(scope="session")
def tiny_exports(tmp_path_factory):
    """The four apps trained for one epoch on tiny data and exported under one base dir
    (quickstart names: sentiment, language_model, poetry, translator): `{name: version_dir}`.

    Built once per test run, even with several xdist workers: the first worker to get
    here builds it in the run's shared temporary root, the others wait for its marker.
    """
    import json
    import time

    from tests.helpers import export_tiny_apps

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the workers of this run
    base, done = root / "tiny_exports", root / "tiny_exports.json"
    try:
        os.mkdir(root / "tiny_exports.building")  # atomic: exactly one builder
    except FileExistsError:
        deadline = time.time() + 900
        while not done.exists():
            if time.time() > deadline:
                raise TimeoutError("another worker did not finish exporting the tiny apps")
            time.sleep(1)
        exports = json.loads(done.read_text())
        if "error" in exports:
            raise RuntimeError(f"exporting the tiny apps failed in another worker: {exports['error']}")
        return exports
    try:
        exports = export_tiny_apps(str(base))
    except BaseException as error:
        done.write_text(json.dumps({"error": repr(error)}))
        raise
    done.write_text(json.dumps(exports))
    return exports
