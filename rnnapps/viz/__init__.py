"""Plots and views saved as files: no display, no pyplot state, safe in servers and tests.

Figures are drawn with matplotlib's object API on the Agg canvas (never `pyplot`), so
importing this package changes no global backend and leaves no figures open.

- `plot_attention`: a heatmap of a translation's attention weights.
- `plot_gradient_flow`: ||dL_T/dh_k|| against distance for several models on one PNG.
- `plot_history`: loss, metrics and gradient-norm curves of a training run.
- `neuron_activations`: chosen units of a char LM, character by character (HTML + PNG);
  `rank_units` finds the units that track a per-character signal.
"""

import importlib

from rnnapps.viz.attention import plot_attention

# The curves and neuron views need TensorFlow (through rnnapps.diagnostics) or the
# training history reader: imported on first use, so `plot_attention` stays light.
_LAZY = {
    "plot_gradient_flow": "rnnapps.viz.curves",
    "plot_history": "rnnapps.viz.curves",
    "neuron_activations": "rnnapps.viz.neurons",
    "rank_units": "rnnapps.viz.neurons",
    "NeuronView": "rnnapps.viz.neurons",
}

__all__ = ["plot_attention"] + list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rnnapps.viz' has no attribute {name!r}")
