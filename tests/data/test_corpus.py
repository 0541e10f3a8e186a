"""Text corpora: chunking, every source kind, TFDS offline/mocked, dispatch rules, held-out split."""

import os
import re
import socket
import time

import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rnnapps.data import tfds as tfds_source
from rnnapps.data.corpus import (
    TextCorpus,
    chunk_text,
    from_dataset,
    from_files,
    from_text,
    from_tfds,
    split_corpus,
    text_corpus,
)
from rnnapps.errors import ConfigError, DataError, DataUnavailableError


def chunks_of(corpus):
    """All chunks as (text str, document int) pairs."""
    with corpus.reading():
        return [(c["text"].decode("utf-8"), int(c["document"])) for c in corpus.documents().as_numpy_iterator()]


def texts_by_document(corpus):
    joined = {}
    for text, document in chunks_of(corpus):
        joined[document] = joined.get(document, "") + text
    return [joined[d] for d in sorted(joined)]


def write(path, content, mode="w"):
    if mode == "wb":
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


# -- chunking ---------------------------------------------------------------------------
def test_chunks_end_after_whitespace_and_give_the_text_back():
    text = "alpha beta gamma\ndelta epsilon zeta eta\ttheta iota\n\nkappa"
    chunks = list(chunk_text([text[:7], text[7:30], text[30:]], chunk_chars=10, max_chunk_chars=100))
    assert "".join(chunks) == text
    assert all(chunk[-1].isspace() for chunk in chunks[:-1])
    assert text.split() == [word for chunk in chunks for word in chunk.split()]  # no word split
    assert "\n\n" in "".join(chunks)


def test_chunk_prefers_line_breaks_and_caps_runs_without_whitespace():
    chunks = list(chunk_text(["aaaa bbbb\ncc dd ee"], chunk_chars=12))
    assert chunks[0] == "aaaa bbbb\n"
    long_word = "x" * 25
    capped = list(chunk_text([long_word + " y"], chunk_chars=4, max_chunk_chars=10))
    assert capped[:2] == ["x" * 10, "x" * 10] and "".join(capped) == long_word + " y"
    grown = list(chunk_text(["abcdefgh ij"], chunk_chars=4, max_chunk_chars=100))
    assert grown == ["abcdefgh ", "ij"]  # no whitespace in the first 4: grows to the next one


def test_chunk_never_starts_with_a_combining_mark():
    text = "ab \u0301cd e\u0301 f"  # a space followed by a combining accent is one character
    chunks = list(chunk_text([text], chunk_chars=4, max_chunk_chars=50))
    assert "".join(chunks) == text
    assert not any(chunk[0] == "\u0301" for chunk in chunks)


def test_chunk_sizes_are_validated():
    with pytest.raises(ConfigError):
        list(chunk_text(["x"], chunk_chars=10, max_chunk_chars=5))


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("ab \n\t\u0301\u4e2d")), max_size=120),
    cuts=st.lists(st.integers(0, 120), max_size=4),
    size=st.integers(1, 12),
)
@example(text="a \u0301a", cuts=[], size=1)  # exactly max_chunk_chars, no safe cut inside: one chunk
def test_chunking_property_text_and_words_survive(text, cuts, size):
    bounds = sorted(set([0, len(text)] + [min(c, len(text)) for c in cuts]))
    pieces = [text[a:b] for a, b in zip(bounds, bounds[1:])]
    chunks = list(chunk_text(pieces, chunk_chars=size, max_chunk_chars=size * 4))
    assert "".join(chunks) == text
    assert all(chunks)
    # Only a run without a safe cut longer than the hard cap may be cut inside (whitespace
    # followed by a combining mark is no safe cut: the mark belongs to that space).
    if all(len(run) < size * 4 for run in re.split("[ \n\t](?!\u0301)", text)):
        assert [w for c in chunks for w in c.split()] == text.split()
        assert not any(chunk[0] == "\u0301" for chunk in chunks[1:])


# -- in-memory texts --------------------------------------------------------------------
def test_from_text_single_string_and_list():
    corpus = from_text("to be\nor not")
    assert chunks_of(corpus) == [("to be\nor not", 0)]
    assert corpus.description == "an in-memory text (12 characters)"
    many = from_text(["first doc", "", b"third \xff"])
    assert chunks_of(many) == [("first doc", 0), ("", 1), ("third \ufffd", 2)]
    assert TextCorpus.from_text("x").description.startswith("an in-memory text")


def test_from_text_cuts_a_long_string_into_chunks():
    text = "word " * 400 + "\nend\n"
    chunks = chunks_of(from_text(text, chunk_chars=64))
    assert len(chunks) > 10 and "".join(c for c, _ in chunks) == text
    assert {d for _, d in chunks} == {0}


def test_from_text_rejects_bad_input():
    with pytest.raises(DataError, match="empty"):
        from_text([])
    with pytest.raises(DataError, match="text 1 must be str"):
        from_text(["ok", 3])


# -- files ------------------------------------------------------------------------------
def test_from_files_single_glob_and_list_order(tmp_path):
    write(tmp_path / "b.txt", "second file\n")
    write(tmp_path / "a.txt", "first\nfile\n")
    write(tmp_path / "c.md", "not matched")
    assert texts_by_document(from_files(tmp_path / "a.txt")) == ["first\nfile\n"]
    assert texts_by_document(from_files(str(tmp_path / "*.txt"))) == ["first\nfile\n", "second file\n"]
    listed = from_files([tmp_path / "b.txt", str(tmp_path / "a.txt")])
    assert texts_by_document(listed) == ["second file\n", "first\nfile\n"]
    assert listed.description.startswith("2 files")


def test_from_files_small_chunks_keep_words_and_newlines(tmp_path):
    text = "".join(f"line {i} has several words in it\n" for i in range(50))
    path = write(tmp_path / "corpus.txt", text)
    chunks = chunks_of(from_files(path, chunk_chars=16, max_chunk_chars=64))
    assert len(chunks) > 50
    assert "".join(c for c, _ in chunks) == text
    assert all(c[-1].isspace() for c, _ in chunks[:-1])
    assert [w for c, _ in chunks for w in c.split()] == text.split()


def test_from_files_invalid_utf8_and_line_endings(tmp_path):
    path = write(tmp_path / "bad.txt", b"caf\xc3\xa9 \xff\xfe ok\r\nnext\rend", mode="wb")
    assert texts_by_document(from_files(path, chunk_chars=3, max_chunk_chars=8)) == ["caf\u00e9 \ufffd\ufffd ok\nnext\nend"]
    empty = write(tmp_path / "empty.txt", "")
    assert chunks_of(from_files(empty)) == [("", 0)]


@pytest.mark.parametrize(
    "name, message",
    [("missing.txt", "no such file: .*missing.txt"), ("*.nothing", "no files match"), ("sub", "is a folder")],
)
def test_from_files_missing(tmp_path, name, message):
    (tmp_path / "sub").mkdir()
    with pytest.raises(DataError, match=message):
        from_files(str(tmp_path / name))


def test_from_files_unknown_encoding_and_file_vanishing(tmp_path):
    path = write(tmp_path / "a.txt", "hello")
    with pytest.raises(ConfigError, match="encoding"):
        from_files(path, encoding="no-such-codec")
    corpus = from_files(path)
    os.remove(path)
    with pytest.raises(DataError, match="could not read .*a.txt"):
        chunks_of(corpus)


# -- tf.data ----------------------------------------------------------------------------
def test_from_dataset_scalars_batches_and_dicts():
    plain = tf.data.Dataset.from_tensor_slices(["a b", "c"])
    assert chunks_of(from_dataset(plain)) == [("a b", 0), ("c", 1)]
    assert chunks_of(from_dataset(plain.batch(2))) == [("a b", 0), ("c", 1)]
    dicts = tf.data.Dataset.from_tensor_slices({"text": ["x y"], "id": [3]})
    assert chunks_of(TextCorpus.from_dataset(dicts)) == [("x y", 0)]


def test_from_dataset_cuts_long_elements_at_line_breaks():
    text = "".join(f"line number {i}\n" for i in range(300))
    chunks = chunks_of(from_dataset(tf.data.Dataset.from_tensors(text), chunk_chars=200))
    assert len(chunks) > 10 and "".join(c for c, _ in chunks) == text
    assert all(c.endswith("\n") for c, _ in chunks)


@pytest.mark.parametrize(
    "dataset, message",
    [
        (tf.data.Dataset.from_tensor_slices([1, 2]), "must be strings"),
        (tf.data.Dataset.from_tensor_slices({"review": ["a"]}), "'text' key"),
        (tf.data.Dataset.from_tensor_slices([["a"]]).batch(1), "scalars or a batch"),
    ],
)
def test_from_dataset_errors(dataset, message):
    with pytest.raises(DataError, match=message):
        from_dataset(dataset)


# -- TFDS -------------------------------------------------------------------------------
def test_tfds_without_internet_fails_at_once_with_remedies(no_network, tmp_path, monkeypatch):
    monkeypatch.setattr(tfds_source, "internet_reachable", lambda *args, **kwargs: False)
    started = time.monotonic()
    with pytest.raises(DataUnavailableError, match="no internet connection") as caught:
        from_tfds("tiny_shakespeare", tfds_data_dir=str(tmp_path))
    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert "internet" in message and "data_dir" in message and "text file" in message
    assert "folder-per-class" not in message  # the classifier's remedy does not fit here
    with pytest.raises(DataUnavailableError, match="download=False"):
        text_corpus("tiny_shakespeare", tfds_data_dir=str(tmp_path), download=False)


def test_tfds_mocked_tiny_shakespeare(no_network, tmp_path, monkeypatch):
    # mock_data replaces download_and_prepare/as_dataset with generated examples.
    monkeypatch.setattr(tfds_source, "internet_reachable", lambda *args, **kwargs: True)
    with tfds.testing.mock_data(num_examples=3, policy=tfds.testing.MockPolicy.USE_CODE):
        corpus = text_corpus("tiny_shakespeare", split="train", tfds_data_dir=str(tmp_path))
        chunks = chunks_of(corpus)
    assert corpus.description == "TFDS tiny_shakespeare [train]"
    assert [d for _, d in chunks] == [0, 1, 2] and all(isinstance(c, str) and c for c, _ in chunks)


class FakeBuilder:
    """The part of a TFDS builder `from_tfds` uses."""

    def __init__(self, features, rows):
        self.info = type("Info", (), {})()
        self.info.features = tfds.features.FeaturesDict(features)
        self.info.splits = {"train": None}
        self.rows = rows

    def as_dataset(self, split):
        if split != "train":
            raise ValueError(f"unknown split {split}")
        return tf.data.Dataset.from_tensor_slices(self.rows)


def test_tfds_string_feature_choice(monkeypatch):
    builder = FakeBuilder(
        {"title": tfds.features.Text(), "body": tfds.features.Text(), "n": tfds.features.Tensor(shape=(), dtype=tf.int64)},
        {"title": ["t1", "t2"], "body": ["b1 b1", "b2"], "n": [1, 2]},
    )
    monkeypatch.setattr(tfds_source, "prepared_builder", lambda name, tfds_data_dir, download, local_copy: builder)
    assert texts_by_document(from_tfds("some_text")) == ["t1", "t2"]
    assert texts_by_document(text_corpus("tfds:some_text", text_key="body")) == ["b1 b1", "b2"]
    with pytest.raises(DataError, match="'n' is not a string feature"):
        from_tfds("some_text", text_key="n")
    with pytest.raises(DataError, match="split 'test'"):
        from_tfds("some_text", split="test")
    numbers = FakeBuilder({"n": tfds.features.Tensor(shape=(), dtype=tf.int64)}, {"n": [1]})
    monkeypatch.setattr(tfds_source, "prepared_builder", lambda name, tfds_data_dir, download, local_copy: numbers)
    with pytest.raises(DataError, match="no string feature"):
        from_tfds("numbers_only")


# -- dispatch ---------------------------------------------------------------------------
@pytest.fixture
def tfds_calls(monkeypatch):
    """Records TFDS requests instead of touching TFDS."""
    calls = []

    def fake_builder(name, tfds_data_dir, download, local_copy):
        calls.append((name, tfds_data_dir, download))
        builder = FakeBuilder({"text": tfds.features.Text()}, {"text": ["from tfds"]})
        builder.as_dataset = lambda split: tf.data.Dataset.from_tensor_slices(builder.rows)
        return builder

    monkeypatch.setattr(tfds_source, "prepared_builder", fake_builder)
    return calls


def test_dispatch_files_globs_and_pathlike(tmp_path, monkeypatch, tfds_calls):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "a.txt", "file a\n")
    write(tmp_path / "b.txt", "file b\n")
    write(tmp_path / "tiny_shakespeare", "a local file wins over TFDS\n")
    assert texts_by_document(text_corpus("a.txt")) == ["file a\n"]
    assert texts_by_document(text_corpus(tmp_path / "b.txt")) == ["file b\n"]
    assert texts_by_document(text_corpus("*.txt")) == ["file a\n", "file b\n"]
    assert texts_by_document(text_corpus(["b.txt", tmp_path / "a.txt"])) == ["file b\n", "file a\n"]
    assert texts_by_document(text_corpus("tiny_shakespeare")) == ["a local file wins over TFDS\n"]
    assert tfds_calls == []


def test_dispatch_tfds_names(tmp_path, monkeypatch, tfds_calls):
    monkeypatch.chdir(tmp_path)
    corpus = text_corpus("tiny_shakespeare", split="validation", tfds_data_dir="/tfds", download=False)
    assert corpus.description == "TFDS tiny_shakespeare [validation]"
    text_corpus("tfds:my_dataset")
    text_corpus("lm1b")  # registered with TFDS though it has no "_"
    assert [name for name, _, _ in tfds_calls] == ["tiny_shakespeare", "my_dataset", "lm1b"]
    assert tfds_calls[0] == ("tiny_shakespeare", "/tfds", False)


@pytest.mark.parametrize("missing", ["missing.txt", "notes/draft.md", "nope/x", "./data", "books/*.txt"])
def test_dispatch_missing_paths(missing, tmp_path, monkeypatch, tfds_calls):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match="no such file|no files match"):
        text_corpus(missing)
    with pytest.raises(DataError, match="no such file|no files match"):
        text_corpus(["here.txt", missing])
    assert tfds_calls == []


def test_text_without_safe_cut_points_is_cut_at_the_maximum_length_in_linear_time(tmp_path):
    import time

    marks = "a" + "\u0301" * 8000  # combining marks only: nowhere to cut without splitting
    chunks = list(chunk_text([marks], chunk_chars=1000, max_chunk_chars=1000))
    assert "".join(chunks) == marks and len(chunks) == 9  # not thousands of one-character chunks
    path = tmp_path / "marks.txt"
    path.write_text("\u0301" * (1024 * 1024), encoding="utf-8")  # 2 MB of U+0301
    start = time.perf_counter()
    texts = texts_by_document(from_files(str(path)))
    assert time.perf_counter() - start < 20
    assert texts == ["\u0301" * (1024 * 1024)]
    joiners = " \u200d" * 200_000  # whitespace always followed by a joiner
    start = time.perf_counter()
    assert "".join(chunk_text([joiners], chunk_chars=1000, max_chunk_chars=5000)) == joiners
    assert time.perf_counter() - start < 20


@pytest.mark.parametrize("pattern", ["/**", "/**/*.txt", "~/**"])
def test_a_recursive_glob_over_the_whole_disk_is_refused(pattern, tfds_calls):
    with pytest.raises(DataError, match="whole disk or home folder"):
        text_corpus(pattern)


def test_a_glob_with_too_many_matches_is_refused(tmp_path):
    from rnnapps.data.files import glob_files

    for index in range(5):
        (tmp_path / f"{index}.txt").write_text("x")
    assert len(glob_files(str(tmp_path / "*.txt"), limit=5)) == 5
    with pytest.raises(DataError, match="more than 4 paths"):
        glob_files(str(tmp_path / "*.txt"), limit=4)


def test_dispatch_text_datasets_and_passthrough(tmp_path, monkeypatch, tfds_calls):
    monkeypatch.chdir(tmp_path)
    for text in ["a", "hello", "to be or not to be", "line one\nline two/three.txt", ""]:
        assert chunks_of(text_corpus(text)) == [(text, 0)]
    assert texts_by_document(text_corpus(["doc one", "doc two"])) == ["doc one", "doc two"]
    dataset = text_corpus(tf.data.Dataset.from_tensor_slices(["x"]))
    assert dataset.description == "the given tf.data.Dataset"
    assert text_corpus(dataset) is dataset
    assert tfds_calls == []


@pytest.mark.parametrize(
    "source, error, message",
    [
        (None, DataError, "no corpus"),
        ([], DataError, "empty"),
        (["text", 3], DataError, "either texts or file paths"),
        (42, DataError, "cannot read a corpus from int"),
    ],
)
def test_dispatch_errors(source, error, message):
    with pytest.raises(error, match=message):
        text_corpus(source)


def test_dispatch_rejects_unknown_options():
    with pytest.raises(TypeError):
        text_corpus("some text", colour="red")


# -- held-out split -----------------------------------------------------------------------
def test_split_corpus_partitions_lines_by_hash():
    lines = [f"line {i} of the text" for i in range(400)]
    corpus = from_text(["\n".join(lines[:200]) + "\n", "\n".join(lines[200:]) + "\n"], chunk_chars=500)
    train, validation = split_corpus(corpus, 0.2)
    train_lines = [line for text in texts_by_document(train) for line in text.splitlines()]
    held_lines = [line for text in texts_by_document(validation) for line in text.splitlines()]
    assert sorted(train_lines + held_lines) == sorted(lines)
    assert 40 <= len(held_lines) <= 120
    assert [d for _, d in chunks_of(validation)][-1] == 1  # documents kept
    again = split_corpus(corpus, 0.2)[1]
    assert texts_by_document(again) == texts_by_document(validation)
    assert "held-out 20%" in validation.description
    with pytest.raises(DataError, match=r"\(0, 1\)"):
        split_corpus(corpus, 1.0)
