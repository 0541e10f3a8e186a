"""rnnapps: recurrent neural network apps for real text work.

The apps are imported lazily so that ``import rnnapps`` (and ``rnnapps --help``)
stays fast; TensorFlow is loaded the first time an app is touched.

Example:
    >>> import rnnapps
    >>> clf = rnnapps.SentimentClassifier(cell="lstm", bidirectional=True)  # doctest: +SKIP
    >>> clf.fit(["great film", "awful film"], ["positive", "negative"])      # doctest: +SKIP
    >>> clf.predict(["great film"]).labels                                   # doctest: +SKIP
    ['positive']
"""

__version__ = "0.1.0"

from rnnapps.errors import (  # noqa: F401  (light: no TensorFlow import)
    ConfigError,
    DataError,
    DataUnavailableError,
    ModelFileError,
    RnnappsError,
)

_LAZY = {
    "SentimentClassifier": "rnnapps.apps.sentiment",
    "TextGenerator": "rnnapps.apps.generator",
    "PoetryGenerator": "rnnapps.apps.poetry",
    "Translator": "rnnapps.apps.translator",
    "load": "rnnapps.apps.base",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rnnapps' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
