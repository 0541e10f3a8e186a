"""`default_callbacks` contents and `SaveBestApp`, which saves only on improvement."""

import math
import os

import keras
import numpy as np
import pytest

from rnnapps.errors import ConfigError
from rnnapps.training import GradientNormMonitor, SaveBestApp, default_callbacks
from rnnapps.training.progress import ProgressLine
from rnnapps.training.time_budget import TimeBudget
from rnnapps.training.resume import EpochHistoryLog


def of_type(callbacks, kind):
    found = [callback for callback in callbacks if isinstance(callback, kind)]
    assert len(found) == 1, [type(c).__name__ for c in callbacks]
    return found[0]


@pytest.mark.parametrize("has_validation, monitor", [(True, "val_loss"), (False, "loss")])
def test_early_stopping_restores_best_weights_on_the_right_key(has_validation, monitor):
    callbacks = default_callbacks(has_validation, early_stopping_patience=5)
    assert [type(c) for c in callbacks] == [
        keras.callbacks.TerminateOnNaN, GradientNormMonitor, keras.callbacks.EarlyStopping, ProgressLine
    ]
    stopping = callbacks[2]
    assert stopping.monitor == monitor
    assert stopping.restore_best_weights is True
    assert stopping.patience == 5


def test_early_stopping_can_be_turned_off():
    callbacks = default_callbacks(True, early_stopping_patience=None, monitor_gradients=False)
    assert [type(c) for c in callbacks] == [keras.callbacks.TerminateOnNaN, ProgressLine]


def test_time_limit_adds_the_budget_before_the_history_log_and_keeps_the_best_weights(tmp_path):
    callbacks = default_callbacks(
        True, early_stopping_patience=None, time_limit=30.0, backup_dir=str(tmp_path / "b"), base_learning_rate=0.5
    )
    kinds = [type(c) for c in callbacks]
    budget = of_type(callbacks, TimeBudget)
    assert budget.seconds == 30.0 and budget.configured_learning_rate == 0.5
    assert budget.history_log is of_type(callbacks, EpochHistoryLog)
    assert kinds.index(TimeBudget) < kinds.index(EpochHistoryLog)  # train_seconds is in the logs it keeps
    assert of_type(callbacks, keras.callbacks.EarlyStopping).restore_best_weights  # even with early stopping off
    assert of_type(callbacks, ProgressLine).budget is budget and kinds[-1] is ProgressLine


def test_optional_callbacks_when_directories_are_given(tmp_path):
    import tensorboard  # noqa: F401  (a required dependency of rnnapps: imported, never mocked)

    saved = []
    user = [keras.callbacks.History(), keras.callbacks.LambdaCallback()]
    callbacks = default_callbacks(
        False,
        save_fn=saved.append,
        checkpoint_dir=str(tmp_path / "checkpoints"),
        tensorboard_dir=str(tmp_path / "tb"),
        backup_dir=str(tmp_path / "backup"),
        extra=user,
    )
    assert of_type(callbacks, keras.callbacks.TensorBoard).log_dir == str(tmp_path / "tb")
    assert of_type(callbacks, keras.callbacks.BackupAndRestore).backup_dir == str(tmp_path / "backup")
    assert of_type(callbacks, keras.callbacks.TensorBoard).update_freq == 1  # per-step gradient norms
    # The history log must come after BackupAndRestore: it reads the epoch the backup resumes at.
    kinds = [type(c) for c in callbacks]
    assert kinds.index(EpochHistoryLog) == kinds.index(keras.callbacks.BackupAndRestore) + 1
    saver = of_type(callbacks, SaveBestApp)
    assert saver.directory == os.path.join(str(tmp_path / "checkpoints"), "best")
    assert saver.monitor == "loss" and saver.save_fn == saved.append
    assert callbacks[-3:-1] == user  # user callbacks come last, in order, before the progress line


def test_no_optional_callbacks_without_directories():
    callbacks = default_callbacks(True, save_fn=lambda path: None)
    kinds = {type(c) for c in callbacks}
    assert not kinds & {SaveBestApp, keras.callbacks.TensorBoard, keras.callbacks.BackupAndRestore, EpochHistoryLog}


def test_checkpoint_needs_a_save_function(tmp_path):
    assert not any(isinstance(c, SaveBestApp) for c in default_callbacks(True, checkpoint_dir=str(tmp_path)))


def test_save_best_app_saves_only_on_improvement():
    calls = []
    saver = SaveBestApp(lambda path: calls.append(path), "ckpt/best")
    values = [1.0, 0.8, 0.9, 0.8, 0.5, math.nan, None, 0.6]
    for epoch, value in enumerate(values):
        saver.on_epoch_end(epoch, {} if value is None else {"val_loss": value})
    assert calls == ["ckpt/best"] * 3  # epochs 0, 1 and 4
    assert saver.best == 0.5 and saver.best_epoch == 4


def test_save_best_app_max_mode():
    epochs = []
    saver = SaveBestApp(lambda path: epochs.append(len(epochs)), "d", monitor="val_accuracy", mode="max")
    for epoch, value in enumerate([0.5, 0.7, 0.6, 0.9]):
        saver.on_epoch_end(epoch, {"val_accuracy": value, "val_loss": 0.0})
    assert len(epochs) == 3 and saver.best_epoch == 3 and saver.best == 0.9


def test_save_best_app_rejects_bad_mode():
    with pytest.raises(ConfigError):
        SaveBestApp(print, "d", mode="lowest")


def test_save_best_app_during_fit(tmp_path):
    saved_at = []
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(keras.optimizers.SGD(0.1), "mse")
    x = np.array([[1.0, 2.0], [3.0, 4.0]], dtype="float32")
    saver = SaveBestApp(lambda path: saved_at.append(path), str(tmp_path), monitor="loss")
    history = model.fit(x, np.array([[1.0], [2.0]]), epochs=3, verbose=0, callbacks=[saver])
    losses = history.history["loss"]
    improvements = sum(1 for i, loss in enumerate(losses) if loss < min(losses[:i], default=math.inf))
    assert len(saved_at) == improvements >= 1
    assert saver.best == pytest.approx(min(losses))
