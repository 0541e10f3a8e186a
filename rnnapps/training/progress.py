"""`ProgressLine`: a fit progress line a person can read.

Keras' own progress bar prints every log key at every step: with per-layer gradient
norms the translator's line ran to several hundred characters, and the first epoch of a
streamed dataset showed `1/Unknown`. This one shows the loss, the app's metrics and the
global `grad_norm` (the per-layer norms stay in the history, `step_history` and
TensorBoard), the step count (an estimate from the vocabulary scan for the first epoch,
the real count after it), the epoch's ETA and, under a time limit, the time left.

On a terminal (`verbose=1`) the line is redrawn at most 5 times a second; in a log file
or with `verbose=2` there is one line per epoch.
"""

import sys
import time

import keras

HIDDEN_PREFIXES = ("grad_norm/", "val_grad_norm/")
HIDDEN_KEYS = ("train_seconds", "learning_rate")
REDRAW_SECONDS = 0.2


def shown_logs(logs):
    """The log items the line shows: everything but per-layer norms, bookkeeping keys and
    the training losses of single heads (`<head>_loss` of a `HeadEnsembleModel`: their
    validation losses, which pick each head's best epoch, stay).

    Example:
        >>> shown_logs({"loss": 1.0, "grad_norm": 2.0, "grad_norm/lm_lstm_0": 3.0, "train_seconds": 4.0})
        [('loss', 1.0), ('grad_norm', 2.0)]
    """
    items = [
        (key, value) for key, value in (logs or {}).items()
        if not key.startswith(HIDDEN_PREFIXES) and key not in HIDDEN_KEYS
        and not (key.endswith("_loss") and not key.startswith("val_"))
    ]
    # The loss first, then the metrics, then the validation figures.
    return sorted(items, key=lambda item: (item[0].startswith("val_"), item[0] not in ("loss", "val_loss")))


def format_seconds(seconds):
    """`m:ss` (or `h:mm:ss`) for a duration.

    Example:
        >>> format_seconds(75.2), format_seconds(3725)
        ('1:15', '1:02:05')
    """
    seconds = int(round(max(0.0, float(seconds))))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def _number(value):
    try:
        value = float(keras.ops.convert_to_numpy(value))
    except (TypeError, ValueError):
        return str(value)
    return f"{value:.4g}"


class ProgressLine(keras.callbacks.ProgbarLogger):
    """Replaces Keras' progress bar in `fit` (it is a `ProgbarLogger`, so Keras adds no other).

    Args:
        steps_hint: estimated batches per epoch, shown until the first epoch has counted them.
        budget: the fit's `TimeBudget`, to show the time left.
        stream: where to write (default: stdout).

    Example:
        >>> model.fit(data, callbacks=[ProgressLine(steps_hint=120)])  # doctest: +SKIP
        Epoch 1/10
        57/~120 - 0:21 left in epoch - loss 2.314 - perplexity 10.11 - grad_norm 0.8123
    """

    def __init__(self, steps_hint=None, budget=None, stream=None):
        super().__init__()
        self.steps_hint = int(steps_hint) if steps_hint else None
        self.budget = budget
        self.stream = stream
        self.counted_steps = None
        self._epoch_started = None
        self._last_draw = 0.0
        self._drawn = False

    @property
    def _out(self):
        return self.stream or sys.stdout

    def set_params(self, params):
        super().set_params(params)
        if self.target is None:
            self.target = self.counted_steps

    def on_epoch_begin(self, epoch, logs=None):
        self.seen = 0
        self._epoch_started = time.monotonic()
        self._drawn = False
        if self.verbose:
            header = f"Epoch {epoch + 1}/{self.epochs}" if self.epochs > 1 else "Training"
            if self.budget is not None:
                left = self.budget.remaining() if self.budget.started is not None else self.budget.seconds
                header += f" ({format_seconds(left)} of the time limit left)"
            self._write(header + "\n")

    def on_train_batch_end(self, batch, logs=None):
        self.seen = batch + 1
        if self.verbose != 1 or not self._interactive():
            return
        now = time.monotonic()
        if now - self._last_draw >= REDRAW_SECONDS:
            self._last_draw = now
            self._write("\r" + self._line(logs, final=False) + "\033[K")
            self._drawn = True

    def on_epoch_end(self, epoch, logs=None):
        self.counted_steps = self.seen
        self.target = self.seen
        if self.verbose:
            prefix = "\r" if self._drawn else ""
            self._write(prefix + self._line(logs, final=True) + ("\033[K" if self._drawn else "") + "\n")

    # Validation inside fit and predict stay silent, as in Keras' fit.
    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass

    # -- drawing ---------------------------------------------------------------------
    def _interactive(self):
        isatty = getattr(self._out, "isatty", None)
        return bool(isatty and isatty())

    def _line(self, logs, final):
        elapsed = time.monotonic() - (self._epoch_started or time.monotonic())
        target = self.target or self.steps_hint
        if final:
            parts = [f"{self.seen}/{self.seen}", f"{format_seconds(elapsed)}"]
        else:
            estimate = "" if self.target else "~"
            parts = [f"{self.seen}/{estimate}{target}" if target else f"{self.seen}"]
            if target and self.seen:
                parts.append(f"{format_seconds(elapsed / self.seen * max(0, target - self.seen))} left in epoch")
        if self.budget is not None and self.budget.started is not None:
            parts.append(f"{format_seconds(self.budget.remaining())} left of the time limit")
        parts += [f"{key} {_number(value)}" for key, value in shown_logs(logs)]
        return " - ".join(parts)

    def _write(self, text):
        self._out.write(text)
        self._out.flush()
