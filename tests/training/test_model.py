"""`GradNormModel`: `grad_norm` in the fit logs equals an independent pre-clip gradient norm."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnapps.training import GradNormModel, make_optimizer
from tests.helpers import run_model_saving_test

RNG = np.random.default_rng(11)
X = RNG.normal(size=(8, 3)).astype("float32")
# Large targets give gradients far above any clipping threshold used below.
Y = (X @ np.array([[2.0], [-1.0], [0.5]], dtype="float32") + 40.0).astype("float32")


def dense_model(optimizer):
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(4, activation="tanh")(inputs)
    model = GradNormModel(inputs, keras.layers.Dense(1)(hidden))
    model.compile(optimizer=optimizer, loss="mse")
    return model


def expected_grad_norm(model, x, y):
    """Global L2 norm of the gradient of the mean squared error, computed independently."""
    with tf.GradientTape() as tape:
        predictions = model(x, training=True)
        loss = tf.reduce_mean(tf.square(predictions - y))
    gradients = tape.gradient(loss, model.trainable_variables)
    return float(np.sqrt(sum(np.sum(np.square(g.numpy())) for g in gradients)))


@pytest.mark.parametrize(
    "clipping", [{}, {"clipnorm": 0.01}, {"global_clipnorm": 0.01}, {"clipvalue": 0.001}]
)
def test_grad_norm_equals_pre_clip_global_norm_of_a_single_step(clipping):
    options = dict(clipnorm=None)
    options.update(clipping)
    model = dense_model(make_optimizer("sgd", 1e-12, **options))
    expected = expected_grad_norm(model, X, Y)
    assert expected > 1.0  # far above the clipping thresholds: the log must be pre-clip
    history = model.fit(X, Y, batch_size=len(X), epochs=1, shuffle=False, verbose=0)
    assert history.history["grad_norm"][0] == pytest.approx(expected, rel=1e-4)


def test_grad_norm_is_the_epoch_mean_of_the_batch_norms():
    model = dense_model(make_optimizer("sgd", 1e-12, clipnorm=None))
    first = expected_grad_norm(model, X[:4], Y[:4])
    second = expected_grad_norm(model, X[4:], Y[4:])
    assert abs(first - second) > 1e-3 * first  # the two batches differ, so the mean is a real test
    history = model.fit(X, Y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert history.history["grad_norm"][0] == pytest.approx((first + second) / 2, rel=1e-4)


def test_grad_norm_logged_per_epoch_and_not_for_validation():
    model = dense_model(make_optimizer("adam", 0.01))
    history = model.fit(X, Y, validation_data=(X, Y), batch_size=4, epochs=3, verbose=0)
    assert len(history.history["grad_norm"]) == 3
    assert all(np.isfinite(value) and value > 0 for value in history.history["grad_norm"])
    assert "val_grad_norm" not in history.history
    assert "val_loss" in history.history
    # Each epoch starts a fresh mean: with learning the norm changes from epoch to epoch.
    assert len(set(np.round(history.history["grad_norm"], 6))) == 3
    assert "grad_norm" not in model.evaluate(X, Y, verbose=0, return_dict=True)


def test_logged_loss_and_sample_weights_follow_keras():
    model = dense_model(make_optimizer("sgd", 1e-12, clipnorm=None))
    expected_loss = float(np.mean((keras.ops.convert_to_numpy(model(X)) - Y) ** 2))
    history = model.fit(X, Y, batch_size=len(X), epochs=1, verbose=0)
    assert history.history["loss"][0] == pytest.approx(expected_loss, rel=1e-4)


def test_saved_and_reloaded_as_grad_norm_model(tmp_path):
    model = dense_model(make_optimizer("adam", 0.01))
    model.fit(X, Y, epochs=1, verbose=0)
    restored = run_model_saving_test(model, X, tmp_path)
    assert type(restored) is GradNormModel
    history = restored.fit(X, Y, epochs=1, verbose=0)
    assert "grad_norm" in history.history


def test_grad_norm_of_a_built_classifier_matches_recomputation():
    from rnnapps.builders import ClassifierSpec, build_classifier

    spec = ClassifierSpec(embedding_dim=4, units=4, cell="lstm", bidirectional=True, optimizer="sgd", learning_rate=1e-12)
    model = build_classifier(10, 2, "binary", spec)
    ids = np.array([[2, 3, 4, 5], [6, 7, 0, 0], [8, 1, 9, 0]], dtype="int32")
    targets = np.array([[1.0], [0.0], [1.0]], dtype="float32")
    with tf.GradientTape() as tape:
        probabilities = tf.clip_by_value(model(ids, training=True), 1e-7, 1 - 1e-7)
        loss = -tf.reduce_mean(targets * tf.math.log(probabilities) + (1 - targets) * tf.math.log(1 - probabilities))
    expected = tf.linalg.global_norm(tape.gradient(loss, model.trainable_variables)).numpy()
    history = model.fit(ids, targets, batch_size=3, epochs=1, shuffle=False, verbose=0)
    assert history.history["grad_norm"][0] == pytest.approx(float(expected), rel=1e-4)
