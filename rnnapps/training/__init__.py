"""Training: gradient-norm logging models, optimizers with clipping, callbacks, resume, precision."""

from rnnapps.training.callbacks import SaveBestApp, default_callbacks
from rnnapps.training.model import GradientNormMean, GradNormModel, layer_groups
from rnnapps.training.monitor import GradientNormMonitor, GradientWarning
from rnnapps.training.optim import make_optimizer, optimizer_from, resolve_clipping
from rnnapps.training.precision import check_precision, float32_outputs, precision_scope

__all__ = [
    "GradNormModel", "GradientNormMean", "GradientNormMonitor", "GradientWarning", "SaveBestApp",
    "check_precision", "default_callbacks", "float32_outputs", "layer_groups", "make_optimizer", "optimizer_from",
    "precision_scope", "resolve_clipping",
]
