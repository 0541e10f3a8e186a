"""The data `Source` base: one reading() trap, one hash split, and the public TFDS module."""

import warnings

import numpy as np
import pytest
import tensorflow as tf

from rnnapps.data import tfds as tfds_source
from rnnapps.data.corpus import TextCorpus, from_text, split_corpus, text_corpus
from rnnapps.data.parallel import ParallelTexts, parallel_texts
from rnnapps.data.pipeline import split_validation
from rnnapps.data.poems import Poem, poem_source
from rnnapps.data.source import HASH_BUCKETS, Source, held_out_mask, held_out_threshold, in_held_out, trap
from rnnapps.data.sources import LabelledTexts, from_lists, from_tfds, labelled_texts
from rnnapps.errors import DataError, DataUnavailableError


def failing_source(cls, trapped):
    """A source whose dataset raises inside a Python generator, as file readers do."""

    def rows():
        raise trap(trapped, DataError("bad.txt:3: broken line"))
        yield  # a generator

    dataset = tf.data.Dataset.from_generator(rows, output_signature=tf.TensorSpec([], tf.string))
    if cls is TextCorpus:
        return TextCorpus(lambda: dataset, "bad.txt", trapped), dataset
    return cls(dataset, description="bad.txt", trapped_errors=trapped), dataset


@pytest.mark.parametrize("cls", [LabelledTexts, ParallelTexts, TextCorpus])
def test_every_source_family_shares_one_reading_trap(cls):
    source, dataset = failing_source(cls, [])
    assert isinstance(source, Source)
    assert type(source).reading is Source.reading
    with pytest.raises(DataError, match="bad.txt:3: broken line"):
        with source.reading():
            list(dataset)
    assert source.trapped_errors == []  # raised once, then forgotten


def test_reading_names_the_source_for_untrapped_tf_errors():
    source = LabelledTexts(tf.data.Dataset.from_tensor_slices(["x"]), description="the reviews")
    with pytest.raises(DataError, match="could not read the reviews: boom"):
        with source.reading():
            raise tf.errors.UnknownError(None, None, "boom\nmore")


def test_hash_split_is_one_function_for_every_family():
    texts = [f"line number {i}" for i in range(400)]
    threshold = held_out_threshold(0.25)
    assert threshold == HASH_BUCKETS // 4
    expected = in_held_out(tf.constant(texts), threshold).numpy()
    assert 50 < expected.sum() < 150
    np.testing.assert_array_equal(held_out_mask(texts, 0.25), expected)  # Python lists: the same hash
    # Labelled texts and pairs: held out by the text (the source side).
    _, validation = split_validation(from_lists(texts, ["a"] * len(texts)).dataset, 0.25)
    held = {text.decode() for text, _ in validation.as_numpy_iterator()}
    assert held == {t for t, e in zip(texts, expected) if e}
    # Corpora: held out line by line.
    _, held_lines = split_corpus(from_text("\n".join(texts) + "\n"), 0.25)
    with held_lines.reading():
        joined = "".join(c["text"].decode() for c in held_lines.documents().as_numpy_iterator())
    assert set(joined.split("\n")) - {""} == held


def test_poems_split_by_the_same_hash():
    poems = [Poem(f"白日依山尽，黄河入海流。{i}") for i in range(60)]
    source = poem_source(poems)
    train, held_out = source.split(0.3)
    mask = held_out_mask([p.text for p in poems], 0.3)
    assert [p.text for p in held_out] == [p.text for p, m in zip(poems, mask) if m]
    assert [p.text for p in train] == [p.text for p, m in zip(poems, mask) if not m]
    assert all(poem.held_out(0.3) == m for poem, m in zip(poems, mask))
    # A part splits again with a salted hash: a different, still deterministic, partition.
    inner_train, inner_held = train.split(0.5)
    salted = held_out_mask([p.text for p in train], 0.5, salt="+")
    assert [p.text for p in inner_held] == [p.text for p, m in zip(train, salted) if m]
    assert len(list(inner_train)) + len(list(inner_held)) == len(list(train))


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5])
def test_held_out_threshold_refuses_bad_fractions(fraction):
    with pytest.raises(DataError, match=r"must be in \(0, 1\)"):
        held_out_threshold(fraction)
    assert held_out_threshold(0.0, allow_zero=True) == 0


def test_tfds_names_and_offline_error():
    assert tfds_source.looks_like_name("ted_hrlr_translate/pt_to_en")
    assert not tfds_source.looks_like_name("Not A Name")
    assert not tfds_source.looks_like_name("spa.txt", suffixes=(".txt",))
    error = tfds_source.unavailable("imdb_reviews", "no internet connection", "a CSV file")
    assert isinstance(error, DataUnavailableError)
    assert "tfds_data_dir=" in str(error) and "--tfds-data-dir" in str(error) and "a CSV file" in str(error)


READERS = {
    "labelled": lambda **kw: labelled_texts("imdb_reviews", **kw),
    "labelled_tfds": lambda **kw: from_tfds("imdb_reviews", **kw),
    "corpus": lambda **kw: text_corpus("tiny_shakespeare", **kw),
    "parallel": lambda **kw: parallel_texts("ted_hrlr_translate/pt_to_en", **kw),
}


@pytest.fixture
def builder_calls(monkeypatch):
    """The `tfds_data_dir` of every TFDS builder request (each then fails as unavailable)."""
    calls = []

    def fake(name, tfds_data_dir, download, local_copy):
        calls.append(tfds_data_dir)
        raise tfds_source.unavailable(name, "test", local_copy)

    monkeypatch.setattr(tfds_source, "prepared_builder", fake)
    return calls


@pytest.mark.parametrize("family", sorted(READERS))
def test_every_family_takes_tfds_data_dir(family, builder_calls):
    with pytest.raises(DataUnavailableError):
        READERS[family](tfds_data_dir="/prepared")
    assert builder_calls == ["/prepared"]


@pytest.mark.parametrize("family", ["corpus", "labelled_tfds", "parallel"])  # where data_dir= was public
def test_data_dir_still_works_with_a_deprecation_warning(family, builder_calls):
    read = READERS[family]
    with pytest.warns(DeprecationWarning, match="use tfds_data_dir="):
        with pytest.raises(DataUnavailableError):
            read(data_dir="/old")
    assert builder_calls == ["/old"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(DataError, match="tfds_data_dir= only"):
            read(data_dir="/old", tfds_data_dir="/new")
