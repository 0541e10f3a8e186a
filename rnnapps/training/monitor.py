"""`GradientNormMonitor`: records per-step gradient norms and warns when they explode or collapse.

The model's `train_step` (GradNormModel, StatefulTrainer) puts this step's norms in
the batch logs; this callback keeps them (`monitor.steps`), and warns:

- **exploding**: a step's global norm is not finite, above `explode_threshold`, or
  more than `explode_factor` times the median of the recent steps (a spike);
- **collapsing**: the median of the recent steps of the global norm, or of one
  layer's norm, has fallen below `collapse_ratio` times its median over the first
  steps (or below `min_norm`): that part of the model has stopped learning. Not
  while the training loss has itself fallen below `converged_ratio` times its early
  median: small gradients then mean the model fits its batches, not that they vanish.

Each warning names the global step. It is issued once per episode (again only after
the norm has recovered), and after an exploding-gradient warning further spikes are
only recorded for `cooldown` steps (LSTMs spike now and then even when clipped); one
line at the end of training counts the spikes that were recorded but not warned.
"""

import math
import statistics
import warnings

import keras

from rnnapps.errors import ConfigError
from rnnapps.training.model import GRAD_NORM


class GradientWarning(RuntimeWarning):
    """A gradient norm exploded or collapsed during training."""


class GradientNormMonitor(keras.callbacks.Callback):
    """Keeps every step's gradient norms and warns on exploding or collapsing ones.

    Args:
        window: how many recent steps the medians look at (and the warm-up length).
        explode_factor: a step norm above this many times the recent median is a spike.
        explode_threshold: an absolute norm above which a step counts as exploding.
        collapse_ratio: the recent median below this fraction of the early median
            counts as collapsed.
        min_norm: a recent median below this counts as collapsed, whatever came before.
        converged_ratio: no collapse warning while the recent median of the batch
            `loss` is below this fraction of its early median (a fitted model).
        cooldown: steps after an exploding-gradient warning during which further spikes
            are recorded in `events` but not warned (default: 10 windows; 0 warns each).

    Attributes:
        steps: `{"step": [global step...], "grad_norm": [...], "grad_norm/<layer>": [...]}`.
        events: `[(step, kind, key, value)]` for every warning, kind "explode" or "collapse".

    Example:
        >>> monitor = GradientNormMonitor(explode_factor=20)
        >>> model.fit(x, y, callbacks=[monitor])      # doctest: +SKIP
        >>> monitor.steps["grad_norm"][:3]             # doctest: +SKIP
        [1.92, 1.85, 1.70]
    """

    def __init__(self, window=50, explode_factor=10.0, explode_threshold=None, collapse_ratio=1e-3,
                 min_norm=1e-8, cooldown=None, converged_ratio=0.01):
        super().__init__()
        if int(window) < 1:
            raise ConfigError(f"window must be >= 1, got {window}")
        if not float(explode_factor) > 1:
            raise ConfigError(f"explode_factor must be > 1, got {explode_factor}")
        if not 0 < float(collapse_ratio) < 1:
            raise ConfigError(f"collapse_ratio must be in (0, 1), got {collapse_ratio}")
        if not 0 <= float(converged_ratio) < 1:
            raise ConfigError(f"converged_ratio must be in [0, 1), got {converged_ratio}")
        self.converged_ratio = float(converged_ratio)
        self._losses = []
        self.window = int(window)
        self.explode_factor = float(explode_factor)
        self.explode_threshold = None if explode_threshold is None else float(explode_threshold)
        self.collapse_ratio = float(collapse_ratio)
        self.min_norm = float(min_norm)
        self.cooldown = 10 * self.window if cooldown is None else int(cooldown)
        if self.cooldown < 0:
            raise ConfigError(f"cooldown must be >= 0, got {cooldown}")
        self._quiet_until = 0
        self._muted = 0
        self.steps = {"step": []}
        self.events = []
        self._step = 0
        self._exploding = False
        self._collapsed = set()

    def on_train_begin(self, logs=None):
        # A resumed fit continues the step count where the backup left it.
        initial_epoch = int(getattr(self.model, "_initial_epoch", None) or 0)
        if initial_epoch and not self.steps["step"] and self.params.get("steps"):
            self._step = initial_epoch * int(self.params["steps"])

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        norms = {key: float(value) for key, value in logs.items() if key == GRAD_NORM or key.startswith(GRAD_NORM + "/")}
        self._step += 1
        if not norms:
            return
        self.steps["step"].append(self._step)
        if "loss" in logs:
            self._losses.append(float(logs["loss"]))
        for key, value in norms.items():
            self.steps.setdefault(key, []).append(value)
        if GRAD_NORM in norms:
            self._check_explosion(norms[GRAD_NORM])
        for key in norms:
            self._check_collapse(key)

    def on_train_end(self, logs=None):
        if self._muted:
            warnings.warn(
                f"{self._muted} more exploding-gradient step(s) were recorded without a warning "
                f"(see GradientNormMonitor.events)", GradientWarning, stacklevel=2,
            )
            self._muted = 0

    # -- rules ----------------------------------------------------------------------
    def _warn(self, kind, key, value, message):
        self.events.append((self._step, kind, key, value))
        if kind == "explode":
            if self._step < self._quiet_until:
                self._muted += 1
                return
            self._quiet_until = self._step + 1 + self.cooldown
        text = f"step {self._step}: {message}"
        warnings.warn(text, GradientWarning, stacklevel=2)

    def _check_explosion(self, value):
        values = self.steps[GRAD_NORM]
        history = values[max(0, len(values) - 1 - self.window) : len(values) - 1]  # no copy of a long run
        spike = False
        if not math.isfinite(value):
            spike = True
        elif self.explode_threshold is not None and value > self.explode_threshold:
            spike = True
        elif len(history) >= self.window:
            # Only after a full window: in the first steps of a fresh model the norm grows as
            # the learning-rate warm-up does, and a median of a few steps is no baseline (the
            # poet's default fit on real data warned at step 11 of thousands).
            median = statistics.median(history)
            spike = median > 0 and value > self.explode_factor * median
        if spike and not self._exploding:
            self._warn(
                "explode", GRAD_NORM, value,
                f"exploding gradients: global norm {value:.4g}"
                + (f" vs a recent median of {statistics.median(history):.4g}" if history else "")
                + " (lower the learning rate or clip with clipnorm/global_clipnorm)",
            )
        self._exploding = spike

    def _early_and_recent(self, values):
        """Medians of the first and of the latest `window` values, or None before two windows."""
        if len(values) < 2 * self.window:
            return None
        return statistics.median(values[: self.window]), statistics.median(values[-self.window :])

    def _check_collapse(self, key):
        medians = self._early_and_recent(self.steps[key])
        if medians is None:
            return
        early, recent = medians
        collapsed = recent < self.min_norm or (early > 0 and recent < self.collapse_ratio * early)
        collapsed = collapsed and not self._loss_converged()
        if collapsed and key not in self._collapsed:
            where = "global norm" if key == GRAD_NORM else f"norm of layer {key.split('/', 1)[1]!r}"
            self._warn(
                "collapse", key, recent,
                f"collapsing gradients: {where} has a recent median of {recent:.3g}, down from {early:.3g} "
                "(vanishing gradients: try a gated cell (lstm/gru), a shorter sequence_length or a higher learning rate)",
            )
            self._collapsed.add(key)
        elif not collapsed:
            self._collapsed.discard(key)

    def _loss_converged(self):
        """True when the recent batch loss is a small fraction of the early one."""
        medians = self._early_and_recent(self._losses)
        return medians is not None and medians[0] > 0 and medians[1] < self.converged_ratio * medians[0]
