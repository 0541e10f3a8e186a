"""The tf.data pipeline: hash split, scan, label encoding, length-sorted batching, padding."""

import collections
import random

import numpy as np
import pytest
import tensorflow as tf

from rnnapps.data import (
    batch_by_length,
    encode_labels,
    from_lists,
    make_training_batches,
    padding_fraction,
    scan,
    split_validation,
    vectorize_examples,
)
from rnnapps.errors import DataError
from rnnapps.text import TextVectorizer

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon"]


def pairs(dataset):
    return [(text.decode("utf-8"), label.decode("utf-8")) for text, label in dataset.as_numpy_iterator()]


@pytest.fixture(scope="module")
def vectorizer():
    return TextVectorizer(vocabulary=WORDS)


def varied_examples(count=240, seed=0, shortest=5, longest=50):
    """Texts whose lengths vary 10x, in shuffled order, with binary labels."""
    rng = random.Random(seed)
    lengths = [shortest + (i * (longest - shortest)) // (count - 1) for i in range(count)]
    rng.shuffle(lengths)
    texts = [" ".join(rng.choice(WORDS) for _ in range(length)) for length in lengths]
    labels = [rng.choice(["neg", "pos"]) for _ in lengths]
    return texts, labels, lengths


# -- split --------------------------------------------------------------------------
def test_split_validation_is_deterministic_disjoint_and_complete():
    texts = [f"review number {i}" for i in range(2000)]
    duplicates = [f"duplicated review {i}" for i in range(40)] * 3
    all_texts = texts + duplicates
    dataset = from_lists(all_texts, ["x"] * len(all_texts)).dataset
    train, validation = split_validation(dataset, 0.2)
    train_texts = [text for text, _ in pairs(train)]
    validation_texts = [text for text, _ in pairs(validation)]
    assert not set(train_texts) & set(validation_texts)
    assert collections.Counter(train_texts + validation_texts) == collections.Counter(all_texts)
    fraction = sum(1 for t in validation_texts if t.startswith("review")) / 2000
    assert 0.16 < fraction < 0.24
    # Duplicates land on one side only, all three copies together.
    for text in set(duplicates):
        assert (train_texts.count(text), validation_texts.count(text)) in ((3, 0), (0, 3))
    again_train, again_validation = split_validation(dataset, 0.2)
    assert [t for t, _ in pairs(again_train)] == train_texts
    assert [t for t, _ in pairs(again_validation)] == validation_texts


def test_split_validation_edges():
    dataset = from_lists(["a", "b", "c"], ["x", "y", "z"]).dataset
    train, validation = split_validation(dataset, 0.0)
    assert len(pairs(train)) == 3 and pairs(validation) == []
    for bad in (1.0, -0.1):
        with pytest.raises(DataError, match="validation_split"):
            split_validation(dataset, bad)


def test_split_validation_keeps_multi_label_examples():
    data = from_lists([f"t{i}" for i in range(50)], [["a", "b"]] * 50)
    train, validation = split_validation(data.dataset, 0.5)
    labels = [label.tolist() for _, label in train.concatenate(validation).as_numpy_iterator()]
    assert len(labels) == 50 and all(label == [b"a", b"b"] for label in labels)


# -- scan ---------------------------------------------------------------------------
def test_scan_counts_examples_tokens_labels_and_lengths(vectorizer):
    data = from_lists(["alpha beta", "Beta beta gamma!", ""], ["pos", "neg", "pos"])
    summary = scan(data, vectorizer, multi_label=False, batch_size=2)
    assert summary.num_examples == 3
    assert summary.label_counts == collections.Counter({"pos": 2, "neg": 1})
    assert summary.token_counts == collections.Counter({b"beta": 3, b"alpha": 1, b"gamma": 1, b"!": 1})
    assert summary.max_length == 4
    assert summary.mean_length == pytest.approx(6 / 3)


def test_scan_multi_label(vectorizer):
    data = from_lists(["a", "b c"], [["x", "y"], ["y"]])
    summary = scan(data, vectorizer, multi_label=True)
    assert summary.label_counts == collections.Counter({"y": 2, "x": 1})
    assert summary.num_examples == 2 and summary.max_length == 2


def test_scan_of_empty_data_raises(vectorizer):
    data = from_lists(["a"], ["x"])
    empty = type(data)(data.dataset.take(0), description="nothing")
    with pytest.raises(DataError, match="nothing yielded no examples"):
        scan(empty, vectorizer, multi_label=False)


# -- labels -------------------------------------------------------------------------
def test_encode_binary_labels():
    encode = encode_labels(["neg", "pos"], "binary")
    targets = encode(tf.constant(["pos", "neg", "pos"]))
    assert targets.dtype == tf.float32
    np.testing.assert_array_equal(targets.numpy(), [[1.0], [0.0], [1.0]])


def test_encode_multiclass_labels():
    encode = encode_labels(["a", "b", "c"], "multiclass")
    targets = encode(tf.constant(["c", "a", "b", "c"]))
    assert targets.dtype == tf.int32
    np.testing.assert_array_equal(targets.numpy(), [2, 0, 1, 2])


def test_encode_multilabel_labels():
    encode = encode_labels(["a", "b", "c"], "multilabel")
    targets = encode(tf.ragged.constant([["c", "a"], [], ["b", "b"]]))
    assert targets.dtype == tf.float32
    np.testing.assert_array_equal(targets.numpy(), [[1, 0, 1], [0, 0, 0], [0, 1, 0]])


def test_encode_unknown_task():
    with pytest.raises(DataError, match="task"):
        encode_labels(["a"], "regression")


# -- batching -----------------------------------------------------------------------
def examples_dataset(vectorizer, texts, labels):
    encoder = encode_labels(["neg", "pos"], "binary")
    return vectorize_examples(from_lists(texts, labels).dataset, vectorizer, encoder, batch_size=64)


def test_vectorize_examples_yields_dense_ids_and_targets(vectorizer):
    dataset = examples_dataset(vectorizer, ["alpha zzz", ""], ["pos", "neg"])
    rows = list(dataset.as_numpy_iterator())
    np.testing.assert_array_equal(rows[0][0], [2, 1])
    np.testing.assert_array_equal(rows[1][0], [1])  # empty text: one unknown token
    assert [row[1].tolist() for row in rows] == [[1.0], [0.0]]
    assert dataset.element_spec[0] == tf.TensorSpec([None], tf.int32)


def test_batch_by_length_sorts_within_chunks_and_wastes_less(vectorizer):
    texts, labels, lengths = varied_examples()
    assert max(lengths) == 10 * min(lengths)
    dataset = examples_dataset(vectorizer, texts, labels)
    sorted_batches = list(batch_by_length(dataset, 16, sort_chunk=4).as_numpy_iterator())
    seen = []
    for ids, targets in sorted_batches:
        member_lengths = (ids != 0).sum(axis=1)
        assert ids.shape[1] == member_lengths.max()  # padded only to its own longest row
        assert ids.shape[0] == targets.shape[0] <= 16
        assert ids.shape[0] > 0
        seen.extend(member_lengths.tolist())
    assert sorted(seen) == sorted(lengths)
    # Each chunk of 4 batches holds 64 consecutive examples, sorted: batches never overlap in length.
    for chunk in range(0, len(sorted_batches), 4):
        lengths_per_batch = [(ids != 0).sum(axis=1) for ids, _ in sorted_batches[chunk : chunk + 4]]
        spans = sorted((lengths.min(), lengths.max()) for lengths in lengths_per_batch)
        assert all(high <= next_low for (_, high), (next_low, _) in zip(spans, spans[1:]))
    plain = batch_by_length(dataset, 16, sort_chunk=None)
    assert padding_fraction(sorted_batches) < padding_fraction(plain) / 2
    # The default chunk (16 batches) spans all 240 texts here: little padding is left.
    assert padding_fraction(batch_by_length(dataset, 16)) < padding_fraction(plain) / 5


def test_batch_by_length_keeps_targets_with_their_texts(vectorizer):
    # Labels that encode the length: after sorting, each row must still carry its own.
    texts = [" ".join(["alpha"] * n) for n in (3, 1, 5, 2, 4, 6, 2)]
    labels = ["pos" if n % 2 else "neg" for n in (3, 1, 5, 2, 4, 6, 2)]
    dataset = examples_dataset(vectorizer, texts, labels)
    for ids, targets in batch_by_length(dataset, 3).as_numpy_iterator():
        lengths = (ids != 0).sum(axis=1)
        np.testing.assert_array_equal(targets[:, 0], lengths % 2)


def test_batch_by_length_batch_order_is_reproducible_and_follows_the_shuffle(vectorizer):
    texts, labels, _ = varied_examples(count=200)
    dataset = examples_dataset(vectorizer, texts, labels)

    def widths(seed):
        batches = batch_by_length(dataset.shuffle(500, seed=seed), 8, sort_chunk=25)
        return [ids.shape[1] for ids, _ in batches.as_numpy_iterator()]

    assert widths(1) == widths(1)
    assert widths(1) != widths(2)
    assert widths(1) != sorted(widths(1))  # batches of a chunk do not come out shortest first


def test_batch_by_length_pad_to_a_fixed_length(vectorizer):
    texts, labels, _ = varied_examples(count=20)
    batches = list(batch_by_length(examples_dataset(vectorizer, texts, labels), 8, pad_to=60).as_numpy_iterator())
    assert [ids.shape for ids, _ in batches] == [(8, 60), (8, 60), (4, 60)]
    assert all(targets.shape[1:] == (1,) for _, targets in batches)


def test_batch_size_and_sort_chunk_must_be_positive(vectorizer):
    with pytest.raises(DataError, match="batch_size"):
        batch_by_length(examples_dataset(vectorizer, ["a"], ["pos"]), 0)
    with pytest.raises(DataError, match="sort_chunk"):
        batch_by_length(examples_dataset(vectorizer, ["a"], ["pos"]), 4, sort_chunk=-1)


def test_padding_fraction():
    batches = [(np.array([[1, 2, 0, 0], [3, 0, 0, 0]]), None), (np.array([[1, 1]]), None)]
    assert padding_fraction(batches) == pytest.approx(5 / 10)
    assert padding_fraction(batches, max_batches=1) == pytest.approx(5 / 8)
    assert padding_fraction([]) == 0.0


# -- whole pipeline -----------------------------------------------------------------
@pytest.mark.parametrize("cache", [True, "file"])
def test_make_training_batches(vectorizer, cache, tmp_path):
    texts, labels, lengths = varied_examples(count=40, longest=12)
    examples = from_lists(texts, labels).dataset
    encoder = encode_labels(["neg", "pos"], "binary")
    batches = make_training_batches(
        examples,
        vectorizer,
        encoder,
        batch_size=8,
        seed=1,
        cache=str(tmp_path / "cache") if cache == "file" else True,
    )
    seen_lengths, positives = [], 0
    for epoch in range(2):  # the second epoch reads the cache
        for ids, targets in batches:
            assert ids.dtype == tf.int32 and targets.dtype == tf.float32
            ids = ids.numpy()
            lengths_here = (ids != 0).sum(axis=1)
            # Right padding with 0: every row is its tokens, then only zeros.
            for row, length in zip(ids, lengths_here):
                assert np.all(row[:length] != 0) and np.all(row[length:] == 0)
            if epoch == 0:
                seen_lengths.extend(lengths_here.tolist())
                positives += int(targets.numpy().sum())
    assert sorted(seen_lengths) == sorted(lengths)
    assert positives == labels.count("pos")


def test_make_training_batches_without_shuffle_keeps_order(vectorizer):
    examples = from_lists(["alpha", "beta gamma", "delta"], ["neg", "pos", "neg"]).dataset
    encoder = encode_labels(["neg", "pos"], "multiclass")
    (ids, targets), = list(
        make_training_batches(examples, vectorizer, encoder, 4, sort_chunk=None, shuffle=False, cache=False)
    )
    np.testing.assert_array_equal(ids.numpy(), [[2, 0], [3, 4], [5, 0]])
    np.testing.assert_array_equal(targets.numpy(), [0, 1, 0])


def test_make_training_batches_multi_label_targets(vectorizer):
    data = from_lists(["alpha", "beta gamma delta", "gamma", "beta"], [["x"], ["y", "z"], [], ["z", "x"]])
    encoder = encode_labels(["x", "y", "z"], "multilabel")
    batches = make_training_batches(data.dataset, vectorizer, encoder, 2, sort_chunk=2, shuffle=False)
    rows = {}
    for ids, targets in batches:
        assert targets.dtype == tf.float32 and targets.shape[1] == 3
        for row, target in zip(ids.numpy(), targets.numpy()):
            rows[tuple(row[row != 0])] = target.tolist()
    assert rows == {(2,): [1, 0, 0], (3, 4, 5): [0, 1, 1], (4,): [0, 0, 0], (3,): [1, 0, 1]}
