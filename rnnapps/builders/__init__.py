"""Functional-API model constructors. Each builds, creates its optimizer and compiles."""

from rnnapps.builders.classifier import POOLINGS, TASKS, ClassifierSpec, build_classifier
from rnnapps.builders.language_model import LanguageModels, LanguageModelSpec, build_language_model
from rnnapps.builders.seq2seq import ATTENTIONS, Seq2SeqModels, Seq2SeqSpec, build_seq2seq, decoder_step_fn

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
    "decoder_step_fn",
]
