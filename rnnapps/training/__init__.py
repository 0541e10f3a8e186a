"""Training: the grad-norm-logging model class, optimizers with clipping, callbacks."""

from rnnapps.training.callbacks import SaveBestApp, default_callbacks
from rnnapps.training.model import GradNormModel
from rnnapps.training.optim import make_optimizer, resolve_clipping

__all__ = ["GradNormModel", "SaveBestApp", "default_callbacks", "make_optimizer", "resolve_clipping"]
