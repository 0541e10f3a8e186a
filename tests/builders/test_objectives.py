"""Each builder's `*_objective()` and the one compile path (`rnnapps.training.compile_model`)."""

import keras
import pytest

from rnnapps.builders import (
    ClassifierSpec,
    LanguageModelSpec,
    Seq2SeqSpec,
    build_classifier,
    build_language_model,
    build_seq2seq,
    classifier_objective,
    language_model_objective,
    seq2seq_objective,
)
from rnnapps.errors import ConfigError
from rnnapps.training import compile_model

SETTINGS = dict(optimizer="sgd", learning_rate=0.05, global_clipnorm=3.0, optimizer_options={"momentum": 0.5})
KINDS = ["classifier", "language_model", "seq2seq"]


def build(kind, compile):
    """`(train model, objective, spec)` of one builder with the optimizer `SETTINGS`."""
    if kind == "classifier":
        spec = ClassifierSpec(cell="gru", units=4, embedding_dim=4, **SETTINGS)
        return build_classifier(20, 3, "multiclass", spec, compile=compile), classifier_objective("multiclass"), spec
    if kind == "language_model":
        spec = LanguageModelSpec(cell="gru", units=4, embedding_dim=4, depth=1, **SETTINGS)
        return build_language_model(20, spec, compile=compile).train, language_model_objective(), spec
    spec = Seq2SeqSpec(cell="gru", units=4, source_embedding_dim=4, target_embedding_dim=4, **SETTINGS)
    return build_seq2seq(20, 20, spec, compile=compile).train, seq2seq_objective(), spec


def optimizer_facts(model):
    optimizer = model.optimizer
    return type(optimizer), optimizer.clipnorm, optimizer.global_clipnorm, optimizer.momentum, float(optimizer.learning_rate.numpy())


@pytest.mark.parametrize("kind", KINDS)
def test_compile_true_equals_compile_model_with_the_spec_and_the_builders_objective(kind):
    compiled, objective, spec = build(kind, compile=True)
    assert optimizer_facts(compiled) == (keras.optimizers.SGD, None, 3.0, 0.5, pytest.approx(0.05))
    assert type(compiled.loss) is type(objective[0])
    bare, objective, spec = build(kind, compile=False)
    assert not bare.compiled
    compile_model(bare, objective, spec)
    assert optimizer_facts(bare) == optimizer_facts(compiled)
    assert type(bare.loss) is type(compiled.loss)


def test_every_spec_declares_the_same_keyword_only_optimizer_settings():
    for spec in (ClassifierSpec(), LanguageModelSpec(), Seq2SeqSpec()):
        assert (spec.optimizer, spec.clipnorm, spec.global_clipnorm, spec.clipvalue, spec.optimizer_options) == (
            "adam", 1.0, None, None, None,
        )
    assert LanguageModelSpec().learning_rate == 2e-3 and Seq2SeqSpec().learning_rate == 1e-3
    for make in (ClassifierSpec, LanguageModelSpec, Seq2SeqSpec):
        with pytest.raises(ConfigError, match="learning_rate"):
            make(learning_rate=0)
        with pytest.raises(ConfigError, match="only one of"):
            make(clipnorm=2.0, clipvalue=0.5)


def test_build_seq2seq_keywords_still_override_the_specs_optimizer_settings():
    spec = Seq2SeqSpec(cell="gru", units=4, source_embedding_dim=4, target_embedding_dim=4, learning_rate=5e-3)
    assert float(build_seq2seq(10, 10, spec).train.optimizer.learning_rate.numpy()) == pytest.approx(5e-3)
    assert float(build_seq2seq(10, 10, spec, learning_rate=1e-2).train.optimizer.learning_rate.numpy()) == pytest.approx(1e-2)


def test_classifier_objective_per_task():
    assert isinstance(classifier_objective("multiclass")[0], keras.losses.SparseCategoricalCrossentropy)
    for task in ("binary", "multilabel"):
        loss, metrics = classifier_objective(task)
        assert isinstance(loss, keras.losses.BinaryCrossentropy) and metrics[0].name == "accuracy"
    with pytest.raises(ConfigError, match="task"):
        classifier_objective("ranking")
