"""Per-step and per-layer gradient norms: batch logs equal an independent recomputation,
epoch logs are their means, TensorBoard gets them per step, every trainer has them."""

import glob

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnapps.builders.language_model import LanguageModelSpec, build_language_model, language_model_loss
from rnnapps.training import GradientNormMean, GradientNormMonitor, make_optimizer
from rnnapps.training.stateful import StatefulTrainer
from tests.helpers import run_serialization_test

VOCAB = 12
RNG = np.random.default_rng(3)
IDS = RNG.integers(2, VOCAB, (8, 7)).astype("int32")
TARGETS = np.roll(IDS, -1, axis=1)


def lm(cell="gru", depth=2):
    spec = LanguageModelSpec(cell=cell, units=6, embedding_dim=5, depth=depth, optimizer="sgd", learning_rate=1e-9, clipnorm=None)
    return build_language_model(VOCAB, spec)


def recomputed_norms(model, ids, targets):
    """Global and per-layer norms of the mean token cross-entropy, by a GradientTape of our own."""
    with tf.GradientTape() as tape:
        logits = model(ids, training=True)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits))
    grads = tape.gradient(loss, model.trainable_variables)
    dense = [tf.convert_to_tensor(g).numpy() for g in grads]  # IndexedSlices -> dense, duplicates summed
    norms = {"grad_norm": float(np.sqrt(sum(np.sum(g**2) for g in dense)))}
    for layer in model.layers:
        if layer.trainable_variables:
            ids_ = {id(v) for v in layer.trainable_variables}
            squares = [np.sum(g**2) for g, v in zip(dense, model.trainable_variables) if id(v) in ids_]
            norms[f"grad_norm/{layer.name}"] = float(np.sqrt(sum(squares)))
    return norms


def test_batch_logs_hold_each_steps_norms_and_epoch_logs_their_mean():
    models = lm()
    first = recomputed_norms(models.train, IDS[:4], TARGETS[:4])
    second = recomputed_norms(models.train, IDS[4:], TARGETS[4:])  # lr 1e-9: the weights barely move
    assert set(first) == {"grad_norm", "grad_norm/embedding", "grad_norm/lm_gru_0", "grad_norm/lm_gru_1", "grad_norm/logits"}
    monitor = GradientNormMonitor()
    history = models.train.fit(IDS, TARGETS, batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[monitor])
    assert monitor.steps["step"] == [1, 2]
    for key, value in first.items():
        assert monitor.steps[key][0] == pytest.approx(value, rel=1e-4), key
        assert monitor.steps[key][1] == pytest.approx(second[key], rel=1e-4), key
        assert history.history[key][0] == pytest.approx((value + second[key]) / 2, rel=1e-4), key
    # The global norm is the root of the summed squares of the layer norms.
    layers = [v for k, v in first.items() if k != "grad_norm"]
    assert first["grad_norm"] == pytest.approx(float(np.sqrt(np.sum(np.square(layers)))), rel=1e-5)


def test_repeated_ids_are_summed_before_the_embedding_norm():
    models = lm(depth=1)
    repeated = np.full((4, 7), 3, dtype="int32")  # one id everywhere: IndexedSlices rows all alike
    expected = recomputed_norms(models.train, repeated, repeated)
    monitor = GradientNormMonitor()
    models.train.fit(repeated, repeated, batch_size=4, epochs=1, verbose=0, callbacks=[monitor])
    assert monitor.steps["grad_norm/embedding"][0] == pytest.approx(expected["grad_norm/embedding"], rel=1e-4)


def test_tensorboard_gets_the_norms_of_every_step(tmp_path):
    import tensorboard  # noqa: F401  (required by rnnapps; Keras' TensorBoard callback writes nothing without it)
    from rnnapps.training import default_callbacks

    models = lm(depth=1)
    callbacks = default_callbacks(False, early_stopping_patience=None, tensorboard_dir=str(tmp_path))
    models.train.fit(IDS, TARGETS, batch_size=2, epochs=2, verbose=0, callbacks=callbacks)
    steps = {}
    for path in glob.glob(str(tmp_path / "train" / "events.out.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                steps.setdefault(value.tag, []).append(event.step)
    assert len(steps["batch_grad_norm"]) == 8  # 4 steps x 2 epochs
    assert len(steps["batch_grad_norm/lm_gru_0"]) == 8
    assert len(steps["epoch_grad_norm/logits"]) == 2


def test_stateful_trainer_logs_the_wrapped_models_layers():
    models = lm(cell="lstm", depth=2)
    trainer = StatefulTrainer(models.forward, 4, models.state_sizes)
    trainer.compile(optimizer=make_optimizer("sgd", 1e-9, clipnorm=None), loss=language_model_loss())
    resets = np.array([True] * 4)
    with tf.GradientTape() as tape:
        logits = trainer((IDS[:4], resets), training=True)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=TARGETS[:4], logits=logits))
    grads = tape.gradient(loss, trainer.trainable_variables)
    expected = float(tf.linalg.global_norm([tf.convert_to_tensor(g) for g in grads]))
    trainer.reset_carried_states()
    monitor = GradientNormMonitor()
    data = tf.data.Dataset.from_tensors(((IDS[:4], resets), TARGETS[:4]))
    history = trainer.fit(data, epochs=1, verbose=0, callbacks=[monitor])
    assert monitor.steps["grad_norm"][0] == pytest.approx(expected, rel=1e-4)
    assert {"grad_norm/lm_lstm_0", "grad_norm/lm_lstm_1", "grad_norm/embedding", "grad_norm/logits"} <= set(history.history)


def test_mixed_float16_loss_scale_is_undone_in_the_logs():
    from rnnapps.training import precision_scope

    with precision_scope("mixed_float16"):
        inputs = keras.Input((3,))
        hidden = keras.layers.Dense(4, activation="tanh", name="hidden")(inputs)
        outputs = keras.layers.Dense(1, dtype="float32", name="out")(hidden)
        from rnnapps.training import GradNormModel

        model = GradNormModel(inputs, outputs)
        model.compile(optimizer=make_optimizer("sgd", 1e-9, clipnorm=None), loss="mse")
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    x = RNG.normal(size=(8, 3)).astype("float32")
    y = (0.1 * x.sum(axis=1, keepdims=True)).astype("float32")  # scaled gradients fit in float16
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(tf.cast(model(x, training=True), tf.float32) - y))
    expected = float(tf.linalg.global_norm(tape.gradient(loss, model.trainable_variables)))
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert float(model.optimizer.dynamic_scale) > 1000  # the gradients really were scaled
    assert history.history["grad_norm"][0] == pytest.approx(expected, rel=2e-2)  # float16 maths


def test_gradient_norm_mean_serializes_and_averages():
    metric = GradientNormMean(["grad_norm", "grad_norm/x"])
    run_serialization_test(metric)
    metric.update_state([1.0, 4.0])
    metric.update_state([3.0, 0.0])
    assert {k: float(v) for k, v in metric.result().items()} == {"grad_norm": 2.0, "grad_norm/x": 2.0}
    metric.update_state([float("inf"), 1.0], skip_non_finite=True)  # an overflowing loss-scaled step
    assert {k: float(v) for k, v in metric.result().items()} == {"grad_norm": 2.0, "grad_norm/x": 2.0}
    metric.reset_state()
    assert float(metric.result()["grad_norm"]) == 0.0
