"""What every data source shares: one error trap for reading, one held-out split by hash.

The four families of sources (labelled texts, corpora, parallel texts, poems) all
derive from `Source`, so that a failure while reading a file surfaces the same way
everywhere, and all of them hold data out by the same hash:

    held out  <=>  Fingerprint64(salt + text) mod 10_000 < round(fraction * 10_000)

computed by `tf.strings.to_hash_bucket_fast`, whose fingerprint TensorFlow documents
as stable across platforms and releases. The split is therefore the same on every run
and every machine, works on streams of any size, and keeps duplicate texts on one side.
"""

import contextlib

import numpy as np
import tensorflow as tf

from rnnapps.errors import DataError

HASH_BUCKETS = 10_000
_PYTHON_CHUNK = 512  # Python texts hashed per TF call by `held_out_mask`


def held_out_threshold(fraction, what="validation fraction", allow_zero=False):
    """The number of hash buckets (of `HASH_BUCKETS`) a `fraction` holds out.

    Raises:
        DataError: `fraction` outside (0, 1) (or [0, 1) with `allow_zero`).

    Example:
        >>> held_out_threshold(0.05)
        500
    """
    low_ok = fraction >= 0.0 if allow_zero else fraction > 0.0
    if not (low_ok and fraction < 1.0):
        interval = "[0, 1)" if allow_zero else "(0, 1)"
        raise DataError(f"{what} must be in {interval}, got {fraction}")
    return int(round(fraction * HASH_BUCKETS))


def in_held_out(texts, threshold, salt=""):
    """Bool tensor: which of the string tensor `texts` fall in the held-out buckets.

    Args:
        texts: string tensor of any shape (works inside `tf.data` maps and filters).
        threshold: from `held_out_threshold`.
        salt: a prefix that gives a different, independent split of the same texts.
    """
    if salt:
        texts = tf.strings.join([tf.constant(salt), texts])
    return tf.strings.to_hash_bucket_fast(texts, HASH_BUCKETS) < threshold


def held_out_mask(texts, fraction, salt=""):
    """`in_held_out` for a list of Python strings: a numpy bool array (hashed in chunks).

    Example:
        >>> held_out_mask(["a", "b"], 0.5).dtype
        dtype('bool')
    """
    threshold = held_out_threshold(fraction, allow_zero=True)
    texts = list(texts)
    parts = [np.zeros([0], bool)]
    for start in range(0, len(texts), _PYTHON_CHUNK):
        chunk = tf.constant(texts[start : start + _PYTHON_CHUNK], tf.string)
        parts.append(in_held_out(chunk, threshold, salt).numpy())
    return np.concatenate(parts)


def chunked(items, size=_PYTHON_CHUNK):
    """Lists of up to `size` consecutive items of an iterable (for hashing Python streams in chunks)."""
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def first_line(error):
    """The first line of a TensorFlow error's message."""
    return ((error.message or str(error)).strip().splitlines() or [""])[0]


class Source:
    """Base of every data source: something read lazily that can fail while read.

    A subclass has a `description` (how to name the data in messages) and a
    `trapped_errors` list. Generators behind `tf.data.Dataset.from_generator` cannot
    raise our own errors through TensorFlow: they append them to `trapped_errors`
    (see `trap`) and TF raises an `OpError` instead, which `reading()` turns back into
    the original `DataError`.

    Example:
        >>> with source.reading():  # doctest: +SKIP
        ...     for example in source.dataset: ...
    """

    description = "data"
    trapped_errors = None

    @contextlib.contextmanager
    def reading(self):
        """Context for iterating anything built on this source: a read failure becomes a `DataError`."""
        try:
            yield
        except tf.errors.OpError as error:
            trapped = self.trapped_errors
            if trapped:
                original = trapped[0]
                trapped.clear()  # a later, unrelated failure must not repeat this one
                raise original from None
            raise DataError(f"could not read {self.description}: {first_line(error)}") from None


def trap(trapped_errors, error):
    """Records `error` for `Source.reading` and returns it, for `raise trap(errors, DataError(...))`."""
    trapped_errors.append(error)
    return error
