"""Sources of labelled texts: lists, CSV/TSV, class folders, TFDS (offline, mocked) and tf.data."""

import csv
import socket

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from rnnapps.data import tfds as tfds_source
from rnnapps.data.sources import (
    LabelledTexts,
    from_csv,
    from_dataset,
    from_folder,
    from_lists,
    from_tfds,
    labelled_texts,
)
from rnnapps.errors import DataError, DataUnavailableError


def examples(data):
    """All (text, label) pairs as Python values (labels as str or list of str)."""
    result = []
    with data.reading():
        for text, label in data.dataset.as_numpy_iterator():
            if isinstance(label, np.ndarray):
                label = [item.decode("utf-8") for item in label]
            else:
                label = label.decode("utf-8")
            result.append((text.decode("utf-8"), label))
    return result


@pytest.fixture
def no_network(monkeypatch):
    """Any Python-level connection attempt fails (TFDS tests must stay offline)."""

    def refuse(*args, **kwargs):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


# -- lists --------------------------------------------------------------------------
def test_from_lists_with_string_labels():
    data = from_lists(["good film", "bad film"], ["pos", "neg"])
    assert examples(data) == [("good film", "pos"), ("bad film", "neg")]
    assert data.multi_label is False and data.label_names is None


def test_from_lists_with_int_labels_and_names():
    data = from_lists(["a", "b", "c"], np.array([1, 0, 1]), label_names=["neg", "pos"])
    assert [label for _, label in examples(data)] == ["pos", "neg", "pos"]
    assert data.label_names == ["neg", "pos"]
    assert [label for _, label in examples(from_lists(["a", "b"], [3, True]))] == ["3", "1"]


def test_from_lists_multi_label():
    data = from_lists(["a", "b", "c"], [["x", "y"], [], ("z",)])
    assert data.multi_label is True
    assert examples(data) == [("a", ["x", "y"]), ("b", []), ("c", ["z"])]
    hot = from_lists(["a", "b"], np.array([[1, 0, 1], [0, 1, 0]]), label_names=["p", "q", "r"])
    assert [label for _, label in examples(hot)] == [["p", "r"], ["q"]]


def test_from_lists_multi_hot_matrix():
    matrix = np.array([[1, 0, 1], [0, 1, 0]])
    data = from_lists(["a", "b"], matrix, label_names=["acting", "plot", "music"])
    assert data.multi_label
    assert examples(data) == [("a", ["acting", "music"]), ("b", ["plot"])]
    unnamed = from_lists(["a", "b"], matrix)
    assert examples(unnamed) == [("a", ["0", "2"]), ("b", ["1"])]
    with pytest.raises(DataError, match="3 columns but 2 label_names"):
        from_lists(["a", "b"], matrix, label_names=["x", "y"])


def test_from_lists_keeps_unicode_and_bytes():
    data = from_lists(["春眠 \U0001F44D", b"caf\xc3\xa9"], ["a", "b"])
    assert [text for text, _ in examples(data)] == ["春眠 \U0001F44D", "café"]


@pytest.mark.parametrize(
    "texts, labels, message",
    [
        (["a", "b"], ["x"], "mismatched lengths"),
        ([], [], "empty"),
        (["a", 3], ["x", "y"], "must be str"),
        (["a", None], ["x", "y"], "must be str"),
        ("a single string", ["x"], "single string"),
        (["a"], None, "required"),
        (["a", "b"], ["x", ["y"]], "mix"),
        (["a"], [" "], "empty label"),
        (["a"], [5], None),
        (["a"], [[]], "no example has any label"),
        (["a"], [1.5], "must be a string"),
    ],
)
def test_from_lists_errors(texts, labels, message):
    label_names = ["neg", "pos"] if labels == [5] else None
    with pytest.raises(DataError, match=message):
        from_lists(texts, labels, label_names=label_names)


# -- CSV / TSV ----------------------------------------------------------------------
def write(path, content, encoding="utf-8"):
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding=encoding, newline="")
    return path


def test_csv_by_column_name(tmp_path):
    path = write(tmp_path / "reviews.csv", "id,review,sentiment\n1,great film,pos\n2,awful,neg\n")
    data = from_csv(path, text_column="review", label_column="sentiment")
    assert examples(data) == [("great film", "pos"), ("awful", "neg")]
    assert data.description == str(path)


def test_csv_by_column_index(tmp_path):
    path = write(tmp_path / "reviews.csv", "label,text\npos,great\nneg,awful\n")
    assert examples(from_csv(path, text_column=1, label_column=0)) == [("great", "pos"), ("awful", "neg")]
    assert examples(from_csv(path, text_column=-1, label_column=-2)) == [("great", "pos"), ("awful", "neg")]


def test_tsv_delimiter_chosen_by_suffix(tmp_path):
    path = write(tmp_path / "reviews.tsv", "text\tlabel\ngreat, really great\tpos\nbad; awful\tneg\n")
    assert examples(from_csv(path)) == [("great, really great", "pos"), ("bad; awful", "neg")]
    tab = write(tmp_path / "reviews.tab", "text\tlabel\nok\tpos\n")
    assert examples(from_csv(tab)) == [("ok", "pos")]
    explicit = write(tmp_path / "reviews.txt", "text|label\nok|pos\n")
    assert examples(from_csv(explicit, delimiter="|")) == [("ok", "pos")]


def test_csv_quoted_fields_with_commas_quotes_and_newlines(tmp_path):
    path = tmp_path / "quoted.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerow(['great, "really"\ngreat\r\nfilm', "pos"])
        writer.writerow(["plain", "neg"])
    assert examples(from_csv(path)) == [('great, "really"\ngreat\r\nfilm', "pos"), ("plain", "neg")]


def test_csv_field_beyond_default_size_limit(tmp_path):
    big = "x" * 200_000
    path = write(tmp_path / "big.csv", f'text,label\n"{big}",pos\nsmall,neg\n')
    previous = csv.field_size_limit(131072)  # the csv module's default
    try:
        rows = examples(from_csv(path))
    finally:
        csv.field_size_limit(previous)
    assert len(rows[0][0]) == 200_000 and rows[1] == ("small", "neg")


def test_csv_invalid_utf8_and_bom(tmp_path):
    path = write(tmp_path / "bad.csv", b"\xef\xbb\xbftext,label\ncaf\xe9 \xff ok,pos\n")
    assert examples(from_csv(path)) == [("caf\ufffd \ufffd ok", "pos")]


def test_csv_multi_label(tmp_path):
    path = write(tmp_path / "tags.csv", "text,label\na,x|y\nb, z |\nc,x\n")
    data = from_csv(path, label_separator="|")
    assert data.multi_label is True
    assert examples(data) == [("a", ["x", "y"]), ("b", ["z"]), ("c", ["x"])]


def test_csv_integer_labels_with_names(tmp_path):
    path = write(tmp_path / "ints.csv", "text,label\na,1\nb,0\n")
    data = from_csv(path, label_names=["neg", "pos"])
    assert examples(data) == [("a", "pos"), ("b", "neg")]
    assert data.label_names == ["neg", "pos"]


def test_csv_skips_blank_lines(tmp_path):
    path = write(tmp_path / "blank.csv", "text,label\na,x\n\nb,y\n")
    assert examples(from_csv(path)) == [("a", "x"), ("b", "y")]


def test_csv_missing_label_column_names_the_columns(tmp_path):
    path = write(tmp_path / "reviews.csv", "review,sentiment\ngreat,pos\n")
    with pytest.raises(DataError, match=r"label column 'label' not found.*\['review', 'sentiment'\]"):
        from_csv(path, text_column="review")
    with pytest.raises(DataError, match="out of range"):
        from_csv(path, text_column=0, label_column=5)


@pytest.mark.parametrize(
    "bad_row, message", [("only text", "row has 1 fields"), ("some text,", "the label field is empty")]
)
def test_csv_bad_row_reports_its_line(tmp_path, bad_row, message):
    path = write(tmp_path / "broken.csv", f"text,label\ngood,pos\nfine,neg\n{bad_row}\nlater,pos\n")
    data = from_csv(path)
    with pytest.raises(DataError, match=rf"broken\.csv:4: {message}"):
        examples(data)


def test_csv_missing_or_empty_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        from_csv(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="empty"):
        from_csv(write(tmp_path / "empty.csv", ""))


# -- class folders ------------------------------------------------------------------
@pytest.fixture
def imdb_tree(tmp_path):
    root = tmp_path / "aclImdb" / "train"
    files = {
        "pos/0_9.txt": "A wonderful film.",
        "pos/1_8.txt": "Loved it <br /> really",
        "neg/0_2.txt": "Dreadful.",
        "unsup/0_0.txt": "no label",
        "neg/notes.md": "not a review",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_folder_reads_classes_in_sorted_order_and_skips_unsup(imdb_tree):
    data = from_folder(imdb_tree)
    assert data.label_names == ["neg", "pos"]
    assert sorted(examples(data)) == [
        ("A wonderful film.", "pos"), ("Dreadful.", "neg"), ("Loved it <br /> really", "pos")
    ]


def test_folder_with_explicit_classes_and_no_ignore(imdb_tree):
    assert from_folder(imdb_tree, classes=["pos", "neg"]).label_names == ["pos", "neg"]
    assert from_folder(imdb_tree, ignore=()).label_names == ["neg", "pos", "unsup"]
    every_file = from_folder(imdb_tree, classes=["neg"], extensions=None)
    assert sorted(text for text, _ in examples(every_file)) == ["Dreadful.", "not a review"]


def test_folder_errors(imdb_tree, tmp_path):
    (imdb_tree / "neutral").mkdir()
    with pytest.raises(DataError, match="neutral contains no"):
        from_folder(imdb_tree)
    with pytest.raises(DataError, match="folder not found"):
        from_folder(tmp_path / "missing")
    with pytest.raises(DataError, match="class folder not found"):
        from_folder(imdb_tree, classes=["pos", "mixed"])
    (tmp_path / "flat").mkdir()
    with pytest.raises(DataError, match="no class subfolders"):
        from_folder(tmp_path / "flat")


# -- TFDS ---------------------------------------------------------------------------
def test_tfds_unknown_name(no_network, tmp_path):
    with pytest.raises(DataError, match="unknown TFDS dataset") as caught:
        from_tfds("no_such_dataset_xyz", tfds_data_dir=str(tmp_path), download=False)
    assert not isinstance(caught.value, DataUnavailableError)


def test_tfds_not_prepared_without_download(no_network, tmp_path):
    with pytest.raises(DataUnavailableError) as caught:
        from_tfds("imdb_reviews", tfds_data_dir=str(tmp_path), download=False)
    message = str(caught.value)
    assert "internet" in message and "data_dir" in message and "download=False" in message


def test_tfds_download_offline(no_network, tmp_path, monkeypatch):
    monkeypatch.setattr(tfds_source, "internet_reachable", lambda *args, **kwargs: False)
    with pytest.raises(DataUnavailableError, match="no internet connection") as caught:
        from_tfds("imdb_reviews", tfds_data_dir=str(tmp_path), download=True)
    assert "data_dir" in str(caught.value)


def test_tfds_mocked_imdb_reviews(no_network, tmp_path, monkeypatch):
    # mock_data replaces download_and_prepare/as_dataset with generated examples.
    monkeypatch.setattr(tfds_source, "internet_reachable", lambda *args, **kwargs: True)
    with tfds.testing.mock_data(num_examples=6, policy=tfds.testing.MockPolicy.USE_CODE):
        data = from_tfds("imdb_reviews", split="train", tfds_data_dir=str(tmp_path))
        rows = examples(data)
    assert data.label_names == ["neg", "pos"]
    assert data.description == "TFDS imdb_reviews [train]"
    assert len(rows) == 6
    assert all(isinstance(text, str) and label in ("neg", "pos") for text, label in rows)


class FakeBuilder:
    """The part of a TFDS builder `from_tfds` uses, with known examples."""

    def __init__(self, texts, labels, names=("neg", "pos")):
        self.texts, self.labels = texts, labels
        self.info = type("Info", (), {})()
        self.info.features = tfds.features.FeaturesDict(
            {"label": tfds.features.ClassLabel(names=list(names)), "text": tfds.features.Text()}
        )
        self.info.splits = {"train": None, "test": None}
        self.requested = []

    def as_dataset(self, split):
        self.requested.append(split)
        if split.split("[")[0] not in self.info.splits:
            raise ValueError(f"unknown split {split}")
        return tf.data.Dataset.from_tensor_slices({"text": self.texts, "label": tf.constant(self.labels, tf.int64)})


def test_tfds_fake_builder_passes_texts_and_label_names(monkeypatch):
    builder = FakeBuilder(["great film", "awful film"], [1, 0])
    monkeypatch.setattr(tfds_source, "prepared_builder", lambda name, tfds_data_dir, download, local_copy: builder)
    data = from_tfds("imdb_reviews", split="train")
    assert data.label_names == ["neg", "pos"]
    assert examples(data) == [("great film", "pos"), ("awful film", "neg")]
    assert builder.requested == ["train"]
    with pytest.raises(DataError, match="split 'validation'"):
        from_tfds("imdb_reviews", split="validation")


def test_tfds_without_text_feature(monkeypatch):
    builder = FakeBuilder(["x"], [0])
    builder.info.features = tfds.features.FeaturesDict({"label": tfds.features.ClassLabel(names=["a", "b"])})
    monkeypatch.setattr(tfds_source, "prepared_builder", lambda name, tfds_data_dir, download, local_copy: builder)
    with pytest.raises(DataError, match="text and a class-label feature"):
        from_tfds("some_images")


# -- tf.data ------------------------------------------------------------------------
def test_from_dataset_tuples_with_int_labels():
    dataset = tf.data.Dataset.from_tensor_slices((["good", "bad"], [1, 0]))
    assert examples(from_dataset(dataset, label_names=["neg", "pos"])) == [("good", "pos"), ("bad", "neg")]
    assert examples(from_dataset(dataset)) == [("good", "1"), ("bad", "0")]


def test_from_dataset_dict_elements_and_string_labels():
    dataset = tf.data.Dataset.from_tensor_slices({"text": ["a", "b"], "label": ["x", "y"], "id": [1, 2]})
    assert examples(from_dataset(dataset)) == [("a", "x"), ("b", "y")]


def test_from_dataset_unbatches_batched_input():
    dataset = tf.data.Dataset.from_tensor_slices((["a", "b", "c"], [0, 1, 1])).batch(2)
    data = from_dataset(dataset, label_names=["n", "p"])
    assert examples(data) == [("a", "n"), ("b", "p"), ("c", "p")]
    assert data.dataset.element_spec[0].shape.rank == 0


def test_from_dataset_multi_label():
    dataset = tf.data.Dataset.from_tensor_slices((["a", "b"], [["x", "y"], ["y", "z"]]))
    data = from_dataset(dataset)
    assert data.multi_label is True
    assert examples(data) == [("a", ["x", "y"]), ("b", ["y", "z"])]
    batched = from_dataset(dataset.batch(2))  # batch of label lists: unbatched, still multi-label
    assert batched.multi_label is True and examples(batched) == examples(data)
    single = from_dataset(tf.data.Dataset.from_tensor_slices((["a", "b"], ["x", "y"])).batch(2))
    assert single.multi_label is False  # a batch of single labels


@pytest.mark.parametrize(
    "dataset, message",
    [
        (tf.data.Dataset.from_tensor_slices(([1, 2], [0, 1])), "texts must be strings"),
        (tf.data.Dataset.from_tensor_slices((["a", "b"], [0.5, 1.0])), "labels must be strings or integers"),
        (tf.data.Dataset.from_tensor_slices({"review": ["a"], "label": [0]}), "'text' and 'label'"),
        (tf.data.Dataset.from_tensor_slices(["a", "b"]), r"\(text, label\) pairs"),
        (tf.data.Dataset.from_tensor_slices((["a"], [0])).batch(1).batch(1), "scalars or a batch"),
    ],
)
def test_from_dataset_errors(dataset, message):
    with pytest.raises(DataError, match=message):
        from_dataset(dataset)


# -- dispatch -----------------------------------------------------------------------
def test_labelled_texts_dispatch(imdb_tree, tmp_path, monkeypatch):
    folder = labelled_texts(str(imdb_tree))
    assert folder.label_names == ["neg", "pos"] and "files" in folder.description
    assert labelled_texts(imdb_tree, label_names=["pos"]).label_names == ["pos"]
    path = write(tmp_path / "data.csv", "text,label\nhi,x\n")
    assert examples(labelled_texts(str(path))) == [("hi", "x")]
    lists = labelled_texts(["a"], ["b"])
    assert examples(lists) == [("a", "b")] and labelled_texts(lists) is lists
    dataset = tf.data.Dataset.from_tensor_slices((["a"], [1]))
    assert examples(labelled_texts(dataset, label_names=["n", "p"])) == [("a", "p")]


def test_labelled_texts_tfds_name(monkeypatch):
    calls = []

    def fake_builder(name, tfds_data_dir, download, local_copy):
        calls.append((name, tfds_data_dir, download))
        return FakeBuilder(["nice"], [1])

    monkeypatch.setattr(tfds_source, "prepared_builder", fake_builder)
    data = labelled_texts("imdb_reviews", split="test[:10%]", tfds_data_dir="/tfds", download=False)
    assert calls == [("imdb_reviews", "/tfds", False)]
    assert isinstance(data, LabelledTexts) and data.description == "TFDS imdb_reviews [test[:10%]]"


@pytest.mark.parametrize("missing", ["nope/x.csv", "missing_file.txt", "Not A Name"])
def test_labelled_texts_missing_path(missing, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tfds_source, "prepared_builder", lambda *args: pytest.fail("must not reach TFDS"))
    with pytest.raises(DataError, match="no such file or folder"):
        labelled_texts(missing)


def test_labelled_texts_without_data():
    with pytest.raises(DataError, match="no data"):
        labelled_texts(None)


# -- reading errors -----------------------------------------------------------------
def test_reading_turns_tf_errors_into_data_errors(tmp_path):
    data = from_folder_with_vanishing_file(tmp_path)
    with pytest.raises(DataError, match="could not read"):
        examples(data)


def from_folder_with_vanishing_file(tmp_path):
    (tmp_path / "pos").mkdir()
    (tmp_path / "pos" / "a.txt").write_text("ok", encoding="utf-8")
    data = from_folder(tmp_path)
    (tmp_path / "pos" / "a.txt").unlink()
    return data
