"""The tf.data pipeline: split, scan, vectorize, cache, shuffle, batch by length, prefetch.

Vectorizing happens here, inside the pipeline, so the model trains on int ids and the
same `TextVectorizer` later goes into the exported SavedModel (train on ids, serve on
strings).
"""

import collections
import dataclasses

import numpy as np
import tensorflow as tf

from rnnapps.data.source import HASH_BUCKETS, held_out_threshold, in_held_out  # noqa: F401 (HASH_BUCKETS re-exported)
from rnnapps.dataset_iteration import ends_promptly
from rnnapps.errors import DataError

TASKS = ("binary", "multiclass", "multilabel")


def split_validation(dataset, fraction):
    """Splits `(text, label)` examples into train/validation by a hash of the text.

    Hashing (rather than taking the first N) works on streams of any size, gives the
    same split every run, and keeps duplicate texts on one side, so validation never
    contains a copy of a training example. The hash is the one every source uses
    (`rnnapps.data.source.in_held_out`).

    Example:
        >>> train, val = split_validation(dataset, 0.1)  # doctest: +SKIP
    """
    threshold = held_out_threshold(fraction, "validation_split", allow_zero=True)

    def in_validation(text, _label):
        return in_held_out(text, threshold)

    train = dataset.filter(lambda text, label: tf.logical_not(in_validation(text, label)))
    return train, dataset.filter(in_validation)


@dataclasses.dataclass
class DataSummary:
    """What one pass over the training examples found."""

    num_examples: int
    label_counts: collections.Counter
    token_counts: collections.Counter
    max_length: int
    mean_length: float


def scan(labelled, vectorizer, multi_label, batch_size=512, allow_empty=False):
    """One streaming pass: token counts (for the vocabulary), label counts, lengths.

    An empty stream raises `DataError`, or, with `allow_empty`, returns a summary with
    `num_examples == 0` (e.g. a hash validation split of very little data).

    Example:
        >>> summary = scan(data, vectorizer, multi_label=False)  # doctest: +SKIP
    """
    tokens = collections.Counter()
    labels = collections.Counter()
    count, total_length, max_length = 0, 0, 0
    batches = labelled.dataset.ragged_batch(batch_size).map(
        lambda texts, label: (vectorizer.tokenize(texts), label), num_parallel_calls=tf.data.AUTOTUNE
    )
    with labelled.reading():
        for token_batch, label_batch in ends_promptly(batches.prefetch(2)):
            lengths = token_batch.row_lengths().numpy()
            tokens.update(token_batch.flat_values.numpy())
            flat_labels = label_batch.flat_values if multi_label else label_batch
            labels.update(label.decode("utf-8") for label in flat_labels.numpy())
            count += len(lengths)
            total_length += int(lengths.sum())
            max_length = max(max_length, int(lengths.max()) if len(lengths) else 0)
    if count == 0 and not allow_empty:
        raise DataError(f"the dataset is empty: {labelled.description} yielded no examples")
    return DataSummary(count, labels, tokens, max_length, total_length / max(count, 1))


def encode_labels(label_names, task):
    """Returns a function mapping a batch of label strings to training targets.

    binary -> float [B, 1] (1 for the second name); multiclass -> int32 [B];
    multilabel (ragged [B, None] strings) -> multi-hot float [B, C].
    """
    if task not in TASKS:
        raise DataError(f"task must be one of {TASKS}, got {task!r}")
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(list(label_names)), tf.range(len(label_names), dtype=tf.int32)
        ),
        default_value=-1,
    )

    def encode(labels):
        if task == "multilabel":
            ids = tf.ragged.map_flat_values(table.lookup, labels).to_tensor(-1)
            hot = tf.reduce_sum(tf.one_hot(ids, len(label_names)), axis=1)
            return tf.minimum(hot, 1.0)
        ids = table.lookup(labels)
        if task == "binary":
            return tf.cast(ids, tf.float32)[:, None]
        return ids

    return encode


def vectorize_examples(dataset, vectorizer, label_encoder, batch_size=256):
    """`(text, label)` strings -> `(ids int32[None], target)` examples, vectorized in chunks."""
    return (
        dataset.ragged_batch(batch_size)
        .map(
            lambda texts, labels: (vectorizer.vectorize(texts, ensure_nonempty=True), label_encoder(labels)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        .unbatch()
        # Unbatching a ragged batch types each row as a rank-1 "ragged" spec; an identity
        # map re-types it as the dense tensor it is, which padded batching requires.
        .map(lambda ids, target: (tf.identity(ids), target))
    )


SORT_CHUNK_BATCHES = 16  # batches' worth of examples sorted by length together


def batch_by_length(dataset, batch_size, sort_chunk=SORT_CHUNK_BATCHES, pad_to=None):
    """Pads `(ids, target)` examples into batches, grouping texts of similar length.

    With `sort_chunk` (the default), every run of `sort_chunk * batch_size` examples
    is sorted by length and cut into batches, each padded only to its own longest
    member (less padding, hence less RNN work); the batches of a chunk come out in a
    random order that follows from the chunk's content, so a shuffled input gives
    new batches every epoch and a seeded one gives the same. This does the job of
    `bucket_by_sequence_length` with one op per chunk instead of per-example
    bookkeeping, which is measurably cheaper on CPU. With `sort_chunk=None` batches
    are padded to their longest member, or to `pad_to` tokens when given (the classic
    pad-to-max-length baseline). Ids pad with 0, which the embedding masks.

    Example:
        >>> data = tf.data.Dataset.from_generator(
        ...     lambda: (([1] * n, [0.0]) for n in (5, 1, 4, 2)),
        ...     output_signature=(tf.TensorSpec([None], tf.int32), tf.TensorSpec([1], tf.float32)))
        >>> sorted(int(ids.shape[1]) for ids, _ in batch_by_length(data, 2))
        [2, 5]
    """
    if batch_size < 1:
        raise DataError(f"batch_size must be >= 1, got {batch_size}")
    if pad_to is not None:
        target_shape = dataset.element_spec[1].shape
        return dataset.padded_batch(batch_size, padded_shapes=([pad_to], target_shape))
    if not sort_chunk:
        return dataset.padded_batch(batch_size)
    return batch_sorted_chunks(dataset, batch_size, sort_chunk)


def batch_sorted_chunks(dataset, batch_size, sort_chunk=SORT_CHUNK_BATCHES, sort_by=(0,), trim=(0,)):
    """Length-sorted batching of flat tuples of tensors (the engine of `batch_by_length`).

    Every run of `sort_chunk * batch_size` elements is padded together, sorted by the
    lengths (non-zero ids) of the components listed in `sort_by` (first key first, ties
    broken by the next), cut into batches that come out in an order drawn from the
    chunk's content, and each component listed in `trim` is cut back to its batch's own
    longest row. Other components are carried along unchanged.

    Args:
        dataset: elements are tuples whose `sort_by`/`trim` components are int id
            vectors `[None]` (0 = padding).
        batch_size: rows per batch; the last batch of a chunk may be smaller.
        sort_chunk: batches per sorted chunk (>= 1).
        sort_by, trim: component indices, see above.

    Example:
        >>> pairs = tf.data.Dataset.from_tensor_slices(([[1, 0], [1, 1]], [[1, 1, 1], [1, 0, 0]]))
        >>> [tuple(t.shape) for t in next(iter(batch_sorted_chunks(pairs, 2, 1, trim=(0, 1))))]
        [(2, 2), (2, 3)]
    """
    if batch_size < 1:
        raise DataError(f"batch_size must be >= 1, got {batch_size}")
    if not sort_chunk or sort_chunk < 1:
        raise DataError(f"sort_chunk must be >= 1 or None, got {sort_chunk}")
    sort_by, trim = tuple(sort_by), tuple(trim)
    if not sort_by:
        raise DataError("sort_by must name at least one component")
    return (
        dataset.padded_batch(batch_size * int(sort_chunk))
        .map(lambda *chunk: _sorted_batches(chunk, batch_size, sort_by, trim))
        .unbatch()
        .map(lambda *batch: _trim_batch(batch, trim))
    )


def _sorted_batches(chunk, batch_size, sort_by, trim):
    """One padded chunk -> each component as `[batches, batch_size, ...]`, rows length-sorted,
    batches in random order, followed by the trimmed components' lengths and a real-row mask.

    The last batch is filled up with filler rows (mask False), which `_trim_batch` drops.
    """
    lengths = {i: tf.math.count_nonzero(chunk[i], axis=1, dtype=tf.int32) for i in sort_by + trim}
    rows = tf.shape(chunk[0])[0]
    order = tf.range(rows)
    # Least significant key first: each stable sort keeps the order of the previous one among ties.
    for index in reversed(sort_by):
        order = tf.gather(order, tf.argsort(tf.gather(lengths[index], order), stable=True))
    num_batches = (rows + batch_size - 1) // batch_size
    filler = num_batches * batch_size - rows

    def cut(tensor):
        tensor = tf.gather(tensor, order)
        padding = tf.concat([[[0, filler]], tf.zeros([tf.rank(tensor) - 1, 2], tf.int32)], axis=0)
        tensor = tf.pad(tensor, padding)
        return tf.reshape(tensor, tf.concat([[num_batches, batch_size], tf.shape(tensor)[1:]], axis=0))

    # A seed drawn from the chunk itself: reproducible for a seeded shuffle, new when the
    # shuffle is new, and no random-op state inside tf.data.
    seed = tf.stack([tf.reduce_sum(lengths[sort_by[0]] * tf.range(1, rows + 1)), rows])
    batch_order = tf.argsort(tf.random.stateless_uniform([num_batches], seed=seed))
    trimmed_lengths = tf.stack([lengths[i] for i in trim], axis=1) if trim else tf.zeros([rows, 0], tf.int32)
    real = tf.ones([rows], tf.bool)
    return tuple(tf.gather(cut(tensor), batch_order) for tensor in chunk + (trimmed_lengths, real))


def _trim_batch(batch, trim):
    *components, trimmed_lengths, real = batch
    components = [tf.boolean_mask(tensor, real) for tensor in components]
    widths = tf.reduce_max(tf.boolean_mask(trimmed_lengths, real), axis=0)
    for position, index in enumerate(trim):
        components[index] = components[index][:, : widths[position]]
    return tuple(components)


def make_training_batches(
    examples,
    vectorizer,
    label_encoder,
    batch_size,
    sort_chunk=SORT_CHUNK_BATCHES,
    shuffle=True,
    seed=None,
    shuffle_buffer=10_000,
    cache=True,
    pad_to=None,
):
    """The whole training pipeline: vectorize -> cache -> shuffle -> length-sorted batches -> prefetch.

    The cache holds int ids (smaller than the texts) after the first epoch, so later
    epochs skip reading and tokenising; shuffling after the cache reshuffles every epoch.
    `cache` may be a file path to cache on disk instead of in memory.
    """
    dataset = vectorize_examples(examples, vectorizer, label_encoder)
    if cache:
        dataset = dataset.cache(cache if isinstance(cache, str) else "")
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = batch_by_length(dataset, batch_size, sort_chunk=sort_chunk, pad_to=pad_to)
    return dataset.prefetch(tf.data.AUTOTUNE)


def padding_fraction(batches, max_batches=None):
    """Fraction of padded positions in a dataset of `(ids, target)` batches (for reports)."""
    real = padded = 0
    for index, (ids, _) in enumerate(ends_promptly(batches)):
        if max_batches is not None and index >= max_batches:
            break
        ids = np.asarray(ids)
        real += int((ids != 0).sum())
        padded += ids.size
    return 0.0 if padded == 0 else 1.0 - real / padded
