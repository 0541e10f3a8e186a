"""Functional-API model constructors, each with its objective.

A builder returns the models; its `*_objective()` gives the `(loss, metrics)` they train
with. `compile=True` (the default) also compiles them with the spec's optimizer settings
through `rnnapps.training.compile_model`, the one place rnnapps compiles; the apps build
with `compile=False` and compile through `App._compile`, which calls the same function.
"""

from rnnapps.builders.classifier import POOLINGS, TASKS, ClassifierSpec, build_classifier, classifier_objective
from rnnapps.builders.language_model import (
    LanguageModels,
    LanguageModelSpec,
    build_language_model,
    language_model_objective,
)
from rnnapps.builders.seq2seq import (
    ATTENTIONS,
    Seq2SeqModels,
    Seq2SeqSpec,
    build_seq2seq,
    decoder_step_fn,
    seq2seq_objective,
)

__all__ = [
    "ATTENTIONS",
    "POOLINGS",
    "TASKS",
    "ClassifierSpec",
    "LanguageModelSpec",
    "LanguageModels",
    "Seq2SeqModels",
    "Seq2SeqSpec",
    "build_classifier",
    "build_language_model",
    "build_seq2seq",
    "classifier_objective",
    "decoder_step_fn",
    "language_model_objective",
    "seq2seq_objective",
]
