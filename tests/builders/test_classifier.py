"""`build_classifier` / `ClassifierSpec`: every cell x direction x depth trains, poolings are
padding-invariant, heads, pretrained embeddings, invalid specs and `.keras` round trips."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnapps.builders import ClassifierSpec, build_classifier
from rnnapps.errors import ConfigError
from rnnapps.layers import AttentionPooling, HighwayConnection, LastValidStep, MaskedPooling
from rnnapps.training import GradNormModel
from tests.helpers import run_model_saving_test

VOCABULARY_SIZE = 12
# Right-padded ids of different lengths (0 = padding).
IDS = np.array(
    [[2, 3, 4, 5, 6, 7], [8, 9, 10, 0, 0, 0], [11, 2, 0, 0, 0, 0], [5, 1, 3, 9, 0, 0]], dtype="int32"
)
MULTICLASS_TARGETS = np.array([0, 1, 2, 1], dtype="int32")


def tiny_spec(**options):
    settings = dict(embedding_dim=4, units=4)
    settings.update(options)
    return ClassifierSpec(**settings)


def weights_of(model):
    return [keras.ops.convert_to_numpy(v).copy() for v in model.trainable_variables]


def train_one_step(model, targets, eager=False):
    if eager:
        # Same train_step, without tracing a graph (3-10x faster for these tiny models).
        model.run_eagerly = True
    before = weights_of(model)
    history = model.fit(IDS, targets, batch_size=len(IDS), epochs=1, verbose=0, shuffle=False)
    after = weights_of(model)
    loss = history.history["loss"][0]
    assert np.isfinite(loss)
    changed = [not np.array_equal(b, a) for b, a in zip(before, after)]
    names = [v.path for v in model.trainable_variables]
    assert all(changed), f"unchanged after one step: {[n for n, c in zip(names, changed) if not c]}"
    return history


@pytest.mark.parametrize("depth", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", ["simple", "irnn", "gru", "lstm"])
def test_every_cell_direction_and_depth_trains_one_step(cell, bidirectional, depth):
    spec = tiny_spec(cell=cell, bidirectional=bidirectional, depth=depth)
    model = build_classifier(VOCABULARY_SIZE, 3, "multiclass", spec)
    rnn_layers = [layer for layer in model.layers if layer.name.startswith("rnn_")]
    assert len(rnn_layers) == depth
    wrapper = keras.layers.Bidirectional if bidirectional else keras.layers.RNN
    assert all(isinstance(layer, wrapper) for layer in rnn_layers)
    assert model.output_shape == (None, 3)
    # Depth 1 trains through the traced graph like a real fit; depth 2 runs the same
    # train_step eagerly to keep the 16 combinations within the test-time budget.
    train_one_step(model, MULTICLASS_TARGETS, eager=depth == 2)


@pytest.mark.parametrize("pooling, layer_type, bidirectional", [
    ("last", None, True), ("last", None, False), ("mean", MaskedPooling, True), ("max", MaskedPooling, True),
    ("attention", AttentionPooling, True),
])
def test_each_pooling_builds_trains_and_ignores_padding(pooling, layer_type, bidirectional):
    spec = tiny_spec(cell="gru", bidirectional=bidirectional, pooling=pooling)
    model = build_classifier(VOCABULARY_SIZE, 3, "multiclass", spec)
    if layer_type is not None:
        assert isinstance(model.get_layer(f"{pooling}_pooling"), layer_type)
    else:
        assert model.get_layer("final_hidden") is not None
    train_one_step(model, MULTICLASS_TARGETS)
    # A text scores the same alone as when right-padded next to a longer text.
    alone = keras.ops.convert_to_numpy(model(np.array([[8, 9, 10]], dtype="int32")))
    batched = keras.ops.convert_to_numpy(model(np.array([[8, 9, 10, 0, 0, 0, 0], [2, 3, 4, 5, 6, 7, 11]], dtype="int32")))
    np.testing.assert_allclose(batched[0], alone[0], rtol=1e-5, atol=1e-6)
    assert not np.allclose(batched[1], alone[0])


def masked_reference(model):
    """The same layers wired the classic way: a masked recurrent loop, its final state."""
    ids = keras.Input((None,), dtype="int32")
    x = model.get_layer("embedding")(ids)
    mask = keras.ops.not_equal(ids, 0)
    rnns = [layer for layer in model.layers if layer.name.startswith("rnn_")]
    for rnn in rnns:
        x, *states = rnn(x, mask=mask)
    return keras.Model(ids, model.get_layer("probabilities")(states[0]))


def loss_gradients(model, ids, targets):
    with tf.GradientTape() as tape:
        loss = keras.losses.sparse_categorical_crossentropy(targets, model(ids, training=True))
    return [keras.ops.convert_to_numpy(g) for g in tape.gradient(loss, model.trainable_variables)]


@pytest.mark.parametrize("cell, depth", [("lstm", 1), ("gru", 2), ("simple", 1), ("irnn", 2)])
def test_forward_last_pooling_runs_unmasked_and_equals_the_masked_loop(cell, depth, tmp_path):
    # Forward stacks read at the last step leave the mask out of the recurrent loop
    # (fewer ops per step); outputs and gradients must equal the masked loop's.
    model = build_classifier(VOCABULARY_SIZE, 3, "multiclass", tiny_spec(cell=cell, depth=depth))
    assert model.get_layer("embedding").mask_zero is False
    assert isinstance(model.get_layer("final_hidden"), LastValidStep)
    train_one_step(model, MULTICLASS_TARGETS)  # non-trivial weights
    reference = masked_reference(model)
    np.testing.assert_allclose(model(IDS), reference(IDS), rtol=1e-5, atol=1e-6)
    ours, theirs = loss_gradients(model, IDS, MULTICLASS_TARGETS), loss_gradients(reference, IDS, MULTICLASS_TARGETS)
    assert len(ours) == len(theirs) == len(model.trainable_variables)
    for mine, expected in zip(ours, theirs):
        np.testing.assert_allclose(mine, expected, rtol=1e-4, atol=1e-6)
    restored = run_model_saving_test(model, IDS, tmp_path)
    assert isinstance(restored.get_layer("final_hidden"), LastValidStep)


@pytest.mark.parametrize("options", [dict(bidirectional=True), dict(pooling="mean"), dict(depth=3, connection="residual")])
def test_other_stacks_keep_the_masked_loop(options):
    model = build_classifier(VOCABULARY_SIZE, 3, "multiclass", tiny_spec(**options))
    assert model.get_layer("embedding").mask_zero is True


# Saving an untrained model stores an unbuilt optimizer; Keras warns when reloading it.
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
@pytest.mark.parametrize("connection, layer_type", [("residual", keras.layers.Add), ("highway", HighwayConnection)])
def test_depth_two_connections_exist_and_save(connection, layer_type, tmp_path):
    spec = tiny_spec(cell="lstm", depth=2, bidirectional=True, connection=connection, pooling="mean")
    model = build_classifier(VOCABULARY_SIZE, 3, "multiclass", spec)
    layer = model.get_layer(f"rnn_{connection}_1")
    assert isinstance(layer, layer_type)
    assert tuple(layer.output.shape) == (None, None, 8)
    assert [l.name for l in model.layers if isinstance(l, layer_type)] == [f"rnn_{connection}_1"]
    restored = run_model_saving_test(model, IDS, tmp_path)
    assert isinstance(restored.get_layer(f"rnn_{connection}_1"), layer_type)


def test_last_pooling_keeps_connections_below_the_top_layer():
    spec = tiny_spec(cell="gru", depth=3, connection="highway", pooling="last")
    model = build_classifier(VOCABULARY_SIZE, 3, "multiclass", spec)
    assert isinstance(model.get_layer("rnn_highway_1"), HighwayConnection)


@pytest.mark.parametrize("depth, pooling", [(1, "mean"), (1, "last"), (2, "last")])
def test_connection_that_would_be_ignored_raises_config_error(depth, pooling):
    # depth 1 has nothing to connect; "last" pooling at depth 2 reads the top layer's
    # states, which bypass the only connection.
    with pytest.raises(ConfigError, match="no effect"):
        ClassifierSpec(depth=depth, pooling=pooling, connection="residual")


def test_binary_head():
    model = build_classifier(VOCABULARY_SIZE, 2, "binary", tiny_spec())
    assert model.output_shape == (None, 1)
    assert model.layers[-1].get_config()["activation"] == "sigmoid"
    assert isinstance(model.loss, keras.losses.BinaryCrossentropy)
    train_one_step(model, np.array([[0], [1], [1], [0]], dtype="float32"))
    probabilities = model.predict(IDS, verbose=0)
    assert np.all((probabilities > 0) & (probabilities < 1))


def test_multiclass_head():
    model = build_classifier(VOCABULARY_SIZE, 3, "multiclass", tiny_spec())
    assert model.output_shape == (None, 3)
    assert model.layers[-1].get_config()["activation"] == "softmax"
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)
    np.testing.assert_allclose(model.predict(IDS, verbose=0).sum(axis=1), np.ones(4), rtol=1e-5)


def test_multilabel_head():
    model = build_classifier(VOCABULARY_SIZE, 4, "multilabel", tiny_spec(hidden_units=3, head_dropout=0.1))
    assert model.output_shape == (None, 4)
    assert model.layers[-1].get_config()["activation"] == "sigmoid"
    assert isinstance(model.loss, keras.losses.BinaryCrossentropy)
    assert model.get_layer("hidden").units == 3
    targets = np.array([[1, 0, 1, 0], [0, 0, 0, 1], [1, 1, 0, 0], [0, 0, 0, 0]], dtype="float32")
    model.fit(IDS, targets, epochs=1, verbose=0)
    probabilities = model.predict(IDS, verbose=0)
    assert probabilities.shape == (4, 4)
    assert not np.allclose(probabilities.sum(axis=1), 1.0)  # independent sigmoids


@pytest.mark.parametrize(
    "num_classes, task", [(3, "binary"), (1, "multiclass"), (3, "regression")]
)
def test_invalid_task_or_class_count(num_classes, task):
    with pytest.raises(ConfigError):
        build_classifier(VOCABULARY_SIZE, num_classes, task, tiny_spec())


def test_embedding_weights_initialise_the_embedding():
    weights = np.arange(VOCABULARY_SIZE * 4, dtype="float32").reshape(VOCABULARY_SIZE, 4) / 100
    model = build_classifier(VOCABULARY_SIZE, 2, "binary", tiny_spec(trainable_embeddings=False), embedding_weights=weights)
    embedding = model.get_layer("embedding")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(embedding.embeddings), weights)
    assert embedding.trainable is False
    model.fit(IDS, np.array([[0], [1], [1], [0]], dtype="float32"), epochs=1, verbose=0)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(embedding.embeddings), weights)  # frozen


def test_wrong_embedding_weights_shape_raises_config_error():
    with pytest.raises(ConfigError, match="embedding_weights"):
        build_classifier(VOCABULARY_SIZE, 2, "binary", tiny_spec(), embedding_weights=np.zeros((VOCABULARY_SIZE, 5)))


@pytest.mark.parametrize(
    "options",
    [
        {"cell": "transformer"},
        {"pooling": "sum"},
        {"connection": "dense"},
        {"merge_mode": "max"},
        {"depth": 0},
        {"units": 0},
        {"embedding_dim": 0},
        {"hidden_units": -1},
        {"dropout": 1.0},
        {"recurrent_dropout": -0.5},
        {"head_dropout": 1.0},
        {"learning_rate": 0},
        {"clipnorm": 0.5, "global_clipnorm": 2.0},
        {"clipnorm": 0.5, "clipvalue": 0.1},
        {"global_clipnorm": 1.0, "clipvalue": 0.1},
        {"clipnorm": -1.0},
    ],
)
def test_invalid_spec_raises_config_error(options):
    with pytest.raises(ConfigError):
        ClassifierSpec(**options)


def test_spec_clipping_defaults_and_dict_round_trip():
    assert ClassifierSpec().clipnorm == 1.0
    spec = ClassifierSpec(global_clipnorm=5.0, cell="gru", units=8)
    assert (spec.clipnorm, spec.global_clipnorm, spec.clipvalue) == (None, 5.0, None)
    assert ClassifierSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(ConfigError, match="unknown"):
        ClassifierSpec.from_dict({"cells": "gru"})


def test_spec_optimizer_settings_reach_the_model():
    spec = tiny_spec(optimizer="sgd", learning_rate=0.05, global_clipnorm=2.0, optimizer_options={"momentum": 0.5})
    model = build_classifier(VOCABULARY_SIZE, 3, "multiclass", spec)
    optimizer = model.optimizer
    assert isinstance(optimizer, keras.optimizers.SGD)
    assert float(keras.ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(0.05)
    assert (optimizer.clipnorm, optimizer.global_clipnorm, optimizer.momentum) == (None, 2.0, 0.5)


def test_saved_model_reloads_as_grad_norm_model_with_identical_predictions(tmp_path):
    spec = tiny_spec(cell="gru", pooling="attention")
    model = build_classifier(VOCABULARY_SIZE, 3, "multiclass", spec)
    model.fit(IDS, MULTICLASS_TARGETS, epochs=1, verbose=0)
    restored = run_model_saving_test(model, IDS, tmp_path)
    assert type(restored) is GradNormModel
    history = restored.fit(IDS, MULTICLASS_TARGETS, epochs=1, verbose=0)
    assert np.isfinite(history.history["grad_norm"][0])
