"""`HeadEnsembleModel` (heads trained apart, mean predicted) and `HeadSelection` (best weights per head)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnapps.layers import StackHeads
from rnnapps.training import HeadEnsembleModel, default_callbacks
from rnnapps.training.head_selection import HeadSelection
from tests.helpers import run_model_saving_test

RNG = np.random.default_rng(3)
X = RNG.normal(size=(32, 4)).astype("float32")
Y = (X[:, 0] > 0).astype("int32") + (X[:, 1] > 0).astype("int32")  # 3 classes


def two_heads(shared=False):
    inputs = keras.Input((4,))
    first = keras.layers.Dense(3, activation="softmax", name="first_out")
    heads = [first(inputs), (first if shared else keras.layers.Dense(3, activation="softmax", name="second_out"))(inputs)]
    model = HeadEnsembleModel(inputs, StackHeads(["first", "second"])(heads))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_predicts_the_mean_of_its_heads():
    model = two_heads()
    stacked = keras.ops.convert_to_numpy(model.head_outputs(X))
    np.testing.assert_allclose(model.predict(X, verbose=0), stacked.mean(axis=1), rtol=1e-6)
    assert model.compute_output_spec(keras.KerasTensor((None, 4))).shape == (None, 3)


def test_each_head_trains_on_its_own_loss_and_the_loss_is_their_sum():
    model = two_heads()
    history = model.fit(X, Y, validation_data=(X, Y), epochs=2, batch_size=32, verbose=0).history
    for prefix in ("", "val_"):
        total = np.array(history[f"{prefix}first_loss"]) + np.array(history[f"{prefix}second_loss"])
        np.testing.assert_allclose(history[f"{prefix}loss"], total, rtol=1e-5)
    assert "val_grad_norm" not in history and "grad_norm/second_out" in history
    # The gradient of one head's weights comes from its own loss only.
    with tf.GradientTape() as tape:
        loss, _ = model._loss_and_prediction(X, Y, None, training=True)
    gradients = tape.gradient(loss, model.get_layer("first_out").trainable_variables)
    with tf.GradientTape() as tape:
        alone = keras.losses.sparse_categorical_crossentropy(Y, model.head_outputs(X)[:, 0])
        alone = keras.ops.mean(alone)
    expected = tape.gradient(alone, model.get_layer("first_out").trainable_variables)
    for got, want in zip(gradients, expected):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_round_trips_through_keras_files(tmp_path):
    restored = run_model_saving_test(two_heads(), X, tmp_path)
    assert type(restored) is HeadEnsembleModel and restored.head_names == ["first", "second"]


def test_head_weights_are_disjoint_and_sharing_is_refused():
    groups = two_heads().head_weights()
    assert [w.path for w in groups["first"]] == ["first_out/kernel", "first_out/bias"]
    assert [w.path for w in groups["second"]] == ["second_out/kernel", "second_out/bias"]
    with pytest.raises(ValueError, match="share"):
        two_heads(shared=True).head_weights()
    inputs = keras.Input((4,))
    with pytest.raises(ValueError, match="StackHeads"):
        HeadEnsembleModel(inputs, keras.layers.Dense(3)(inputs))


def run_epochs(callback, model, losses):
    """Drives `callback` through epochs whose head losses are given; each epoch first moves
    every weight to `epoch + 1`, so restored values name the epoch they came from."""
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, (first, second) in enumerate(losses):
        for weight in model.weights:
            weight.assign(np.full(weight.shape, epoch + 1.0, "float32"))
        callback.on_epoch_end(epoch, {"val_first_loss": first, "val_second_loss": second})
        if model.stop_training:
            break
    callback.on_train_end()
    return epoch


def test_selection_restores_each_heads_best_epoch():
    model = two_heads()
    last = run_epochs(HeadSelection(patience=None), model, [(0.5, 0.9), (0.7, 0.6), (0.8, 0.4), (0.9, 0.5)])
    assert last == 3
    assert np.all(model.get_layer("first_out").kernel.numpy() == 1.0)  # first head: best at epoch 1
    assert np.all(model.get_layer("second_out").kernel.numpy() == 3.0)  # second head: best at epoch 3


def test_selection_stops_once_no_head_improves_for_patience_epochs():
    model = two_heads()
    model.stop_training = False
    losses = [(0.5, 0.9), (0.6, 0.8), (0.7, 0.85), (0.8, 0.9), (0.1, 0.1)]
    assert run_epochs(HeadSelection(patience=2), model, losses) == 3  # the second head last improved at epoch 2
    assert np.all(model.get_layer("second_out").kernel.numpy() == 2.0)


def test_default_callbacks_use_selection_for_head_ensembles():
    names = [type(c).__name__ for c in default_callbacks(True, per_head=True)]
    assert "HeadSelection" in names and "EarlyStopping" not in names
    budgeted = [c for c in default_callbacks(True, per_head=True, early_stopping_patience=None, time_limit=60)]
    [selection] = [c for c in budgeted if isinstance(c, HeadSelection)]
    assert selection.patience is None  # a budget keeps the restore, never stops early
