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
