"""`make_optimizer` / `resolve_clipping`: names, default clipping, one clipping kind at a time."""

import keras
import pytest

from rnnapps.errors import ConfigError
from rnnapps.training import make_optimizer, resolve_clipping


def learning_rate_of(optimizer):
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


def test_default_is_adam_with_clipnorm_one():
    optimizer = make_optimizer()
    assert isinstance(optimizer, keras.optimizers.Adam)
    assert optimizer.clipnorm == 1.0
    assert optimizer.global_clipnorm is None and optimizer.clipvalue is None
    assert learning_rate_of(optimizer) == pytest.approx(1e-3)


def test_global_clipnorm_switches_clipnorm_off():
    optimizer = make_optimizer("adam", global_clipnorm=5.0)
    assert optimizer.clipnorm is None and optimizer.global_clipnorm == 5.0


def test_clipvalue_switches_clipnorm_off():
    optimizer = make_optimizer("rmsprop", clipvalue=0.5)
    assert isinstance(optimizer, keras.optimizers.RMSprop)
    assert optimizer.clipnorm is None and optimizer.clipvalue == 0.5


def test_clipping_can_be_turned_off():
    optimizer = make_optimizer("sgd", clipnorm=None)
    assert (optimizer.clipnorm, optimizer.global_clipnorm, optimizer.clipvalue) == (None, None, None)


def test_name_learning_rate_and_options():
    optimizer = make_optimizer("sgd", 0.25, clipnorm=2.0, options={"momentum": 0.9, "nesterov": True})
    assert isinstance(optimizer, keras.optimizers.SGD)
    assert learning_rate_of(optimizer) == pytest.approx(0.25)
    assert (optimizer.momentum, optimizer.nesterov, optimizer.clipnorm) == (0.9, True, 2.0)
    assert isinstance(make_optimizer("adamw"), keras.optimizers.AdamW)


@pytest.mark.parametrize(
    "clipping",
    [
        {"clipnorm": 0.5, "global_clipnorm": 1.0},
        {"clipnorm": 2.0, "clipvalue": 1.0},
        {"global_clipnorm": 1.0, "clipvalue": 1.0},
    ],
)
def test_two_explicit_clipping_options_raise(clipping):
    with pytest.raises(ConfigError, match="only one"):
        make_optimizer("adam", **clipping)


@pytest.mark.parametrize("clipping", [{"clipnorm": 0}, {"global_clipnorm": -1.0}, {"clipvalue": 0.0}])
def test_non_positive_clipping_raises(clipping):
    with pytest.raises(ConfigError, match="must be > 0"):
        make_optimizer("adam", **clipping)


def test_optimizer_object_is_refused():
    with pytest.raises(ConfigError, match="by name"):
        make_optimizer(keras.optimizers.Adam())


def test_unknown_name_raises_config_error():
    with pytest.raises(ConfigError, match="nosuchoptimizer"):
        make_optimizer("nosuchoptimizer")


def test_unknown_option_raises_config_error():
    with pytest.raises(ConfigError):
        make_optimizer("sgd", options={"no_such_option": 1})


@pytest.mark.parametrize("learning_rate", [0, -0.1])
def test_non_positive_learning_rate_raises(learning_rate):
    with pytest.raises(ConfigError, match="learning_rate"):
        make_optimizer("adam", learning_rate)


def test_resolve_clipping():
    assert resolve_clipping() == (1.0, None, None)
    assert resolve_clipping(global_clipnorm=3.0) == (None, 3.0, None)
    assert resolve_clipping(clipvalue=0.1) == (None, None, 0.1)
    assert resolve_clipping(clipnorm=0.5) == (0.5, None, None)
    assert resolve_clipping(clipnorm=None) == (None, None, None)
