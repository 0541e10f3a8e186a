"""Training: gradient-norm logging models, optimizers with clipping, callbacks, resume, precision."""

from rnnapps.training.callbacks import SaveBestApp, default_callbacks
from rnnapps.training.head_selection import HeadSelection
from rnnapps.training.model import GradientNormMean, GradNormModel, HeadEnsembleModel, layer_groups
from rnnapps.training.monitor import GradientNormMonitor, GradientWarning
from rnnapps.training.optim import (
    OPTIMIZER_SETTINGS,
    OptimizerSettings,
    compile_model,
    make_optimizer,
    optimizer_from,
    resolve_clipping,
)
from rnnapps.training.precision import check_precision, float32_outputs, precision_scope

__all__ = [
    "OPTIMIZER_SETTINGS", "GradNormModel", "HeadEnsembleModel", "GradientNormMean", "GradientNormMonitor", "GradientWarning",
    "HeadSelection",
    "OptimizerSettings", "SaveBestApp", "check_precision", "compile_model", "default_callbacks", "float32_outputs",
    "layer_groups", "make_optimizer", "optimizer_from", "precision_scope", "resolve_clipping",
]
