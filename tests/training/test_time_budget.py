"""Time-budgeted training: parsing, the schedule, stopping on time, best weights, resume."""

import io

import keras
import numpy as np
import pytest

import rnnapps
from rnnapps.errors import ConfigError
from rnnapps.training import time_budget
from rnnapps.training.progress import ProgressLine, format_seconds, shown_logs
from rnnapps.training.time_budget import TimeBudget, budget_learning_rate_factor, parse_time_limit
from tests.helpers import tiny_sentiment_data


class FakeClock:
    """Advances `tick` seconds every time it is read: training time in units of clock reads."""

    def __init__(self, tick=1.0):
        self.now, self.tick = 0.0, tick

    def __call__(self):
        self.now += self.tick
        return self.now


@pytest.mark.parametrize("value,seconds", [
    (90, 90.0), (2.5, 2.5), ("45", 45.0), ("15m", 900.0), ("1h30m", 5400.0), ("1.5h", 5400.0), (" 90s ", 90.0),
    ("2m 30s", 150.0), (None, None),
])
def test_time_limits_parse(value, seconds):
    assert parse_time_limit(value) == seconds


@pytest.mark.parametrize("value", [0, -5, "0m", "abc", "15 minutes", "m", float("nan"), float("inf"), True, [1], "5x"])
def test_bad_time_limits_are_config_errors(value):
    with pytest.raises(ConfigError, match="time_limit"):
        parse_time_limit(value)


def test_budget_schedule_warms_up_then_decays_to_the_end():
    factors = [budget_learning_rate_factor(f / 100) for f in range(0, 101)]
    peak = factors.index(max(factors))
    assert factors[0] == pytest.approx(0.1) and max(factors) == pytest.approx(1.0)
    assert all(a <= b for a, b in zip(factors[:peak], factors[1:peak + 1]))  # warm-up rises
    assert all(a >= b for a, b in zip(factors[peak:], factors[peak + 1:]))  # then falls
    assert factors[-1] == pytest.approx(0.05) and budget_learning_rate_factor(3.0) == pytest.approx(0.05)


def _tiny_model():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(keras.optimizers.Adam(0.01), "mse")
    return model


def test_time_budget_stops_after_the_batch_that_crosses_it_and_restores_the_rate():
    model = _tiny_model()
    x, y = np.ones((64, 4)), np.ones((64, 1))
    seen_rates = []
    budget = TimeBudget(10.0, clock=FakeClock(1.0), verbose=False)
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen_rates.append(float(model.optimizer.learning_rate))
    )
    history = model.fit(x, y, batch_size=8, epochs=100, verbose=0, callbacks=[budget, record])
    # Two clock reads per batch (schedule, stop check): 10 s last ~5 batches, in epoch 1 of 100.
    assert budget.stopped_on_time and len(history.epoch) == 1
    assert 4 <= len(seen_rates) <= 6
    assert seen_rates[-1] < seen_rates[1]  # the schedule decayed the rate towards the end
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)  # and fit leaves the planned rate
    assert history.history[time_budget.TRAIN_SECONDS][-1] >= 10.0


def test_constant_schedule_keeps_the_rate():
    model = _tiny_model()
    rates = []
    budget = TimeBudget(6.0, schedule="constant", clock=FakeClock(1.0), verbose=False)
    record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: rates.append(float(model.optimizer.learning_rate)))
    model.fit(np.ones((64, 4)), np.ones((64, 1)), batch_size=8, epochs=5, verbose=0, callbacks=[budget, record])
    assert budget.stopped_on_time and rates and all(rate == pytest.approx(0.01) for rate in rates)


def test_unknown_schedule_is_refused():
    with pytest.raises(ConfigError, match="lr_schedule"):
        TimeBudget(5.0, schedule="linear")
    clf = rnnapps.SentimentClassifier(units=4, embedding_dim=4)
    texts, labels = tiny_sentiment_data(per_class=5)
    with pytest.raises(ConfigError, match="lr_schedule"):
        clf.fit(texts, labels, time_limit=5, lr_schedule="linear", verbose=0)
    with pytest.raises(ConfigError, match="time_limit"):
        clf.fit(texts, labels, time_limit="soon", verbose=0)


def test_app_fit_stops_on_time_and_restores_the_best_weights(monkeypatch):
    monkeypatch.setattr(time_budget, "_monotonic", FakeClock(1.0))
    texts, labels = tiny_sentiment_data(per_class=40)
    clf = rnnapps.SentimentClassifier(units=8, embedding_dim=8, learning_rate=0.05)
    snapshots = []
    keep = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: snapshots.append(clf.model.get_weights()))
    # 108 training texts / 16 = 7 batches an epoch, 2 clock reads a batch: 60 s last ~4-5 epochs of 1000.
    clf.fit(texts, labels, epochs=1000, batch_size=16, time_limit=60, early_stopping_patience=None, seed=0,
            verbose=0, callbacks=[keep])
    epochs = len(clf.history.epoch)
    assert 3 <= epochs <= 6, epochs
    seconds = clf.history.history["train_seconds"]
    assert seconds == sorted(seconds) and 60 <= seconds[-1] <= 63
    # Early stopping was off, yet the app ends on the weights of its best validation epoch.
    best = int(np.argmin(clf.history.history["val_loss"]))
    for restored, kept in zip(clf.model.get_weights(), snapshots[best]):
        np.testing.assert_array_equal(restored, kept)
    assert best != epochs - 1 or all(  # (when the last epoch is the best, it is trivially kept)
        np.array_equal(a, b) for a, b in zip(clf.model.get_weights(), snapshots[-1])
    )


def test_resumed_fit_continues_the_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(time_budget, "_monotonic", FakeClock(1.0))
    texts, labels = tiny_sentiment_data(per_class=40)

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("simulated crash")

    options = dict(epochs=1000, batch_size=16, time_limit=60, early_stopping_patience=None, seed=0, verbose=0,
                   backup_dir=str(tmp_path / "backup"))
    with pytest.raises(RuntimeError, match="simulated crash"):
        rnnapps.SentimentClassifier(units=8, embedding_dim=8).fit(texts, labels, callbacks=[Crash()], **options)
    clf = rnnapps.SentimentClassifier(units=8, embedding_dim=8)
    clf.fit(texts, labels, **options)
    seconds = clf.history.history["train_seconds"]
    # The two epochs before the crash count against the budget: the whole history fits in it.
    assert len(seconds) >= 3 and seconds[:2] == sorted(seconds[:2])
    assert seconds == sorted(seconds) and 60 <= seconds[-1] <= 63, seconds


def test_progress_line_shows_the_readable_figures_and_the_time_left():
    stream = io.StringIO()
    budget = TimeBudget(100.0, clock=FakeClock(0.5), verbose=False)
    progress = ProgressLine(steps_hint=8, budget=budget, stream=stream)
    model = _tiny_model()
    model.fit(np.ones((64, 4)), np.ones((64, 1)), batch_size=8, epochs=2, verbose=2, callbacks=[budget, progress])
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("Epoch 1/2 (1:40 of the time limit left)")
    assert lines[1].startswith("8/8 - ") and "left of the time limit" in lines[1] and "loss " in lines[1]
    assert lines[2].startswith("Epoch 2/2 (")
    assert "grad_norm/" not in stream.getvalue() and "train_seconds" not in stream.getvalue()


def test_progress_helpers():
    assert shown_logs({"val_loss": 1, "accuracy": 2, "loss": 3, "grad_norm/x": 4}) == [
        ("loss", 3), ("accuracy", 2), ("val_loss", 1)
    ]
    # A head ensemble's per-head losses: only the validation ones are shown.
    assert shown_logs({"loss": 3, "ngram_loss": 1, "val_ngram_loss": 2}) == [("loss", 3), ("val_ngram_loss", 2)]
    assert format_seconds(59.6) == "1:00" and format_seconds(3600) == "1:00:00"
