"""Optimizers by name, with gradient clipping on by default."""

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
