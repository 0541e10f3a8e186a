"""Language-model data on a `TextCorpus`: one scan pass, token ids, training windows.

A document's token stream t0 t1 ... t(n-1) is cut into windows of `T + 1` tokens with
stride `T` (window k holds t(kT) .. t(kT+T)); a window's inputs are its first `T` tokens,
its targets its last `T`, so window k+1 starts with window k's last target and every
token of a document except its first is a target exactly once. Windows never cross
documents; a document's last window is right-padded with 0, whose targets the loss
ignores (`ignore_class=0`), and a one-token document gives no window.

Everything streams: tokenising runs in batches of chunks inside tf.data, windows are
cut by a `scan` that carries fewer than `T + 1` tokens from chunk to chunk, and memory
is bounded by the shuffle buffer (or, for stateful windows, by one chunk per row),
never by the corpus size.

Example:
    >>> vec = TextVectorizer(level="char", lowercase=False)                      # doctest: +SKIP
    >>> stats = scan_corpus(corpus, vec); vec.set_vocabulary(stats.vocabulary)   # doctest: +SKIP
    >>> batches = lm_windows(corpus, vec, sequence_length=100, batch_size=64)    # doctest: +SKIP
"""

import collections
import dataclasses
import os

import numpy as np
import tensorflow as tf

from rnnapps.dataset_iteration import ends_promptly
from rnnapps.errors import ConfigError, DataError
from rnnapps.text.vectorizer import OOV_ID
from rnnapps.text.vocabulary import build_vocabulary

ENCODE_BATCH = 16  # chunks (~64K characters each) tokenised per op call


@dataclasses.dataclass
class CorpusStats:
    """What one pass over a corpus found.

    Attributes:
        num_documents: documents seen (empty ones included).
        num_tokens: tokens, as the vectorizer splits them.
        num_chars: Unicode code points (invalid UTF-8 counted as U+FFFD).
        vocabulary: the vocabulary built by the scan, or the vectorizer's own when counting only.
        num_unknown: tokens outside `vocabulary` (they become `<unk>`, id 1).
        chunk_tokens: int64 array, tokens in each chunk of `corpus.documents()`, in order.
        chunk_documents: int64 array, the document of each chunk.
    """

    num_documents: int
    num_tokens: int
    num_chars: int
    vocabulary: list
    num_unknown: int
    chunk_tokens: np.ndarray
    chunk_documents: np.ndarray

    @property
    def tokens_per_document(self):
        """int64 array: tokens of document i at index i."""
        if not len(self.chunk_documents):
            return np.zeros([0], np.int64)
        return np.bincount(self.chunk_documents, weights=self.chunk_tokens).astype(np.int64)

    def windows_per_document(self, sequence_length):
        """int64 array: training windows each document gives (see the module docstring)."""
        tokens = self.tokens_per_document
        return np.where(tokens >= 2, (tokens - 2) // int(sequence_length) + 1, 0)

    def num_windows(self, sequence_length):
        """Windows in one pass over the corpus (batches = ceil(windows / batch_size))."""
        return int(self.windows_per_document(sequence_length).sum())


def _has_vocabulary(vectorizer):
    return bool(vectorizer.get_vocabulary())


def _require_vocabulary(vectorizer):
    if not _has_vocabulary(vectorizer):
        raise ConfigError("the vectorizer has no vocabulary yet: build one with scan_corpus and set_vocabulary")


def scan_corpus(corpus, vectorizer, max_tokens=None, min_count=1, *, build=None, allow_empty=False):
    """One streaming pass: counts tokens, characters and documents, and builds the vocabulary.

    Tokens come from `vectorizer.tokenize` (its level, lowercasing and punctuation); the
    vocabulary follows `rnnapps.text.build_vocabulary` (most frequent first, `max_tokens`,
    `min_count`; ids 0 and 1 stay padding and `<unk>`). Per batch only the distinct tokens
    and their counts leave the graph, so counting costs little even at char level.

    Args:
        corpus: a `TextCorpus`.
        vectorizer: a `rnnapps.text.TextVectorizer`; it is not modified (call
            `vectorizer.set_vocabulary(stats.vocabulary)` yourself).
        max_tokens, min_count: vocabulary limits when building.
        build: True builds a vocabulary; False only counts (tokens outside the
            vectorizer's vocabulary go to `num_unknown`); None (default) builds when the
            vectorizer has no vocabulary yet.
        allow_empty: return stats with `num_tokens == 0` instead of raising.

    Raises:
        DataError: the corpus contains no tokens (unless `allow_empty`), or cannot be read.

    Example:
        >>> vec = TextVectorizer(level="word")
        >>> stats = scan_corpus(from_text("a b a"), vec)
        >>> stats.vocabulary, stats.num_tokens
        (['a', 'b'], 3)
    """
    if build is None:
        build = not _has_vocabulary(vectorizer)
    elif not build:
        _require_vocabulary(vectorizer)

    def summarize(batch):
        texts = batch["text"]
        tokens = vectorizer.tokenize(texts)
        repaired = tf.strings.unicode_transcode(texts, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD)
        summary = {
            "lengths": tokens.row_lengths(),
            "documents": batch["document"],
            "chars": tf.reduce_sum(tf.cast(tf.strings.length(repaired, unit="UTF8_CHAR"), tf.int64)),
        }
        if build:
            distinct = tf.unique_with_counts(tokens.flat_values, out_idx=tf.int64)
            summary.update(distinct=distinct.y, counts=distinct.count)
        else:
            ids = vectorizer.lookup(tokens.flat_values)
            summary["unknown"] = tf.math.count_nonzero(tf.equal(tf.cast(ids, tf.int64), OOV_ID), dtype=tf.int64)
        return summary

    counts = collections.Counter()
    lengths, documents = [], []
    num_chars = num_unknown = 0
    batches = corpus.documents().batch(ENCODE_BATCH).map(summarize, num_parallel_calls=tf.data.AUTOTUNE)
    with corpus.reading():
        for summary in ends_promptly(batches.prefetch(2)).as_numpy_iterator():
            lengths.append(summary["lengths"])
            documents.append(summary["documents"])
            num_chars += int(summary["chars"])
            if build:
                counts.update(dict(zip(summary["distinct"].tolist(), summary["counts"].tolist())))
            else:
                num_unknown += int(summary["unknown"])
    chunk_tokens = np.concatenate(lengths).astype(np.int64) if lengths else np.zeros([0], np.int64)
    chunk_documents = np.concatenate(documents).astype(np.int64) if documents else np.zeros([0], np.int64)
    num_tokens = int(chunk_tokens.sum())
    if num_tokens == 0 and not allow_empty:
        raise DataError(f"{corpus.description} contains no tokens: nothing to train a language model on")
    if build:
        # A Counter is a mapping of counts, which build_vocabulary's Counter.update adds up as such.
        vocabulary = build_vocabulary([counts], max_tokens=max_tokens, min_count=min_count) if counts else []
        num_unknown = num_tokens - sum(counts[token.encode("utf-8")] for token in vocabulary)
    else:
        vocabulary = vectorizer.get_vocabulary()
    return CorpusStats(
        num_documents=len(np.unique(chunk_documents)),
        num_tokens=num_tokens,
        num_chars=num_chars,
        vocabulary=vocabulary,
        num_unknown=num_unknown,
        chunk_tokens=chunk_tokens,
        chunk_documents=chunk_documents,
    )


# -- token ids --------------------------------------------------------------------------
def _encode_chunks(documents, vectorizer, batch_size, parallel=True):
    """`{"text", "document"}` chunks -> `{"ids": int32[None], "document"}`, tokenised in batches."""

    def encode(batch):
        tokens = vectorizer.tokenize(batch["text"])
        # tokenize + lookup, not vectorize(): a vectorizer's max_length must not truncate chunks.
        ids = tf.cast(vectorizer.lookup(tokens.flat_values), tf.int32)
        return {"ids": tokens.with_flat_values(ids), "document": batch["document"]}

    return (
        documents.batch(batch_size)
        .map(encode, num_parallel_calls=tf.data.AUTOTUNE if parallel else None)
        .unbatch()
        # Rows of an unbatched ragged batch are typed as ragged; re-type them as the dense vectors they are.
        .map(lambda chunk: {"ids": tf.identity(chunk["ids"]), "document": chunk["document"]})
    )


def token_ids(corpus, vectorizer):
    """The corpus as int32 token ids: `{"ids": int32[None], "document": int64[]}` per chunk.

    Tokenised in batches of chunks inside tf.data; unknown tokens are 1 (`<unk>`).

    Example:
        >>> vec = TextVectorizer(vocabulary=["a"], level="word")
        >>> [chunk["ids"].tolist() for chunk in token_ids(from_text("a b a"), vec).as_numpy_iterator()]
        [[2, 1, 2]]
    """
    _require_vocabulary(vectorizer)
    return _encode_chunks(corpus.documents(), vectorizer, ENCODE_BATCH)


# -- windows ----------------------------------------------------------------------------
def _cut_windows(id_chunks, length, start=(-1, 0, 0)):
    """Id chunks -> `(window int32[length + 1], document int64, first bool)` per window.

    A `scan` carries the tokens not yet in a full window (at most `length`) from chunk to
    chunk of the same document; a change of document (or the end, marked by an extra
    empty chunk) flushes them as that document's last, padded window. `first` marks a
    document's first window. `start = (document, offset, drop)` begins mid-document: the
    first chunk belongs to `document`, and its first `drop` tokens are skipped so that
    reading starts at token `offset` of the document.
    """
    size = length + 1
    document, offset, drop = start
    end = tf.data.Dataset.from_tensors({"ids": tf.zeros([0], tf.int32), "document": tf.constant(-1, tf.int64)})

    def step(state, chunk):
        carry, current, position, to_drop = state
        ids, doc = chunk["ids"], chunk["document"]
        same = tf.equal(doc, current)
        # The previous document's last window (only on a change of document, only with 2+ tokens left).
        tail_count = tf.cast(tf.logical_and(tf.logical_not(same), tf.size(carry) >= 2), tf.int32)
        tail = tf.pad(carry, [[0, size - tf.size(carry)]])[None, :][:tail_count]
        dropped = tf.minimum(to_drop, tf.cast(tf.size(ids), tf.int64))
        ids = ids[dropped:]
        kept = carry[: tf.where(same, tf.size(carry), 0)]
        buffer = tf.concat([kept, ids], axis=0)
        begin = tf.where(same, position, tf.constant(0, tf.int64))
        count = tf.maximum(0, (tf.size(buffer) - 1) // length)
        full = tf.gather(buffer, tf.range(count)[:, None] * length + tf.range(size)[None, :])
        starts = begin + tf.cast(tf.range(count) * length, tf.int64)
        windows = tf.concat([tail, full], axis=0)
        documents = tf.concat([tf.fill([tail_count], current), tf.fill([count], doc)], axis=0)
        firsts = tf.concat([tf.fill([tail_count], tf.equal(position, 0)), tf.equal(starts, 0)], axis=0)
        state = (buffer[count * length:], doc, begin + tf.cast(count * length, tf.int64), to_drop - dropped)
        return state, (windows, documents, firsts)

    initial = (
        tf.zeros([0], tf.int32),
        tf.constant(document, tf.int64),
        tf.constant(offset, tf.int64),
        tf.constant(drop, tf.int64),
    )
    return id_chunks.concatenate(end).scan(initial, step).unbatch()


def _check_sizes(sequence_length, batch_size):
    if int(sequence_length) < 1:
        raise ConfigError(f"sequence_length must be >= 1, got {sequence_length}")
    if int(batch_size) < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    return int(sequence_length), int(batch_size)


def _inputs_and_targets(windows):
    return windows[:, :-1], windows[:, 1:]


def lm_windows(
    corpus, vectorizer, sequence_length, batch_size, shuffle=True, shuffle_buffer=10_000, seed=None, cache=None
):
    """Shuffled training batches `(inputs int32[B, T], targets int32[B, T])` for a language model.

    Windows are cut per document as the module docstring says (targets = inputs shifted
    by one token, last window of a document padded with 0), shuffled through a buffer of
    `shuffle_buffer` windows (reshuffled every epoch; a `seed` reproduces the sequence of
    epochs), batched and prefetched. The last batch may be smaller than `batch_size`.

    Args:
        corpus: a `TextCorpus`.
        vectorizer: a `TextVectorizer` with its vocabulary.
        sequence_length: T, tokens per window fed to the model.
        batch_size: B, windows per batch.
        shuffle, shuffle_buffer, seed: the bounded shuffle (memory ~ buffer x (T + 1) x 4 bytes).
        cache: None (default: re-read and re-tokenise every epoch, memory stays flat), a
            file path to cache the windows on disk after the first epoch, or True to cache
            them in memory (only for corpora that fit in RAM).

    Example:
        >>> batches = lm_windows(corpus, vec, sequence_length=100, batch_size=64, seed=0)  # doctest: +SKIP
        >>> model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0))  # doctest: +SKIP
        >>> model.fit(batches, epochs=3)                                                    # doctest: +SKIP
    """
    length, batch_size = _check_sizes(sequence_length, batch_size)
    _require_vocabulary(vectorizer)
    windows = _cut_windows(_encode_chunks(corpus.documents(), vectorizer, ENCODE_BATCH), length)
    windows = windows.map(lambda window, document, first: window)
    if cache is True:
        windows = windows.cache()
    elif cache:
        windows = windows.cache(os.fspath(cache))
    if shuffle:
        windows = windows.shuffle(int(shuffle_buffer), seed=seed, reshuffle_each_iteration=True)
    return windows.batch(batch_size).map(_inputs_and_targets, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


# -- stateful windows -------------------------------------------------------------------
@dataclasses.dataclass
class _StreamPlan:
    """Where row b's stream starts: chunk index, document, token offset in it, tokens to drop."""

    chunk: int
    document: int
    offset: int
    drop: int
    length: int  # windows in the stream


def _plan_streams(stats, length, rows):
    """Cuts the corpus' window sequence into `rows` contiguous streams of near-equal length."""
    per_document = stats.windows_per_document(length)
    total = int(per_document.sum())
    if total == 0:
        raise DataError("the corpus has no document of 2 or more tokens: no window to train or score on")
    steps = -(-total // rows)
    lengths = [total // rows + (1 if row < total % rows else 0) for row in range(rows)]
    window_ends = np.cumsum(per_document)
    tokens, documents = stats.chunk_tokens, stats.chunk_documents
    document_starts = np.concatenate([[0], np.cumsum(stats.tokens_per_document)[:-1]])
    chunk_offsets = np.concatenate([[0], np.cumsum(tokens)[:-1]]) - document_starts[documents]
    plans, first_window = [], 0
    for row_length in lengths:
        if row_length == 0:
            plans.append(_StreamPlan(0, 0, 0, 0, 0))
            continue
        document = int(np.searchsorted(window_ends, first_window, side="right"))
        offset = (first_window - int(window_ends[document] - per_document[document])) * length
        holds = (documents == document) & (chunk_offsets <= offset) & (chunk_offsets + tokens > offset)
        chunk = int(np.flatnonzero(holds)[0])
        plans.append(_StreamPlan(chunk, document, offset, offset - int(chunk_offsets[chunk]), row_length))
        first_window += row_length
    return plans, steps


def _stream(corpus, vectorizer, length, plan, steps):
    """One row's `(window, reset)` sequence: its windows, then padding (reset True) up to `steps`."""
    filler = tf.data.Dataset.from_tensors((tf.zeros([length + 1], tf.int32), tf.constant(True)))
    filler = filler.repeat(steps - plan.length)
    if plan.length == 0:
        return filler
    # One chunk at a time, tokenised one chunk ahead: memory per row stays ~2 chunks.
    chunks = _encode_chunks(corpus.documents().skip(plan.chunk), vectorizer, 1, parallel=False).prefetch(1)
    windows = _cut_windows(chunks, length, start=(plan.document, plan.offset, plan.drop)).take(plan.length)
    windows = windows.enumerate().map(lambda index, window: (window[0], tf.logical_or(window[2], index == 0)))
    return windows.concatenate(filler)


def _stack_rows(*rows):
    windows = tf.stack([row[0] for row in rows])
    resets = tf.stack([row[1] for row in rows])
    return (windows[:, :-1], resets), windows[:, 1:]


def stateful_windows(corpus, vectorizer, sequence_length, batch_size, stats=None):
    """Batches for truncated BPTT: `((inputs int32[B, T], reset bool[B]), targets int32[B, T])`.

    The corpus' windows (the same windows as `lm_windows`, in corpus order) are cut into B
    contiguous streams of near-equal length; row b of every batch is the next window of
    stream b, so row b of batch i+1 continues row b of batch i token for token and an RNN
    may carry its state across batches. `reset[b]` is True where row b starts its stream
    (every epoch's first batch) or a new document: the trainer zeroes that row's state
    there. Every batch has exactly B rows; rows of streams that ran out (only in the last
    batch) are padding 0 with `reset` True.

    Trade-off: B streams need B readers, each skipping to its start (`stats` gives the
    token count of every chunk, so a reader skips whole chunks without tokenising them and
    tokenises only its own part). Tokenising work stays one pass per epoch, memory stays
    about two chunks per row, but every reader still reads the raw text before its start:
    up to ~B/2 passes of plain reading per epoch. No shuffling: the order is the point.

    Args:
        corpus, vectorizer, sequence_length, batch_size: as for `lm_windows`.
        stats: `scan_corpus` results for this corpus and vectorizer (scanned if None).

    Raises:
        DataError: no document has 2 or more tokens.

    Example:
        >>> batches = stateful_windows(corpus, vec, sequence_length=100, batch_size=32, stats=stats)  # doctest: +SKIP
        >>> (inputs, reset), targets = next(iter(batches))                                           # doctest: +SKIP
    """
    length, rows = _check_sizes(sequence_length, batch_size)
    _require_vocabulary(vectorizer)
    if stats is None:
        stats = scan_corpus(corpus, vectorizer, build=False, allow_empty=True)
    plans, steps = _plan_streams(stats, length, rows)
    streams = tuple(_stream(corpus, vectorizer, length, plan, steps) for plan in plans)
    return tf.data.Dataset.zip(streams).map(_stack_rows).prefetch(tf.data.AUTOTUNE)


def language_model_batches(corpus, vectorizer, sequence_length, batch_size, stats=None, stateful=False, **shuffling):
    """A language model's batches of `corpus`: `stateful_windows` (truncated BPTT, with the
    corpus' `stats`) when `stateful`, else `lm_windows` (`shuffling`: its `shuffle`,
    `shuffle_buffer` and `seed`)."""
    if stateful:
        return stateful_windows(corpus, vectorizer, sequence_length, batch_size, stats)
    return lm_windows(corpus, vectorizer, sequence_length, batch_size, **shuffling)
