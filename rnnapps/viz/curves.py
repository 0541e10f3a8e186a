"""Curves: gradient flow against distance, and training histories (loss, metrics, grad norms)."""

import math
import os

import numpy as np

from rnnapps.errors import ConfigError, DataError
from rnnapps.viz.common import _new_figure, _save

_COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


# -- gradient flow ------------------------------------------------------------------
def plot_gradient_flow(flows, path, title=None, max_distance=None):
    """Plots ||dL_T/dh_k|| against the distance T - k for several models on one PNG.

    Each model is a line (the batch mean, log scale) with a band from the 25th to the
    75th percentile over the batch; the legend gives the fitted decay per step.
    A line that falls straight on the log scale is an exponentially vanishing gradient.

    Args:
        flows: `GradientFlow`s (from `rnnapps.diagnostics.gradient_flow`), or a dict
            `{label: GradientFlow}`.
        path: where to write the PNG.
        title: optional title.
        max_distance: plot distances up to this one only.

    Returns:
        the PNG path.

    Example:
        >>> flows = [gradient_flow(m, ids, label=name) for name, m in models.items()]  # doctest: +SKIP
        >>> plot_gradient_flow(flows, "gradient_flow.png")                             # doctest: +SKIP
    """
    if isinstance(flows, dict):
        items = list(flows.items())
    else:
        items = [(getattr(flow, "label", None), flow) for flow in list(flows)]
    if not items:
        raise ConfigError("plot_gradient_flow needs at least one GradientFlow")
    for label, flow in items:
        if not hasattr(flow, "mean") or not hasattr(flow, "distances"):
            raise ConfigError(f"expected GradientFlow objects, got {type(flow).__name__}")
    figure = _new_figure(8.0, 5.0)
    axes = figure.add_subplot()
    floor = 1e-12
    for index, (label, flow) in enumerate(items):
        stop = len(flow.mean) if max_distance is None else min(len(flow.mean), int(max_distance) + 1)
        distances = np.asarray(flow.distances[:stop])
        colour = _COLOURS[index % len(_COLOURS)]
        decay = flow.decay_per_step() if stop > 2 else float("nan")
        name = label or getattr(flow, "label", f"model {index}")
        kind = "" if flow.cell in str(name) else f" ({flow.cell})"
        axes.plot(distances, np.maximum(flow.mean[:stop], floor), color=colour, linewidth=2,
                  label=f"{name}{kind}: x{decay:.3f} per step")
        low, high = np.percentile(flow.norms[:, :stop], [25, 75], axis=0)
        axes.fill_between(distances, np.maximum(low, floor), np.maximum(high, floor), color=colour, alpha=0.15)
    axes.set_yscale("log")
    axes.set_xlabel("distance T - k (steps back from the loss)")
    axes.set_ylabel("||dL_T / dh_k||  (batch mean, 25-75% band)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="lower left", fontsize=9)
    axes.set_title(title or "Gradient flow back through time")
    return _save(figure, path)


# -- training histories -------------------------------------------------------------
def _read_history(history):
    """Any history form -> `TrainingHistory` (a path: a history JSON or a save directory)."""
    from rnnapps.training.history import TrainingHistory

    if isinstance(history, (str, os.PathLike)):
        path = os.fspath(history)
        if os.path.isdir(path):
            path = os.path.join(path, "history.json")
        return TrainingHistory.load(path)
    if hasattr(history, "is_fitted") and not isinstance(history, dict):  # an app
        if history.history is None:
            raise DataError(f"this {type(history).__name__} has no training history (train it, or load a save made after training)")
        return TrainingHistory.of(history.history, getattr(history, "step_history", None))
    return TrainingHistory.of(history)


def _groups(keys):
    """Panels: loss first, then each metric with its val_ twin; grad norms apart."""
    bases = []
    for key in keys:
        base = key[4:] if key.startswith("val_") else key
        if base.startswith("grad_norm") or base in bases:
            continue
        bases.append(base)
    bases.sort(key=lambda base: (base != "loss", base))
    return bases


def plot_history(history, path, title=None):
    """Plots a training history: loss, each metric, and gradient norms, to one PNG.

    Panels: `loss` (with `val_loss`), one per metric (with its `val_` twin), the epoch
    means of `grad_norm` and of every `grad_norm/<layer>` (log scale), and, when the
    per-step norms were kept (apps keep them), the global norm at every step.

    Args:
        history: a Keras `History`, an app (`app.history`), a `TrainingHistory`, a
            dict `{key: [per epoch]}`, or a path (a `history.json`, or a saved app's
            directory).
        path: where to write the PNG.
        title: optional title.

    Returns:
        the PNG path.

    Raises:
        ModelFileError: a history file is missing or damaged.
        DataError: the history is empty.

    Example:
        >>> plot_history(clf.history, "history.png")          # doctest: +SKIP
        >>> plot_history("models/sentiment", "history.png")   # doctest: +SKIP
    """
    record = _read_history(history)
    epochs = {k: v for k, v in record.history.items() if any(x is not None for x in v)}
    if not epochs:
        raise DataError("the training history is empty: nothing to plot")
    bases = _groups(epochs)
    layer_keys = sorted(k for k in epochs if k.startswith("grad_norm"))
    steps = record.steps or {}
    has_steps = bool(steps.get("grad_norm"))
    panels = len(bases) + bool(layer_keys) + has_steps
    columns = min(3, panels)
    rows = math.ceil(panels / columns)
    figure = _new_figure(4.8 * columns, 3.4 * rows)
    index = 0

    def panel():
        nonlocal index
        index += 1
        return figure.add_subplot(rows, columns, index)

    def series(values):
        x = np.arange(1, len(values) + 1)
        y = np.array([np.nan if v is None else v for v in values], dtype="float64")
        return x, y

    for base in bases:
        axes = panel()
        for key, style in ((base, "-o"), (f"val_{base}", "--s")):
            if key in epochs:
                axes.plot(*series(epochs[key]), style, markersize=3, label=key)
        axes.set_title(base)
        axes.set_xlabel("epoch")
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=8)
    if layer_keys:
        axes = panel()
        for number, key in enumerate(layer_keys):
            x, y = series(epochs[key])
            axes.plot(x, np.where(y > 0, y, np.nan), "-o" if key == "grad_norm" else "-", markersize=3,
                      linewidth=2.5 if key == "grad_norm" else 1.2, color=_COLOURS[number % len(_COLOURS)], label=key)
        axes.set_yscale("log")
        axes.set_title("gradient norm (epoch mean, before clipping)")
        axes.set_xlabel("epoch")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize=7)
    if has_steps:
        axes = panel()
        values = np.array([np.nan if v is None else v for v in steps["grad_norm"]], dtype="float64")
        x = np.asarray(steps.get("step") or np.arange(1, len(values) + 1))[: len(values)]
        axes.plot(x, np.where(values > 0, values, np.nan), linewidth=0.8)
        axes.set_yscale("log")
        axes.set_title("global gradient norm per step")
        axes.set_xlabel("step")
        axes.grid(True, which="both", alpha=0.3)
    if title:
        figure.suptitle(str(title))
    figure.tight_layout()
    return _save(figure, path)
