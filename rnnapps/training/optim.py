"""Optimizers by name, with gradient clipping on by default; the one optimizer spec and compile."""

import dataclasses

import keras

from rnnapps.errors import ConfigError

DEFAULT_CLIPNORM = 1.0


def resolve_clipping(clipnorm=DEFAULT_CLIPNORM, global_clipnorm=None, clipvalue=None):
    """Checks the clipping options and returns `(clipnorm, global_clipnorm, clipvalue)`.

    Asking for `global_clipnorm` or `clipvalue` switches off the default `clipnorm`.

    Example:
        >>> resolve_clipping(global_clipnorm=5.0)
        (None, 5.0, None)
    """
    if clipnorm == DEFAULT_CLIPNORM and (global_clipnorm is not None or clipvalue is not None):
        clipnorm = None
    options = (("clipnorm", clipnorm), ("global_clipnorm", global_clipnorm), ("clipvalue", clipvalue))
    chosen = [label for label, value in options if value is not None]
    if len(chosen) > 1:
        raise ConfigError(f"use only one of clipnorm, global_clipnorm, clipvalue (got {', '.join(chosen)})")
    for label, value in options:
        if value is not None and not float(value) > 0:
            raise ConfigError(f"{label} must be > 0, got {value}")
    return clipnorm, global_clipnorm, clipvalue


def make_optimizer(
    name="adam",
    learning_rate=1e-3,
    clipnorm=DEFAULT_CLIPNORM,
    global_clipnorm=None,
    clipvalue=None,
    options=None,
):
    """Builds a fresh Keras optimizer (call it inside a strategy scope when distributing).

    Exactly one kind of clipping may be active: per-variable `clipnorm` (the default,
    1.0), `global_clipnorm` over all gradients together, or element-wise `clipvalue`.
    Setting `global_clipnorm` or `clipvalue` switches the default `clipnorm` off;
    asking for two explicitly is an error. Pass `clipnorm=None` for no clipping.

    Args:
        name: any Keras optimizer name ("adam", "sgd", "rmsprop", "adamw", ...).
        learning_rate: the learning rate.
        options: extra keyword arguments of that optimizer (e.g. {"momentum": 0.9}).

    Example:
        >>> make_optimizer("sgd", 0.1, options={"momentum": 0.9}).clipnorm
        1.0
    """
    clipnorm, global_clipnorm, clipvalue = resolve_clipping(clipnorm, global_clipnorm, clipvalue)
    if not float(learning_rate) > 0:
        raise ConfigError(f"learning_rate must be > 0, got {learning_rate}")
    if not isinstance(name, str):
        raise ConfigError(
            "optimizer must be given by name (e.g. 'adam') with options, not as an object: "
            "the app builds it itself so that it can live inside a distribution strategy scope"
        )
    config = dict(options or {})
    config.update(learning_rate=float(learning_rate))
    for label, value in (("clipnorm", clipnorm), ("global_clipnorm", global_clipnorm), ("clipvalue", clipvalue)):
        if value is not None:
            config[label] = float(value)
    try:
        return keras.optimizers.get({"class_name": name, "config": config})
    except (ValueError, TypeError) as error:
        raise ConfigError(f"cannot build optimizer {name!r} with {config}: {error}") from None


OPTIMIZER_SETTINGS = ("optimizer", "learning_rate", "clipnorm", "global_clipnorm", "clipvalue", "optimizer_options")


def optimizer_from(settings):
    """A fresh optimizer from the one optimizer spec every app and builder shares: the
    `OPTIMIZER_SETTINGS` fields of a dict or of an object (a `ClassifierSpec`, ...).

    Example:
        >>> optimizer_from({"optimizer": "sgd", "learning_rate": 0.1}).clipnorm
        1.0
    """
    get = settings.get if isinstance(settings, dict) else lambda key, default=None: getattr(settings, key, default)
    return make_optimizer(
        get("optimizer", "adam"), get("learning_rate", 1e-3), clipnorm=get("clipnorm", DEFAULT_CLIPNORM),
        global_clipnorm=get("global_clipnorm"), clipvalue=get("clipvalue"), options=get("optimizer_options"),
    )


@dataclasses.dataclass(kw_only=True)
class OptimizerSettings:
    """The `OPTIMIZER_SETTINGS` fields, declared once for every model spec that inherits them.

    Keyword-only, so a spec's own fields keep their positions in its constructor.

    Attributes:
        optimizer, learning_rate, clipnorm, global_clipnorm, clipvalue, optimizer_options:
            see `make_optimizer` (`optimizer_options` are its `options`).

    Example:
        >>> OptimizerSettings(global_clipnorm=5.0).check_optimizer_settings()
        (None, 5.0, None)
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    clipnorm: float = DEFAULT_CLIPNORM
    global_clipnorm: float = None
    clipvalue: float = None
    optimizer_options: dict = None

    def check_optimizer_settings(self):
        """`ConfigError` for a learning rate <= 0 or two kinds of clipping (cheap: builds no
        optimizer); returns the resolved `(clipnorm, global_clipnorm, clipvalue)`."""
        if not float(self.learning_rate) > 0:
            raise ConfigError(f"learning_rate must be > 0, got {self.learning_rate}")
        return resolve_clipping(self.clipnorm, self.global_clipnorm, self.clipvalue)


def copy_optimizer_state(source, target, variables):
    """Gives the optimizer `target` (built here for `variables`) the state of the built
    optimizer `source`: iteration count and slots (Adam's moments ...), when both have the
    same variables in the same shapes; otherwise `target` keeps its fresh state.

    What lets a rebuilt model (the same builder, so the same weight and slot order) continue
    training where a loaded one stopped.
    """
    if source is None or target is None or not getattr(source, "built", False):
        return
    target.build(variables)
    if len(target.variables) != len(source.variables):
        return
    if all(tuple(mine.shape) == tuple(theirs.shape) for mine, theirs in zip(target.variables, source.variables)):
        for mine, theirs in zip(target.variables, source.variables):
            mine.assign(theirs)


def compile_model(model, objective, settings):
    """Compiles `model` for training: the one place rnnapps calls `compile`.

    Call it inside the strategy scope: it creates the optimizer.

    Args:
        model: the Keras model to train.
        objective: `(loss, metrics)`, as a builder's `*_objective()` returns them.
        settings: the optimizer spec (an `OptimizerSettings` or a dict; see `optimizer_from`).

    Example:
        >>> compile_model(model, language_model_objective(), spec)  # doctest: +SKIP
    """
    loss, metrics = objective
    model.compile(optimizer=optimizer_from(settings), loss=loss, metrics=metrics)
    return model
