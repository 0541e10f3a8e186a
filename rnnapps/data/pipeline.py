"""The tf.data pipeline: split, scan, vectorize, cache, shuffle, bucket by length, prefetch.

Vectorizing happens here, inside the pipeline, so the model trains on int ids and the
same `TextVectorizer` later goes into the exported SavedModel (train on ids, serve on
strings).
"""

import collections
import dataclasses

import numpy as np
import tensorflow as tf

from rnnapps.errors import DataError

HASH_BUCKETS = 10_000
TASKS = ("binary", "multiclass", "multilabel")


def split_validation(dataset, fraction):
    """Splits `(text, label)` examples into train/validation by a hash of the text.

    Hashing (rather than taking the first N) works on streams of any size, gives the
    same split every run, and keeps duplicate texts on one side, so validation never
    contains a copy of a training example.

    Example:
        >>> train, val = split_validation(dataset, 0.1)  # doctest: +SKIP
    """
    if not 0.0 <= fraction < 1.0:
        raise DataError(f"validation_split must be in [0, 1), got {fraction}")
    threshold = int(round(fraction * HASH_BUCKETS))

    def in_validation(text, _label):
        return tf.strings.to_hash_bucket_fast(text, HASH_BUCKETS) < threshold

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
        for token_batch, label_batch in batches.prefetch(2):
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


def auto_bucket_boundaries(max_length, min_length=8, ratio=1.4):
    """Geometric length boundaries up to `max_length`: padding waste stays under `ratio - 1`.

    Example:
        >>> auto_bucket_boundaries(40)
        [8, 11, 16, 22, 31, 40]
    """
    boundaries, edge = [], float(min_length)
    while edge < max_length:
        boundaries.append(int(round(edge)))
        edge *= ratio
    boundaries.append(int(max_length))
    return sorted(set(b for b in boundaries if b >= 1))


def batch_by_length(dataset, batch_size, boundaries=None, pad_to=None):
    """Pads `(ids, target)` examples into batches.

    With `boundaries`, examples are grouped into length buckets and each batch is padded
    only to its longest member (less padding, hence less RNN work); otherwise batches
    are padded to their longest member, or to `pad_to` tokens when given (the classic
    pad-to-max-length baseline). Ids pad with 0, which the embedding masks.
    """
    if batch_size < 1:
        raise DataError(f"batch_size must be >= 1, got {batch_size}")
    if pad_to is not None:
        target_shape = dataset.element_spec[1].shape
        return dataset.padded_batch(batch_size, padded_shapes=([pad_to], target_shape))
    if not boundaries:
        return dataset.padded_batch(batch_size)
    # Buckets are exclusive upper bounds in tf.data: +1 so a boundary length fits its bucket.
    edges = [int(b) + 1 for b in boundaries]
    return dataset.bucket_by_sequence_length(
        element_length_func=lambda ids, target: tf.shape(ids)[0],
        bucket_boundaries=edges,
        bucket_batch_sizes=[batch_size] * (len(edges) + 1),
    )


def make_training_batches(
    examples,
    vectorizer,
    label_encoder,
    batch_size,
    boundaries=None,
    shuffle=True,
    seed=None,
    shuffle_buffer=10_000,
    cache=True,
    pad_to=None,
):
    """The whole training pipeline: vectorize -> cache -> shuffle -> bucket -> prefetch.

    The cache holds int ids (smaller than the texts) after the first epoch, so later
    epochs skip reading and tokenising; shuffling after the cache reshuffles every epoch.
    `cache` may be a file path to cache on disk instead of in memory.
    """
    dataset = vectorize_examples(examples, vectorizer, label_encoder)
    if cache:
        dataset = dataset.cache(cache if isinstance(cache, str) else "")
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = batch_by_length(dataset, batch_size, boundaries=boundaries, pad_to=pad_to)
    return dataset.prefetch(tf.data.AUTOTUNE)


def padding_fraction(batches, max_batches=None):
    """Fraction of padded positions in a dataset of `(ids, target)` batches (for reports)."""
    real = padded = 0
    for index, (ids, _) in enumerate(batches):
        if max_batches is not None and index >= max_batches:
            break
        ids = np.asarray(ids)
        real += int((ids != 0).sum())
        padded += ids.size
    return 0.0 if padded == 0 else 1.0 - real / padded
