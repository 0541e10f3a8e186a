"""The apps: glue between data, builders, training and export. Each saves and exports whole."""

from rnnapps.apps.base import App, load
from rnnapps.apps.generator import PerplexityReport, TextGenerator
from rnnapps.apps.poetry import PoetryGenerator, PoetryReport
from rnnapps.apps.sentiment import ClassifierPredictions, SentimentClassifier
from rnnapps.apps.translator import Translation, TranslationReport, Translator

__all__ = [
    "App", "ClassifierPredictions", "PerplexityReport", "PoetryGenerator", "PoetryReport", "SentimentClassifier", "TextGenerator", "Translation",
    "TranslationReport", "Translator", "load",
]
