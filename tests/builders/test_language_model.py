"""The language-model builder: four models, one set of weights, and they agree."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnapps.builders import language_model as language_model_module
from rnnapps.builders.language_model import (
    LanguageModelSpec,
    build_language_model,
    fold_first_projection,
    language_model_loss,
)
from rnnapps.errors import ConfigError
from tests.helpers import run_model_saving_test

IDS = np.array([[3, 4, 5, 6, 7, 8], [5, 6, 9, 0, 0, 0], [2, 0, 0, 0, 0, 0]], dtype="int32")
LENGTHS = [6, 3, 1]


def tiny(cell="lstm", depth=2, tie=False, connection=None, vocab=12):
    spec = LanguageModelSpec(cell=cell, units=8, embedding_dim=8, depth=depth, tie_embeddings=tie, connection=connection)
    return build_language_model(vocab, spec)


def zero_states(models, batch):
    return [np.zeros((batch, size), "float32") for size in models.state_sizes]


@pytest.mark.parametrize(
    "cell,depth,tie,connection",
    [("lstm", 2, False, None), ("gru", 1, True, None), ("simple", 2, False, "residual"), ("irnn", 3, True, "highway")],
)
def test_step_by_step_logits_equal_the_train_model(cell, depth, tie, connection):
    models = tiny(cell, depth, tie, connection)
    full = models.train.predict(IDS, verbose=0)
    states = zero_states(models, len(IDS))
    for t in range(IDS.shape[1]):
        logits, *states = models.step.predict([IDS[:, t : t + 1]] + states, verbose=0)
        for row, length in enumerate(LENGTHS):
            if t < length:  # after the same prefix, the same next-token logits
                np.testing.assert_allclose(logits[row], full[row, t], rtol=1e-5, atol=1e-5)


def test_the_train_model_runs_its_recurrent_loop_without_the_mask():
    # Masked, a padding step would repeat the last real step's output; unmasked, it runs
    # the cell on the padding embedding. Real steps agree either way (the test above).
    models = randomised(tiny("gru", 1))
    full = models.train.predict(IDS, verbose=0)
    assert not np.allclose(full[1, 3], full[1, 2], atol=1e-4)
    prefill_logits = models.prefill.predict(IDS, verbose=0)[0]  # the masked path: last real step
    for row, length in enumerate(LENGTHS):
        np.testing.assert_allclose(prefill_logits[row], full[row, length - 1], rtol=1e-5, atol=1e-5)


def randomised(models, seed=0):
    """Non-zero biases too, so a step that dropped one would show."""
    rng = np.random.default_rng(seed)
    for weight in models.train.weights:
        weight.assign(rng.normal(scale=0.5, size=weight.shape).astype("float32"))
    return models


@pytest.mark.parametrize(
    "cell,depth,tie,connection,folded",
    [
        ("lstm", 2, False, None, True),
        ("gru", 1, True, None, True),
        ("simple", 2, False, "residual", True),
        ("irnn", 3, True, "highway", True),
        ("lstm", 2, True, None, False),  # unfolded, the step model runs: one case is enough
    ],
)
def test_token_step_equals_the_step_model(cell, depth, tie, connection, folded, monkeypatch):
    if not folded:
        monkeypatch.setattr(language_model_module, "FOLD_BUDGET", 0)
    models = randomised(tiny(cell, depth, tie, connection))
    assert fold_first_projection(12, 8, first_cell(models)) == folded

    @tf.function
    def run(tokens, states):
        return models.token_step()(tokens, tuple(states))

    rng = np.random.default_rng(1)
    states = [rng.normal(size=(5, size)).astype("float32") for size in models.state_sizes]
    tokens = np.array([0, 1, 4, 11, 7], "int32")  # padding and <unk> rows too
    expected_logits, *expected_states = models.step.predict([tokens[:, None]] + states, verbose=0)
    logits, new_states = run(tf.constant(tokens), [tf.constant(s) for s in states])
    np.testing.assert_allclose(logits.numpy(), expected_logits, rtol=1e-5, atol=1e-5)
    assert len(new_states) == len(expected_states)
    for mine, theirs in zip(new_states, expected_states):
        np.testing.assert_allclose(mine.numpy(), theirs, rtol=1e-5, atol=1e-5)


def first_cell(models):
    return next(layer for layer in models.train.layers if isinstance(layer, keras.layers.RNN)).cell


def test_fold_rule_follows_the_budget():
    cell = keras.layers.LSTMCell(256)
    cell.build((None, 64))
    assert fold_first_projection(65, 64, cell)  # 65 x 64 x 1024 multiply-adds
    assert not fold_first_projection(20_000, 64, cell)
    assert not fold_first_projection(65, 64, keras.layers.LSTMCell(8))  # not built: nothing to fold


def test_prefill_of_ragged_prompts_gives_last_logits_and_the_states_after_them():
    models = tiny()
    full = models.train.predict(IDS, verbose=0)
    last_logits, *prefill_states = models.prefill.predict(IDS, verbose=0)
    for row, length in enumerate(LENGTHS):
        np.testing.assert_allclose(last_logits[row], full[row, length - 1], rtol=1e-5, atol=1e-5)
        # The same states as feeding that prompt alone, token by token.
        states = zero_states(models, 1)
        for t in range(length):
            _, *states = models.step.predict([IDS[row : row + 1, t : t + 1]] + states, verbose=0)
        for mine, alone in zip(prefill_states, states):
            np.testing.assert_allclose(mine[row], alone[0], rtol=1e-5, atol=1e-5)


def test_forward_carries_state_across_windows():
    models = tiny("gru", depth=2)
    row = IDS[:1]
    whole = models.train.predict(row, verbose=0)
    first, *states = models.forward.predict([row[:, :4]] + zero_states(models, 1), verbose=0)
    second, *_ = models.forward.predict([row[:, 4:]] + states, verbose=0)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, rtol=1e-5, atol=1e-5)


def test_models_share_every_weight():
    models = tiny(tie=True)
    ids = {id(v) for v in models.train.weights}
    for model in (models.forward, models.prefill, models.step):
        assert {id(v) for v in model.weights} == ids
    # Tied: one matrix embeds and scores (no separate vocab x units output kernel).
    assert not [w for w in models.train.weights if tuple(w.shape) == (8, 12)]


def test_uniform_model_has_perplexity_equal_to_the_vocabulary_size():
    models = tiny(vocab=12)
    for weight in models.train.weights:  # all-zero weights: equal logits for every id
        weight.assign(np.zeros(weight.shape, weight.dtype))
    targets = np.array([[4, 5, 6, 7, 8, 9], [6, 9, 10, 0, 0, 0], [0, 0, 0, 0, 0, 0]], dtype="int32")
    loss = models.train.evaluate(IDS, targets, verbose=0)
    assert math.exp(loss) == pytest.approx(12, rel=1e-5)


def test_loss_ignores_padding_targets():
    logits = np.random.default_rng(0).normal(size=(1, 3, 5)).astype("float32")
    with_pad = float(language_model_loss()(np.array([[2, 3, 0]]), logits))
    log_probs = logits[0] - np.log(np.exp(logits[0]).sum(-1, keepdims=True))
    assert with_pad == pytest.approx(-(log_probs[0, 2] + log_probs[1, 3]) / 2, rel=1e-5)


def test_fit_lowers_the_loss_and_logs_grad_norm():
    models = tiny("gru", depth=1)
    text = np.array([[2, 3, 4, 5, 6, 7, 8, 9]] * 16, dtype="int32")
    history = models.train.fit(text[:, :-1], text[:, 1:], epochs=8, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert all(norm > 0 for norm in history.history["grad_norm"])


def test_train_model_round_trips_through_keras_files(tmp_path):
    run_model_saving_test(tiny(tie=True).train, IDS, tmp_path)


@pytest.mark.parametrize(
    "options,message",
    [
        ({"cell": "transformer"}, "cell"),
        ({"depth": 0}, "depth"),
        ({"dropout": 1.0}, "dropout"),
        ({"connection": "residual", "depth": 1}, "depth >= 2"),
        ({"tie_embeddings": True, "units": 16, "embedding_dim": 8}, "units == embedding_dim"),
    ],
)
def test_spec_errors_are_clear(options, message):
    with pytest.raises(ConfigError, match=message):
        LanguageModelSpec(**options)


def test_vocabulary_too_small():
    with pytest.raises(ConfigError, match="vocab_size"):
        build_language_model(2)
