"""`TrainingHistory`: epoch logs and per-step gradient norms, as saved next to an app."""

import math
import os

from rnnapps.errors import ModelFileError
from rnnapps.io_utils import read_json_file


def _number(value):
    """A JSON-safe float (NaN and infinities become None)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


class TrainingHistory:
    """What a training run logged: `history` per epoch and `steps` per training step.

    Reads like a Keras `History` (`.history[key]` is the list of epoch values), so code
    written for `app.history.history["loss"]` works on a loaded app too.

    Args:
        history: `{key: [value per epoch]}` (loss, val_loss, metrics, grad_norm ...).
        steps: `{"step": [...], "grad_norm": [...], "grad_norm/<layer>": [...]}` or None.

    Example:
        >>> TrainingHistory({"loss": [0.9, 0.5]}).epochs
        2
    """

    def __init__(self, history=None, steps=None):
        self.history = {str(k): [_number(v) for v in values] for k, values in (history or {}).items()}
        self.steps = {str(k): [_number(v) for v in values] for k, values in (steps or {}).items()} or None

    @property
    def epochs(self):
        """How many epochs the history covers."""
        return max((len(values) for values in self.history.values()), default=0)

    @classmethod
    def of(cls, history, steps=None):
        """A `TrainingHistory` from a Keras `History`, a `TrainingHistory`, or a dict.

        Args:
            history: the epoch logs in any of those forms (a dict may be a saved
                `{"epochs": ..., "steps": ...}` document).
            steps: the per-step records, when not part of `history`.

        Example:
            >>> TrainingHistory.of({"epochs": {"loss": [1.0]}, "steps": None}).history
            {'loss': [1.0]}
        """
        if isinstance(history, TrainingHistory):
            return cls(history.history, steps if steps is not None else history.steps)
        if isinstance(history, dict):
            if "epochs" in history and isinstance(history["epochs"], dict):
                return cls(history["epochs"], history.get("steps") or steps)
            return cls(history, steps)
        return cls(getattr(history, "history", {}), steps)

    def to_dict(self):
        return {"epochs": self.history, "steps": self.steps}

    @classmethod
    def load(cls, path):
        """Reads a `history.json` (a save's, or `{key: [values]}` as Keras History holds).

        Args:
            path: the JSON file.

        Example:
            >>> TrainingHistory.load("models/sentiment/history.json").epochs  # doctest: +SKIP
            10

        Raises:
            ModelFileError: the file is missing or not a history.
        """
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise ModelFileError(f"no training history at {path}: the file does not exist")
        document = read_json_file(path, "training history")
        if not isinstance(document, dict) or not all(
            isinstance(v, (list, dict)) or v is None for v in document.values()
        ):
            raise ModelFileError(f"{path} is not a training history ({{key: [value per epoch]}} expected)")
        try:
            return cls.of(document)
        except (TypeError, AttributeError) as error:
            raise ModelFileError(f"{path} is not a training history: {error}") from None
