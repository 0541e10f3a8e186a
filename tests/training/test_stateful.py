"""`StatefulTrainer`: state carried across consecutive windows, reset where flagged."""

import numpy as np
import pytest

from rnnapps.builders.language_model import LanguageModelSpec, build_language_model, language_model_loss
from rnnapps.errors import ConfigError
from rnnapps.training.stateful import StatefulTrainer

STREAM = np.array([[3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3]], dtype="int32")


def models():
    return build_language_model(12, LanguageModelSpec(cell="lstm", units=6, embedding_dim=6, depth=2))


def test_second_window_continues_from_the_first_windows_states():
    lm = models()
    trainer = StatefulTrainer(lm.forward, 2, lm.state_sizes)
    whole = lm.train.predict(STREAM, verbose=0)
    first = trainer((STREAM[:, :4], np.array([True, True]))).numpy()
    second = trainer((STREAM[:, 4:], np.array([False, False]))).numpy()
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, rtol=1e-5, atol=1e-5)


def test_reset_rows_start_from_zero_state_and_others_continue():
    lm = models()
    trainer = StatefulTrainer(lm.forward, 2, lm.state_sizes)
    trainer((STREAM[:, :4], np.array([True, True])))
    logits = trainer((STREAM[:, 4:], np.array([True, False]))).numpy()
    fresh = lm.train.predict(STREAM[:, 4:], verbose=0)
    whole = lm.train.predict(STREAM, verbose=0)
    np.testing.assert_allclose(logits[0], fresh[0], rtol=1e-5, atol=1e-5)  # reset: as if new
    np.testing.assert_allclose(logits[1], whole[1, 4:], rtol=1e-5, atol=1e-5)  # carried on
    trainer.reset_carried_states()
    assert all(not np.any(v.numpy()) for v in trainer.carried)


def test_fit_on_consecutive_windows_trains_the_shared_weights():
    lm = models()
    trainer = StatefulTrainer(lm.forward, 2, lm.state_sizes)
    trainer.compile(optimizer="adam", loss=language_model_loss())
    inputs = [(STREAM[:, i : i + 3], np.array([i == 0] * 2)) for i in (0, 3)]
    targets = [STREAM[:, i + 1 : i + 4] for i in (0, 3)]
    before = lm.step.get_weights()[0].copy()

    def batches():
        for (ids, reset), target in zip(inputs, targets):
            yield (ids, reset), target

    import tensorflow as tf

    data = tf.data.Dataset.from_generator(
        batches,
        output_signature=(
            (tf.TensorSpec((2, 3), tf.int32), tf.TensorSpec((2,), tf.bool)),
            tf.TensorSpec((2, 3), tf.int32),
        ),
    )
    history = trainer.fit(data, epochs=3, verbose=0)
    assert "grad_norm" in history.history and history.history["loss"][-1] < history.history["loss"][0]
    assert not np.allclose(lm.step.get_weights()[0], before)  # the step model sees the training


def test_batch_size_must_be_positive():
    lm = models()
    with pytest.raises(ConfigError, match="batch_size"):
        StatefulTrainer(lm.forward, 0, lm.state_sizes)
