"""Time-budgeted training: "give it 15 minutes, get the best model you can".

`TimeBudget` is a callback that ends `fit` once the budget is spent (after the batch that
crosses it; Keras then runs the epoch's validation, so early stopping can still restore the
best weights), and plans the learning rate over the budget: a short linear warm-up, then a
cosine decay that reaches `final_fraction` of the rate as the time runs out. Because the
schedule follows the clock rather than a step count, it needs no estimate of how many steps
fit in the budget. The elapsed training time is added to the epoch logs (`train_seconds`),
so a resumed fit (`BackupAndRestore` + `EpochHistoryLog`) continues the same budget and the
same schedule instead of starting them again.
"""

import math
import re
import time

import keras

from rnnapps.errors import ConfigError

TRAIN_SECONDS = "train_seconds"
SCHEDULES = ("budget", "constant")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([hms])")


def _monotonic():
    # Looked up at call time, so tests can replace the clock of every TimeBudget at once.
    return time.monotonic()


def check_lr_schedule(schedule):
    """Returns `schedule`, or raises `ConfigError` unless it is one of `SCHEDULES`.

    Example:
        >>> check_lr_schedule("budget")
        'budget'
    """
    if schedule not in SCHEDULES:
        raise ConfigError(f"lr_schedule must be one of {SCHEDULES}, got {schedule!r}")
    return schedule


def parse_time_limit(value):
    """Seconds from a time limit: a number of seconds, or a string such as "15m", "90s", "1h30m".

    `None` means no limit. Anything else (negative, zero, NaN, unknown units) is a `ConfigError`.

    Example:
        >>> parse_time_limit("1h30m"), parse_time_limit("15m"), parse_time_limit(90), parse_time_limit("45")
        (5400.0, 900.0, 90.0, 45.0)
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ConfigError(f"time_limit must be seconds or a duration such as '15m', got {value!r}")
    if isinstance(value, str):
        text = value.strip().lower()
        try:
            seconds = float(text)
        except ValueError:
            parts = _DURATION.findall(text)
            if not parts or _DURATION.sub("", text).strip():
                raise ConfigError(
                    f"time_limit {value!r} is not a duration: use seconds (900) or units h/m/s ('15m', '1h30m', '90s')"
                ) from None
            seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    else:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"time_limit must be seconds or a duration such as '15m', got {value!r}") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(f"time_limit must be a positive, finite duration, got {value!r}")
    return seconds


def budget_learning_rate_factor(fraction, warmup_fraction=0.02, final_fraction=0.05):
    """The factor on the base learning rate when `fraction` of the time budget is spent.

    Linear warm-up from 10% over the first `warmup_fraction`, then a cosine decay from 1 to
    `final_fraction` at the end of the budget (and `final_fraction` after it).

    Example:
        >>> [round(budget_learning_rate_factor(f), 3) for f in (0.0, 0.02, 0.51, 1.0, 2.0)]
        [0.1, 1.0, 0.525, 0.05, 0.05]
    """
    fraction = max(0.0, float(fraction))
    if fraction < warmup_fraction:
        return 0.1 + 0.9 * fraction / warmup_fraction
    progress = min(1.0, (fraction - warmup_fraction) / max(1e-9, 1.0 - warmup_fraction))
    return final_fraction + (1.0 - final_fraction) * 0.5 * (1.0 + math.cos(math.pi * progress))


class TimeBudget(keras.callbacks.Callback):
    """Stops `fit` when `seconds` of training time are spent; plans the learning rate over them.

    Args:
        seconds: the budget (see `parse_time_limit`).
        schedule: "budget" (warm-up then cosine decay to the end of the budget) or
            "constant" (the optimizer's rate as it is).
        history_log: the fit's `EpochHistoryLog` when it resumes from a backup: the
            training time of the epochs it restored counts against the budget.
        clock: a function returning seconds (default: `time.monotonic`; tests pass a fake clock).
        verbose: say so when the budget ends the training.
        base_learning_rate: the rate the schedule scales (default: the optimizer's rate
            when training starts; pass the configured rate so that a fit resumed from a
            backup, whose optimizer holds a scheduled rate, plans from the same one).

    Example:
        >>> model.fit(data, epochs=100, callbacks=[TimeBudget(900)])  # doctest: +SKIP
    """

    def __init__(self, seconds, schedule="budget", history_log=None, clock=None, verbose=True,
                 base_learning_rate=None):
        super().__init__()
        check_lr_schedule(schedule)
        self.seconds = float(seconds)
        self.schedule = schedule
        self.history_log = history_log
        self.clock = clock or (lambda: _monotonic())
        self.verbose = verbose
        self.started = None
        self.configured_learning_rate = base_learning_rate
        self.base_learning_rate = None
        self.stopped_on_time = False

    # -- the clock -------------------------------------------------------------------
    def _previous_seconds(self):
        previous = getattr(self.history_log, "previous", None) or {}
        spent = [value for value in previous.get(TRAIN_SECONDS, []) if value is not None]
        return float(spent[-1]) if spent else 0.0

    def elapsed(self):
        """Training seconds spent so far (a resumed fit included)."""
        return 0.0 if self.started is None else self.clock() - self.started

    def remaining(self):
        """Seconds left in the budget (never negative)."""
        return max(0.0, self.seconds - self.elapsed())

    def _start(self):
        # Lazily, at the first batch: by then BackupAndRestore and EpochHistoryLog have run
        # their on_train_begin, so the restored epochs' time is known.
        self.started = self.clock() - self._previous_seconds()
        optimizer = self.model.optimizer
        if self.schedule == "budget":
            if isinstance(optimizer.learning_rate, keras.optimizers.schedules.LearningRateSchedule) or not hasattr(
                optimizer, "_learning_rate"
            ):
                raise ConfigError("lr_schedule='budget' needs an optimizer with a plain learning rate")
            current = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
            self.base_learning_rate = float(self.configured_learning_rate or current)

    # -- hooks -----------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self.started = None
        self.stopped_on_time = False

    def on_train_batch_begin(self, batch, logs=None):
        if self.started is None:
            self._start()
        if self.base_learning_rate is not None:
            factor = budget_learning_rate_factor(self.elapsed() / self.seconds)
            self.model.optimizer.learning_rate.assign(self.base_learning_rate * factor)

    def on_train_batch_end(self, batch, logs=None):
        if self.remaining() <= 0.0 and not self.model.stop_training:
            self.model.stop_training = True
            self.stopped_on_time = True

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs[TRAIN_SECONDS] = round(self.elapsed(), 3)

    def on_train_end(self, logs=None):
        # The next fit (or a resumed one) starts from the planned base rate again.
        if self.base_learning_rate is not None:
            self.model.optimizer.learning_rate.assign(self.base_learning_rate)
        if self.stopped_on_time and self.verbose:
            print(f"time limit of {self.seconds:g} s reached after {self.elapsed():.1f} s of training", flush=True)
