"""Request limits: one request can neither exhaust memory nor run for minutes.

Every generation path (Python calls and SavedModel signatures of the language model,
the poet and the translator) is bounded by a `RequestLimits`:

- `max_batch`: rows per request. An export refuses a larger request (the request fails
  with a message naming the limit); a Python call is split into chunks of this size.
- `max_prompt_tokens`: a longer prompt is read by its last `max_prompt_tokens` tokens
  (the returned text still starts with the whole prompt).
- `max_new_tokens`: the most tokens a request may generate per row (exports clip a
  larger `max_length`, Python calls refuse it).
- `max_beam_width`, `max_num_samples`: beam search width and samples per prompt.

Apps use `DEFAULT_LIMITS` unless `app.limits` is set; `export(..., limits=...)` writes
the limits into the SavedModel (and its `assets.extra/rnnapps.json`).

Example:
    >>> RequestLimits(max_batch=64).max_batch
    64
    >>> list(chunks(list(range(5)), 2))
    [[0, 1], [2, 3], [4]]
"""

import dataclasses
import random

import numpy as np
import tensorflow as tf

from rnnapps.checks import check_int, check_int_fields  # noqa: F401  (check_int re-exported: the apps' request checks)
from rnnapps.errors import ConfigError
from rnnapps.text.plain import utf8_text


@dataclasses.dataclass(frozen=True)
class RequestLimits:
    """Bounds of one generation/translation request (see the module docstring).

    Args:
        max_batch: rows per request (export) / per chunk (Python).
        max_prompt_tokens: prompt tokens the model reads (the last ones).
        max_new_tokens: generated tokens per row.
        max_beam_width: beam search width.
        max_num_samples: samples per prompt.
    """

    max_batch: int = 256
    max_prompt_tokens: int = 4096
    max_new_tokens: int = 10_000
    max_beam_width: int = 16
    max_num_samples: int = 64

    def __post_init__(self):
        check_int_fields(self)

    @classmethod
    def of(cls, limits):
        """`limits` as a `RequestLimits`: None gives the defaults, a dict the given fields."""
        if limits is None:
            return DEFAULT_LIMITS
        if isinstance(limits, cls):
            return limits
        if isinstance(limits, dict):
            unknown = sorted(set(limits) - {f.name for f in dataclasses.fields(cls)})
            if unknown:
                raise ConfigError(f"unknown request limits {unknown}; known: {[f.name for f in dataclasses.fields(cls)]}")
            return cls(**limits)
        raise ConfigError(f"limits must be a RequestLimits or a dict, got {type(limits).__name__}")

    def to_dict(self):
        return dataclasses.asdict(self)


DEFAULT_LIMITS = RequestLimits()


def check_seed(seed):
    """The seed of one request as an int64: None draws a fresh one (stateless RNG: the same
    seed gives the same result)."""
    return check_int("seed", random.randrange(2**31) if seed is None else seed, -(2**63), 2**63 - 1)


def check_stops(stop):
    """Stop strings (a string, a list of them or None) as a list of non-empty UTF-8 strings."""
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    if any(not isinstance(s, str) or not s for s in stops):
        raise ConfigError("stop strings must be non-empty strings")
    return [utf8_text(s) for s in stops]


def chunks(items, size):
    """`items` in consecutive lists of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def assert_batch_within(batch_size, limits, what="rows"):
    """Graph-side: fails the request (InvalidArgumentError) when it has more than `max_batch` rows."""
    return tf.debugging.assert_less_equal(
        tf.cast(batch_size, tf.int64), tf.constant(limits.max_batch, tf.int64),
        message=f"this export serves at most {limits.max_batch} {what} per request: split the request",
    )


def last_tokens(ids, limits):
    """Graph-side: a ragged `[B, None]` batch of ids cut to its last `max_prompt_tokens` per row."""
    lengths = ids.row_lengths()
    keep = tf.minimum(lengths, tf.cast(limits.max_prompt_tokens, lengths.dtype))
    starts = ids.row_starts() + (lengths - keep)
    return tf.RaggedTensor.from_row_lengths(
        tf.gather(ids.values, tf.ragged.range(starts, starts + keep).values), keep
    )


def run_by_length(texts, batch_size, run):
    """Calls `run(texts: tf.string[B])` (a dict of tensors) on chunks of at most `batch_size`
    texts sorted by length (small padding per chunk); returns one `{key: numpy row}` per
    text, in input order.

    Example:
        >>> rows = run_by_length([b"ccc", b"a"], 1, lambda t: {"n": tf.strings.length(t)})
        >>> [int(row["n"]) for row in rows]
        [3, 1]
    """
    order = np.argsort([len(t) for t in texts], kind="stable")
    rows = [None] * len(texts)
    for start in range(0, len(texts), int(batch_size)):
        chunk = order[start : start + int(batch_size)]
        out = {key: value.numpy() for key, value in run(tf.constant([texts[i] for i in chunk], tf.string)).items()}
        for position, index in enumerate(chunk):
            rows[index] = {key: value[position] for key, value in out.items()}
    return rows
