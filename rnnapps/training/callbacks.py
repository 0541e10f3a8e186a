"""Default callbacks, and `SaveBestApp`, which checkpoints a whole app (not bare weights)."""

import math
import os

import keras

from rnnapps.errors import ConfigError
from rnnapps.training.head_selection import HeadSelection
from rnnapps.training.monitor import GradientNormMonitor
from rnnapps.training.progress import ProgressLine
from rnnapps.training.resume import EpochHistoryLog
from rnnapps.training.time_budget import TimeBudget


NEVER_STOP = 10**9  # an early-stopping patience that only restores the best weights


class SaveBestApp(keras.callbacks.Callback):
    """Saves the whole app (model + vocabulary + config) whenever `monitor` improves.

    Unlike `keras.callbacks.ModelCheckpoint` on the id model, the checkpoint reloads
    with `rnnapps.load` and can never mismatch its vocabulary. Saving is atomic (the app's
    `save` writes a temporary directory and renames it), so a crash mid-save keeps the
    previous best.

    Args:
        save_fn: called with a directory path; saves the app there.
        directory: where the best checkpoint lives.
        monitor: the log key to watch ("val_loss" or "loss").
        mode: "min" or "max".

    Example:
        >>> callback = SaveBestApp(app.save, "checkpoints/best")  # doctest: +SKIP
    """

    def __init__(self, save_fn, directory, monitor="val_loss", mode="min"):
        super().__init__()
        if mode not in ("min", "max"):
            raise ConfigError(f"mode must be 'min' or 'max', got {mode!r}")
        self.save_fn = save_fn
        self.directory = directory
        self.monitor = monitor
        self.mode = mode
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or math.isnan(float(value)):
            return
        better = value < self.best if self.mode == "min" else value > self.best
        if better:
            self.best = float(value)
            self.best_epoch = epoch
            self.save_fn(self.directory)


def default_callbacks(
    has_validation,
    save_fn=None,
    checkpoint_dir=None,
    early_stopping_patience=3,
    tensorboard_dir=None,
    backup_dir=None,
    extra=None,
    verbose=1,
    tensorboard_update_freq=1,
    monitor_gradients=True,
    time_limit=None,
    lr_schedule="budget",
    steps_hint=None,
    base_learning_rate=None,
    per_head=False,
):
    """The callbacks every app trains with, plus the user's own.

    - `EarlyStopping` on `val_loss` (or `loss` without validation data) that restores
      the best weights; `early_stopping_patience=None` turns it off. With `per_head`
      (a `HeadEnsembleModel`), `HeadSelection` in its place: the same per head.
    - `SaveBestApp` into `<checkpoint_dir>/best` when `checkpoint_dir` and `save_fn` are given.
    - `TerminateOnNaN`.
    - `GradientNormMonitor` (unless `monitor_gradients=False`): keeps every step's
      gradient norms and warns when they explode or collapse.
    - `TensorBoard` into `tensorboard_dir` when given, writing the batch logs (this
      step's gradient norms, running loss) every `tensorboard_update_freq` steps
      ("epoch": epoch logs only).
    - `BackupAndRestore` into `backup_dir` when given: rerunning the same fit after a
      crash resumes at the last finished epoch, optimizer state included; followed by
      `EpochHistoryLog`, which keeps the history of the interrupted epochs.
    - `TimeBudget` when `time_limit` (seconds) is given: training ends once it is spent,
      with the learning rate planned over it (`lr_schedule`, from `base_learning_rate`,
      the configured rate, so a resumed fit plans from the same rate); the best validation
      weights are restored even when early stopping is off.
    - `ProgressLine`, a readable progress line (`steps_hint`: estimated batches per
      epoch), in place of Keras' progress bar.

    Example:
        >>> [type(c).__name__ for c in default_callbacks(True)]
        ['TerminateOnNaN', 'GradientNormMonitor', 'EarlyStopping', 'ProgressLine']
    """
    monitor = "val_loss" if has_validation else "loss"
    callbacks = [keras.callbacks.TerminateOnNaN()]
    if monitor_gradients:
        callbacks.append(GradientNormMonitor())
    verbose_stop = bool(verbose)
    if early_stopping_patience is None and time_limit is not None:
        # A budgeted fit always ends on its best validation weights: "patience" longer
        # than any budget keeps early stopping only for its restore.
        early_stopping_patience, verbose_stop = NEVER_STOP, False
    if early_stopping_patience is not None and per_head:
        patience = None if early_stopping_patience == NEVER_STOP else int(early_stopping_patience)
        callbacks.append(HeadSelection(patience, verbose=verbose_stop))
    elif early_stopping_patience is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=monitor,
                patience=int(early_stopping_patience),
                restore_best_weights=True,
                verbose=1 if verbose_stop else 0,
            )
        )
    if checkpoint_dir is not None and save_fn is not None:
        callbacks.append(SaveBestApp(save_fn, os.path.join(checkpoint_dir, "best"), monitor=monitor))
    if tensorboard_dir is not None:
        # tensorboard is an install requirement of rnnapps (TensorFlow 2.21 no longer brings it).
        callbacks.append(keras.callbacks.TensorBoard(log_dir=tensorboard_dir, update_freq=tensorboard_update_freq))
    history_log = EpochHistoryLog(backup_dir) if backup_dir is not None else None
    budget = None
    if time_limit is not None:
        # Before EpochHistoryLog: the epoch's `train_seconds` must be in the logs it keeps.
        budget = TimeBudget(
            time_limit, schedule=lr_schedule, history_log=history_log, verbose=bool(verbose),
            base_learning_rate=base_learning_rate,
        )
        callbacks.append(budget)
    if backup_dir is not None:
        callbacks.append(keras.callbacks.BackupAndRestore(backup_dir=backup_dir))
        callbacks.append(history_log)
    callbacks.extend(extra or [])
    # Last: it shows what every other callback added to the logs.
    callbacks.append(ProgressLine(steps_hint=steps_hint, budget=budget))
    return callbacks
