"""Parallel texts for translation: vocabularies and the training pipeline.

The sources of pairs (`ParallelTexts`, `parallel_texts`, `from_*`, `split_pairs`) live in
`rnnapps.data.parallel_sources` and are re-exported here: one import path for the
translator's data.

Target ids follow one convention that the model, the decoders and the exports share:
0 is padding, 1 unknown, then `START_ID = 2` and `END_ID = 3` (the first two entries of
the target vocabulary are `START_TOKEN` and `END_TOKEN`), then the learned tokens.
The decoder is fed `[START] + target` and trained to predict `target + [END]`.

Example:
    >>> pairs = parallel_texts([("I am hungry.", "Tengo hambre."), ("Hello!", "¡Hola!")])
    >>> source_vec, target_vec, stats = build_translation_vectorizers(pairs)
    >>> target_vec.get_vocabulary()[:2]
    ['<start>', '<end>']
"""

import collections
import dataclasses

import tensorflow as tf

from rnnapps.data.parallel_sources import (  # re-exported: one import path for the translator's data
    ParallelTexts,
    from_aligned_files,
    from_dataset,
    from_lists,
    from_pairs_file,
    from_tfds,
    parallel_texts,
    split_pairs,
)
from rnnapps.data.pipeline import SORT_CHUNK_BATCHES, batch_sorted_chunks
from rnnapps.checks import check_known_options
from rnnapps.dataset_iteration import ends_promptly
from rnnapps.errors import ConfigError, DataError
from rnnapps.text import TextVectorizer, build_vocabulary
from rnnapps.text.vectorizer import SEQUENCE_MARKERS, marker_ids, with_markers
from rnnapps.text.detokenize import detokenize, detokenize_graph

__all__ = [
    "END_ID",
    "END_TOKEN",
    "START_ID",
    "START_TOKEN",
    "ParallelTexts",
    "TranslationDataStats",
    "build_translation_vectorizers",
    "check_text_options",
    "detokenize",  # re-exported: the translator's data and its detokenizing live together for its users
    "detokenize_graph",
    "from_aligned_files",
    "from_dataset",
    "from_lists",
    "from_pairs_file",
    "from_tfds",
    "held_out_batches",
    "pairs_for",
    "parallel_texts",
    "split_pairs",
    "translation_batches",
    "translation_vectorizer",
    "vectorize_pairs",
]

# The target vocabulary starts with the markers: the vectorizer fixes their ids (2 and 3).
START_TOKEN, END_TOKEN = SEQUENCE_MARKERS["start"], SEQUENCE_MARKERS["end"]
START_ID, END_ID = marker_ids(SEQUENCE_MARKERS).values()
MARKERS = (START_TOKEN, END_TOKEN)
LEVELS = ("word", "char")
DEFAULT_MAX_LENGTH = {"word": 50, "char": 200}  # tokens kept per sentence unless asked otherwise
PAIR_OPTIONS = (  # what a translator's fit/evaluate pass on to `parallel_texts`
    "source_column", "target_column", "delimiter", "encoding", "source_key", "target_key",
    "tfds_data_dir", "data_dir", "download", "split",  # data_dir: deprecated name of tfds_data_dir
)


def pairs_for(data, targets, split, options):
    """`parallel_texts(data, targets, **options)` for a translator: a TFDS name reads `split`
    unless `options` give one; an option not in `PAIR_OPTIONS` is a `ConfigError`."""
    options = dict(options)
    check_known_options(options, sorted(PAIR_OPTIONS))
    options.setdefault("split", split)
    return parallel_texts(data, targets, **options)


# -- vectorizers --------------------------------------------------------------------
@dataclasses.dataclass
class TranslationDataStats:
    """What the vocabulary pass found. Lengths are in tokens, before truncation, without markers."""

    num_pairs: int
    source_max_length: int
    source_mean_length: float
    target_max_length: int
    target_mean_length: float
    source_truncated: int = 0  # pairs longer than the source vectorizer's max_length
    target_truncated: int = 0

    def summary(self, source_ids, target_ids):
        """One line for the training log, with the vocabulary sizes (ids) of both sides."""
        return (
            f"training data: {self.num_pairs:,} pairs, mean length {self.source_mean_length:.1f} -> "
            f"{self.target_mean_length:.1f} tokens (longest {self.source_max_length} -> {self.target_max_length}; "
            f"truncated {self.source_truncated} / {self.target_truncated}); vocabularies "
            f"{source_ids:,} source / {target_ids:,} target ids"
        )


def check_text_options(
    source_level="word", target_level="word", lowercase=True, punctuation="split", source_max_tokens=None,
    target_max_tokens=None, min_count=1, source_max_length=None, target_max_length=None,
):
    """The text options of both sides, checked (`ConfigError`), as the dict of keywords
    `build_translation_vectorizers` and `translation_vectorizer` take; a max length of
    None becomes the level's default (`DEFAULT_MAX_LENGTH`)."""
    for name, level in (("source_level", source_level), ("target_level", target_level)):
        if level not in LEVELS:
            raise ConfigError(f"{name} must be 'word' or 'char', got {level!r}")
    for name, value in (("source_max_tokens", source_max_tokens), ("target_max_tokens", target_max_tokens)):
        if value is not None and int(value) < 1:
            raise ConfigError(f"{name} must be >= 1 or None, got {value}")
    if int(min_count) < 1:
        raise ConfigError(f"min_count must be >= 1, got {min_count}")
    options = dict(
        source_level=source_level,
        target_level=target_level,
        lowercase=bool(lowercase),
        punctuation=punctuation,
        source_max_tokens=None if source_max_tokens is None else int(source_max_tokens),
        target_max_tokens=None if target_max_tokens is None else int(target_max_tokens),
        min_count=int(min_count),
        source_max_length=DEFAULT_MAX_LENGTH[source_level] if source_max_length is None else int(source_max_length),
        target_max_length=DEFAULT_MAX_LENGTH[target_level] if target_max_length is None else int(target_max_length),
    )
    for side in ("source", "target"):
        translation_vectorizer(options, side)  # the tokenizer options are valid
    return options


def translation_vectorizer(options, side, vocabulary=None):
    """The `TextVectorizer` of one side ("source", or "target": with the sequence markers)
    configured by `options` (the keywords of `build_translation_vectorizers`)."""
    return TextVectorizer(
        vocabulary=vocabulary, level=options[f"{side}_level"], lowercase=options["lowercase"],
        punctuation=options["punctuation"], max_length=options[f"{side}_max_length"],
        markers=SEQUENCE_MARKERS if side == "target" else None,
    )


def build_translation_vectorizers(
    pairs,
    source_level="word",
    target_level="word",
    lowercase=True,
    punctuation="split",
    source_max_tokens=None,
    target_max_tokens=None,
    min_count=1,
    source_max_length=None,
    target_max_length=None,
    batch_size=1024,
):
    """Source and target `TextVectorizer`s from one streaming pass over the pairs.

    The target vocabulary starts with `START_TOKEN`, `END_TOKEN` (ids 2 and 3), followed
    by the learned tokens. Max tokens and lengths count learned tokens only:
    `target_max_length` is the number of target tokens kept (the target vectorizer's
    `max_length`), so the decoder's sequences are at most `target_max_length + 1` long
    (`[START] + tokens` and `tokens + [END]`).

    Args:
        pairs: `ParallelTexts` (or anything `parallel_texts` accepts).
        source_level, target_level: "word" or "char".
        lowercase, punctuation: tokeniser options of both sides (see `TextVectorizer`).
        source_max_tokens, target_max_tokens: vocabulary caps (markers not included).
        min_count: drop tokens seen fewer times.
        source_max_length, target_max_length: truncate longer texts (None keeps all).

    Returns:
        `(source_vectorizer, target_vectorizer, TranslationDataStats)`.

    Example:
        >>> s, t, stats = build_translation_vectorizers([("good morning", "buenos días")])
        >>> t.get_vocabulary(), stats.num_pairs
        (['<start>', '<end>', 'buenos', 'días'], 1)
    """
    pairs = parallel_texts(pairs)
    options = dict(
        source_level=source_level, target_level=target_level, lowercase=lowercase, punctuation=punctuation,
        source_max_length=source_max_length, target_max_length=target_max_length,
    )
    source_vectorizer = translation_vectorizer(options, "source")
    target_vectorizer = translation_vectorizer(options, "target")
    sides = ("source", "target")
    counters = {side: collections.Counter() for side in sides}
    lengths = {side: [0, 0, 0, 0] for side in sides}  # total, longest, truncated, pairs
    limits = {"source": source_vectorizer.max_length, "target": target_vectorizer.max_length}
    batches = pairs.dataset.batch(batch_size).map(
        lambda source, target: (source_vectorizer.tokenize(source), target_vectorizer.tokenize(target)),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    with pairs.reading():
        for batch in ends_promptly(batches.prefetch(2)):
            for side, tokens in zip(sides, batch):
                row_lengths = tokens.row_lengths().numpy()
                counters[side].update(tokens.flat_values.numpy())
                stats = lengths[side]
                stats[0] += int(row_lengths.sum())
                stats[1] = max(stats[1], int(row_lengths.max(initial=0)))
                if limits[side] is not None:
                    stats[2] += int((row_lengths > limits[side]).sum())
                stats[3] += len(row_lengths)
    num_pairs = lengths["source"][3]
    if num_pairs == 0:
        raise DataError(f"the dataset is empty: {pairs.description} yielded no pairs")
    # A Counter passed as one "batch" adds its counts (Counter.update of a mapping), so
    # build_vocabulary ranks and filters exactly as it would the raw token stream.
    source_vocabulary = build_vocabulary([counters["source"]], max_tokens=source_max_tokens, min_count=min_count)
    if not source_vocabulary:
        raise DataError(f"the source texts of {pairs.description} contain no tokens (seen {min_count}+ times)")
    source_vectorizer.set_vocabulary(source_vocabulary)
    for marker in MARKERS:  # character-level data can never produce them; word level could in theory
        counters["target"].pop(marker.encode("utf-8"), None)
    target_vocabulary = build_vocabulary([counters["target"]], max_tokens=target_max_tokens, min_count=min_count)
    target_vectorizer.set_vocabulary(with_markers(SEQUENCE_MARKERS, target_vocabulary))
    stats = TranslationDataStats(
        num_pairs=num_pairs,
        source_max_length=lengths["source"][1],
        source_mean_length=lengths["source"][0] / num_pairs,
        target_max_length=lengths["target"][1],
        target_mean_length=lengths["target"][0] / num_pairs,
        source_truncated=lengths["source"][2],
        target_truncated=lengths["target"][2],
    )
    return source_vectorizer, target_vectorizer, stats


# -- training batches ---------------------------------------------------------------
def vectorize_pairs(dataset, source_vectorizer, target_vectorizer, batch_size=256):
    """`(source, target)` strings -> `(source_ids, decoder_inputs, targets)` int32 vectors.

    `decoder_inputs = [START] + target_ids`, `targets = target_ids + [END]`; an empty
    source becomes one unknown id (the encoder always sees a step). Vectorized in chunks
    of `batch_size` pairs.
    """

    start_id, end_id = target_vectorizer.token_to_id(START_TOKEN), target_vectorizer.token_to_id(END_TOKEN)

    def encode(sources_, targets):
        source_ids = source_vectorizer.vectorize(sources_, ensure_nonempty=True)
        target_ids = target_vectorizer.vectorize(targets)
        rows = target_ids.nrows()
        start = tf.RaggedTensor.from_tensor(tf.fill([rows, 1], tf.constant(start_id, tf.int32)))
        end = tf.RaggedTensor.from_tensor(tf.fill([rows, 1], tf.constant(end_id, tf.int32)))
        return source_ids, tf.concat([start, target_ids], axis=1), tf.concat([target_ids, end], axis=1)

    return (
        dataset.ragged_batch(batch_size)
        .map(encode, num_parallel_calls=tf.data.AUTOTUNE)
        .unbatch()
        # Unbatched ragged rows are typed as rank-1 ragged specs; identity makes them dense.
        .map(lambda source, decoder_inputs, targets: (tf.identity(source), tf.identity(decoder_inputs), tf.identity(targets)))
    )


def translation_batches(
    pairs_dataset,
    source_vectorizer,
    target_vectorizer,
    batch_size,
    shuffle=True,
    seed=None,
    shuffle_buffer=10_000,
    cache=True,
    sort_chunk=SORT_CHUNK_BATCHES,
):
    """The seq2seq training pipeline: vectorize -> cache -> shuffle -> length-sorted batches -> prefetch.

    Yields `((source_ids [B, S], decoder_inputs [B, T]), targets [B, T])`, int32,
    right-padded with 0 (train with `ignore_class=0`). Every `sort_chunk * batch_size`
    pairs are sorted by source length, then target length, and each batch is padded
    only to its own longest source and target (see `batch_sorted_chunks`);
    `sort_chunk=None` batches in stream order. `cache` may be a file path.

    Example:
        >>> batches = translation_batches(pairs, source_vec, target_vec, 64, seed=0)  # doctest: +SKIP
        >>> (source_ids, decoder_inputs), targets = next(iter(batches))  # doctest: +SKIP
    """
    if batch_size < 1:
        raise DataError(f"batch_size must be >= 1, got {batch_size}")
    if isinstance(pairs_dataset, ParallelTexts):
        pairs_dataset = pairs_dataset.dataset
    dataset = vectorize_pairs(pairs_dataset, source_vectorizer, target_vectorizer)
    if cache:
        dataset = dataset.cache(cache if isinstance(cache, str) else "")
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if sort_chunk:
        dataset = batch_sorted_chunks(dataset, batch_size, sort_chunk, sort_by=(0, 1), trim=(0, 1, 2))
    else:
        dataset = dataset.padded_batch(batch_size)
    return dataset.map(lambda source, decoder_inputs, targets: ((source, decoder_inputs), targets)).prefetch(
        tf.data.AUTOTUNE
    )


def first_pairs(dataset, limit=None):
    """The first `limit` (all when None) `(source, target)` pairs of a dataset, as str."""
    if limit is not None:
        dataset = dataset.take(int(limit))
    text = lambda value: value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)  # noqa: E731
    pairs = []
    for sources, targets in ends_promptly(dataset.batch(1024)).as_numpy_iterator():
        pairs.extend((text(s), text(t)) for s, t in zip(sources, targets))
    return pairs


def held_out_batches(pairs, source_vectorizer, target_vectorizer, batch_size, sample_size=1, cache=True):
    """Validation batches of held-out `pairs` and their first `sample_size` pairs (at least
    one: what a BLEU callback translates); `(None, [])` when the pairs yield none. A file
    `cache` gets a ".validation" twin."""
    with pairs.reading():
        sample = first_pairs(pairs.dataset, max(int(sample_size or 0), 1))
    if not sample:
        return None, []
    batches = translation_batches(
        pairs, source_vectorizer, target_vectorizer, batch_size, shuffle=False,
        cache=f"{cache}.validation" if isinstance(cache, str) else cache,
    )
    return batches, sample
