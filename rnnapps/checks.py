"""Validation of numeric options at the public entry points (Python API and CLI alike).

A bad number must be a `ConfigError` that names the option and its range, never a
silent wrong answer (`predict(batch_size=-1)` used to return zeros) or a raw
`ValueError`/`OverflowError` from deep inside TensorFlow.

Example:
    >>> check_int("batch_size", 32, 1)
    32
    >>> check_real("validation_split", 0.1, 0.0, 1.0, high_open=True)
    0.1
"""

import dataclasses
import math
import numbers

import numpy as np

from rnnapps.errors import ConfigError, DataError

INT32_MAX = 2**31 - 1


def check_int(name, value, low, high=None):
    """Returns `value` as an int, or raises `ConfigError` unless it is an integer (not a bool) in `[low, high]`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low or (high is not None and value > high):
        bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ConfigError(f"{name} must be an integer {bound}, got {value!r}")
    return int(value)


def check_int_fields(instance, low=1):
    """Checks every field of the dataclass `instance` with `check_int(name, value, low)`
    and stores it back as a Python int (so a numpy integer still serializes to JSON);
    for limits objects whose fields are all counts, frozen ones included.

    Example:
        >>> check_int_fields(RequestLimits(max_batch=0))  # doctest: +SKIP
        Traceback (most recent call last):
        rnnapps.errors.ConfigError: max_batch must be an integer >= 1, got 0
    """
    for field in dataclasses.fields(instance):
        object.__setattr__(instance, field.name, check_int(field.name, getattr(instance, field.name), low))


def check_optional_int(name, value, low, high=None):
    """Like `check_int`, but None passes through (an option that can be off)."""
    return None if value is None else check_int(name, value, low, high)


def check_real(name, value, low=None, high=None, low_open=False, high_open=False):
    """Returns `value` as a float, or raises `ConfigError` unless it is a finite number in range."""
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        span = f" in {left}{low}, {high}{right}" if low is not None and high is not None else (
            f" >= {low}" if low is not None else (f" <= {high}" if high is not None else ""))
        raise ConfigError(f"{name} must be a finite number{span}, got {value!r}")
    return float(value)


def check_texts(texts, what="texts"):
    """A string or a list of strings -> a list of UTF-8 byte strings (invalid text repaired);
    `DataError` naming `what` (plural) for anything else.

    Example:
        >>> check_texts("hi"), check_texts(["a", b"b"])
        (['hi'], [b'a', b'b'])
    """
    if isinstance(texts, (str, bytes)):
        return [texts]
    try:
        texts = list(texts)
    except TypeError:
        raise DataError(f"{what} must be a string or a list of strings, got {type(texts).__name__}") from None
    for index, text in enumerate(texts):
        if not isinstance(text, (str, bytes, np.str_, np.bytes_)):
            raise DataError(f"{what[:-1]} {index} must be str or bytes, got {type(text).__name__}")
    return [t if isinstance(t, bytes) else str(t).encode("utf-8", errors="replace") for t in texts]


def check_known_options(options, accepted):
    """`ConfigError` naming the keyword options (of a data source) that are not in `accepted`."""
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ConfigError(f"unknown data options {unknown}; accepted: {list(accepted)}")
