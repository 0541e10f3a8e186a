"""The language-model builder: four models, one set of weights, and they agree."""

import math

import keras
import numpy as np
import pytest

from rnnapps.builders.language_model import LanguageModelSpec, build_language_model, language_model_loss
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
