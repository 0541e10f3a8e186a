"""Functional-API model constructors. Each builds, creates its optimizer and compiles."""

from rnnapps.builders.classifier import POOLINGS, TASKS, ClassifierSpec, build_classifier

__all__ = ["POOLINGS", "TASKS", "ClassifierSpec", "build_classifier"]
