"""Sources of raw labelled texts: Python lists, CSV/TSV files, class folders, TFDS, tf.data.

Every source returns a `LabelledTexts`: a `tf.data.Dataset` of `(text, label)` string
pairs (a 1-D string tensor of labels for multi-label data) plus what the source knows
about its label names. Files are streamed, never read whole into memory; problems are
reported as `DataError` with the file and line, before training starts.
"""

import csv
import dataclasses
import os
import sys

import numpy as np
import tensorflow as tf

from rnnapps.data import tfds
from rnnapps.data.source import Source, trap
from rnnapps.errors import DataError

CSV_SUFFIXES = (".csv", ".tsv", ".tab")


@dataclasses.dataclass
class LabelledTexts(Source):
    """A stream of `(text, label)` examples and what is known about its labels.

    Attributes:
        dataset: `tf.data.Dataset` of `(text: string[], label: string[] or string[None])`.
        multi_label: whether each example carries a list of labels.
        label_names: the source's own label order (folder names, TFDS class names), or None.
        description: how to name this data in messages.
    """

    dataset: tf.data.Dataset
    multi_label: bool = False
    label_names: list = None
    description: str = "data"
    trapped_errors: list = dataclasses.field(default_factory=list)


# -- Python lists -------------------------------------------------------------------
def _is_label_list(label):
    return isinstance(label, (list, tuple, set, frozenset)) or (
        isinstance(label, np.ndarray) and label.ndim == 1
    )


def _label_name(label, label_names, index):
    if isinstance(label, (bool, np.bool_)):
        label = int(label)
    if isinstance(label, (int, np.integer)):
        if label_names is not None:
            if not 0 <= int(label) < len(label_names):
                raise DataError(f"label {label} of example {index} is out of range for label_names {label_names}")
            return str(label_names[int(label)])
        return str(int(label))
    if isinstance(label, (str, np.str_)):
        if not str(label).strip():
            raise DataError(f"example {index} has an empty label")
        return str(label)
    if isinstance(label, bytes):
        return label.decode("utf-8", errors="replace")
    raise DataError(f"label of example {index} must be a string, an integer or a list of them, got {type(label).__name__}")


def _text_bytes(text, index):
    if isinstance(text, bytes):
        return text
    if isinstance(text, (str, np.str_)):
        # Lone surrogates cannot be encoded: they become "?" instead of failing.
        return str(text).encode("utf-8", errors="replace")
    raise DataError(f"text of example {index} must be str or bytes, got {type(text).__name__}")


def from_lists(texts, labels, label_names=None):
    """Examples from parallel sequences of texts and labels.

    Labels may be strings, integers (named by `label_names` when given) or, for
    multi-label data, lists of those.

    Example:
        >>> data = from_lists(["good", "bad"], ["positive", "negative"])
        >>> data.multi_label
        False
    """
    if isinstance(texts, (str, bytes)):
        raise DataError("texts must be a list of strings, not a single string")
    texts = list(texts)
    if labels is None:
        raise DataError("labels are required with a list of texts")
    multi_hot = isinstance(labels, np.ndarray) and labels.ndim == 2
    if multi_hot:
        # A [N, C] 0/1 matrix: column j is label_names[j] (or "j" without names).
        columns = label_names if label_names is not None else [str(j) for j in range(labels.shape[1])]
        if len(columns) != labels.shape[1]:
            raise DataError(f"multi-hot labels have {labels.shape[1]} columns but {len(columns)} label_names")
        labels = [[str(columns[j]) for j in np.flatnonzero(row)] for row in labels]
    labels = list(labels)
    if len(texts) != len(labels):
        raise DataError(f"mismatched lengths: {len(texts)} texts but {len(labels)} labels")
    if not texts:
        raise DataError("the dataset is empty: no texts were given")
    encoded = [_text_bytes(text, i) for i, text in enumerate(texts)]
    kinds = {_is_label_list(label) for label in labels}
    if len(kinds) > 1:
        raise DataError("labels mix single labels and lists of labels")
    multi_label = kinds.pop()
    if multi_label:
        if multi_hot:
            names = labels
        else:
            names = [[_label_name(item, label_names, i) for item in label] for i, label in enumerate(labels)]
        label_tensor = tf.ragged.constant(names, dtype=tf.string, ragged_rank=1) if any(names) else None
        if label_tensor is None:
            raise DataError("multi-label data in which no example has any label")
        dataset = tf.data.Dataset.from_tensor_slices((tf.constant(encoded, tf.string), label_tensor))
    else:
        names = [_label_name(label, label_names, i) for i, label in enumerate(labels)]
        dataset = tf.data.Dataset.from_tensor_slices((tf.constant(encoded, tf.string), tf.constant(names)))
    return LabelledTexts(
        dataset,
        multi_label=multi_label,
        label_names=[str(n) for n in label_names] if label_names is not None else None,
        description=f"{len(texts)} in-memory examples",
    )


# -- CSV / TSV ----------------------------------------------------------------------
def _column_index(header, column, path, role):
    if isinstance(column, int):
        if not -len(header) <= column < len(header):
            raise DataError(f"{role} column index {column} is out of range: {path} has {len(header)} columns")
        return column % len(header)
    if column not in header:
        raise DataError(f"{role} column {column!r} not found in {path}; its columns are {header}")
    return header.index(column)


def _open_csv(path, delimiter, encoding):
    handle = open(path, newline="", encoding=encoding, errors="replace")
    return handle, csv.reader(handle, delimiter=delimiter)


def from_csv(
    path,
    text_column="text",
    label_column="label",
    delimiter=None,
    label_separator=None,
    label_names=None,
    encoding="utf-8-sig",
):
    """Examples from a CSV or TSV file with a header row, streamed row by row.

    Args:
        path: the file; `.tsv`/`.tab` files default to tab-separated, others to commas.
        text_column, label_column: column names (or 0-based indices).
        delimiter: override the field separator.
        label_separator: split the label field into several labels (multi-label), e.g. "|".
        label_names: names for integer labels (label i -> label_names[i]).
        encoding: file encoding; undecodable bytes become U+FFFD instead of failing.

    Example:
        >>> data = from_csv("reviews.tsv", text_column="review", label_column="sentiment")  # doctest: +SKIP
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DataError(f"file not found: {path}")
    if delimiter is None:
        delimiter = "\t" if path.lower().endswith((".tsv", ".tab")) else ","
    # Reviews can be long: lift the csv module's 128 KiB field limit.
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    handle, reader = _open_csv(path, delimiter, encoding)
    with handle:
        header = next(reader, None)
    if not header:
        raise DataError(f"{path} is empty: expected a header row naming its columns")
    text_index = _column_index(header, text_column, path, "text")
    label_index = _column_index(header, label_column, path, "label")
    trapped = []
    multi_label = label_separator is not None

    def name_of(value, line):
        # With label_names, a numeric field is an index into them.
        value = int(value) if label_names is not None and value.isdigit() else value
        return _label_name(value, label_names, f"at line {line}")

    def rows():
        handle, reader = _open_csv(path, delimiter, encoding)
        with handle:
            next(reader, None)
            for row in reader:
                line = reader.line_num
                if not row:
                    continue
                try:
                    if max(text_index, label_index) >= len(row):
                        raise DataError(f"{path}:{line}: row has {len(row)} fields, expected at least {max(text_index, label_index) + 1}")
                    label = row[label_index].strip()
                    if not label:
                        raise DataError(f"{path}:{line}: the label field is empty")
                    text = row[text_index].encode("utf-8")
                    if multi_label:
                        parts = [part.strip() for part in label.split(label_separator) if part.strip()]
                        yield text, [name_of(part, line).encode("utf-8") for part in parts]
                    else:
                        yield text, name_of(label, line).encode("utf-8")
                except DataError as error:
                    raise trap(trapped, error)

    label_spec = tf.TensorSpec([None] if multi_label else [], tf.string)
    dataset = tf.data.Dataset.from_generator(
        rows, output_signature=(tf.TensorSpec([], tf.string), label_spec)
    )
    return LabelledTexts(
        dataset,
        multi_label=multi_label,
        label_names=[str(n) for n in label_names] if label_names is not None else None,
        description=path,
        trapped_errors=trapped,
    )


# -- class folders ------------------------------------------------------------------
def from_folder(root, classes=None, ignore=("unsup",), extensions=(".txt",)):
    """Examples from a folder-per-class tree (the aclImdb layout: `train/pos/*.txt`).

    Args:
        root: the folder whose subfolders are the classes (e.g. `aclImdb/train`).
        classes: which subfolders to use, in this label order; default all, sorted.
        ignore: subfolders skipped by default (aclImdb's unlabelled `unsup`).
        extensions: file suffixes to read; None reads every file.

    Example:
        >>> data = from_folder("aclImdb/train")  # doctest: +SKIP
        >>> data.label_names                      # doctest: +SKIP
        ['neg', 'pos']
    """
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise DataError(f"folder not found: {root}")
    if classes is None:
        classes = sorted(
            entry.name
            for entry in os.scandir(root)
            if entry.is_dir() and not entry.name.startswith((".", "_")) and entry.name not in set(ignore or ())
        )
        if not classes:
            raise DataError(f"{root} has no class subfolders: expected {root}/<class>/<file>.txt (e.g. aclImdb/train/pos/0_9.txt)")
    paths, labels = [], []
    for name in classes:
        folder = os.path.join(root, name)
        if not os.path.isdir(folder):
            raise DataError(f"class folder not found: {folder}")
        files = sorted(
            entry.path
            for entry in os.scandir(folder)
            if entry.is_file() and (extensions is None or entry.name.lower().endswith(tuple(extensions)))
        )
        if not files:
            raise DataError(f"class folder {folder} contains no {'/'.join(extensions or ['any'])} files")
        paths.extend(files)
        labels.extend([name] * len(files))
    dataset = tf.data.Dataset.from_tensor_slices((paths, labels)).map(
        lambda path, label: (tf.io.read_file(path), label), num_parallel_calls=tf.data.AUTOTUNE
    )
    return LabelledTexts(dataset, label_names=list(classes), description=f"{root} ({len(paths)} files)")


# -- TFDS ---------------------------------------------------------------------------
LOCAL_LABELLED_COPY = "a folder-per-class tree (e.g. aclImdb/train) or a CSV/TSV file"


def from_tfds(name, split="train", tfds_data_dir=None, text_key=None, label_key=None, download=True, *, data_dir=None):
    """Examples from a TFDS text-classification dataset (`imdb_reviews`, `ag_news_subset`, ...).

    Args:
        name: TFDS name, optionally with config/version (`"imdb_reviews/plain_text"`).
        split: TFDS split expression ("train", "test", "train[:10%]").
        tfds_data_dir: where TFDS keeps prepared data (`data_dir`: its deprecated name).
        text_key, label_key: feature names; default the first Text and ClassLabel features.
        download: allow downloading when the data is not prepared yet.

    Raises:
        DataUnavailableError: offline or not prepared, with the remedies in its message.

    Example:
        >>> data = from_tfds("imdb_reviews", split="test")  # doctest: +SKIP
    """
    import tensorflow_datasets

    tfds_data_dir = tfds.renamed_data_dir(tfds_data_dir, data_dir, "from_tfds")
    builder = tfds.prepared_builder(name, tfds_data_dir, download, LOCAL_LABELLED_COPY)
    kinds = tensorflow_datasets.features
    features = builder.info.features
    if text_key is None:
        text_key = next((k for k, f in features.items() if isinstance(f, kinds.Text)), None)
    if label_key is None:
        label_key = next((k for k, f in features.items() if isinstance(f, kinds.ClassLabel)), None)
    if text_key not in features or label_key not in features:
        raise DataError(
            f"TFDS dataset {name!r} needs a text and a class-label feature; it has {list(features)} "
            f"(pass text_key= and label_key=)"
        )
    label_feature = features[label_key]
    if not isinstance(label_feature, kinds.ClassLabel):
        raise DataError(f"feature {label_key!r} of {name!r} is not a ClassLabel")
    names = list(label_feature.names)
    dataset = tfds.split_dataset(builder, name, split)
    name_table = tf.constant(names)
    dataset = dataset.map(
        lambda example: (example[text_key], tf.gather(name_table, example[label_key])),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return LabelledTexts(dataset, label_names=names, description=f"TFDS {name} [{split}]")


# -- tf.data ------------------------------------------------------------------------
def from_dataset(dataset, label_names=None):
    """Examples from a `tf.data.Dataset` of `(text, label)` or `{"text", "label"}` elements.

    Batched datasets are unbatched; integer labels are named by `label_names` (or become "0", "1", ...).

    Example:
        >>> ds = tf.data.Dataset.from_tensor_slices((["good", "bad"], [1, 0]))
        >>> from_dataset(ds, label_names=["neg", "pos"]).label_names
        ['neg', 'pos']
    """
    spec = dataset.element_spec
    if isinstance(spec, dict):
        if "text" not in spec or "label" not in spec:
            raise DataError(f"dataset elements must have 'text' and 'label' keys, got {list(spec)}")
        dataset = dataset.map(lambda element: (element["text"], element["label"]))
        spec = dataset.element_spec
    if not isinstance(spec, tuple) or len(spec) != 2:
        raise DataError("dataset elements must be (text, label) pairs")
    text_spec, label_spec = spec
    if text_spec.dtype != tf.string:
        raise DataError(f"dataset texts must be strings, got {text_spec.dtype.name}")
    if text_spec.shape.rank == 1:
        dataset = dataset.unbatch()
        text_spec, label_spec = dataset.element_spec
    if text_spec.shape.rank != 0:
        raise DataError(f"dataset texts must be scalars or a batch of them, got shape {text_spec.shape}")
    multi_label = label_spec.shape.rank == 1
    if label_spec.dtype.is_integer or label_spec.dtype == tf.bool:
        if label_names is not None:
            table = tf.constant([str(n) for n in label_names])
            dataset = dataset.map(lambda text, label: (text, tf.gather(table, tf.cast(label, tf.int32))))
        else:
            dataset = dataset.map(lambda text, label: (text, tf.strings.as_string(tf.cast(label, tf.int64))))
    elif label_spec.dtype != tf.string:
        raise DataError(f"dataset labels must be strings or integers, got {label_spec.dtype.name}")
    return LabelledTexts(
        dataset,
        multi_label=multi_label,
        label_names=[str(n) for n in label_names] if label_names is not None else None,
        description="the given tf.data.Dataset",
    )


# -- dispatch -----------------------------------------------------------------------
def labelled_texts(
    data,
    labels=None,
    *,
    split="train",
    text_column="text",
    label_column="label",
    delimiter=None,
    label_separator=None,
    label_names=None,
    tfds_data_dir=None,
    download=True,
):
    """Turns anything an app's `fit`/`evaluate` accepts into `LabelledTexts`.

    `data` may be: a list/array of texts (with `labels`); a CSV/TSV path; a class-folder
    path; a TFDS name such as "imdb_reviews" (read with `split`); a `tf.data.Dataset`;
    or a `LabelledTexts`.

    Example:
        >>> labelled_texts(["good", "bad"], ["pos", "neg"]).description
        '2 in-memory examples'
    """
    if isinstance(data, LabelledTexts):
        return data
    if isinstance(data, tf.data.Dataset):
        return from_dataset(data, label_names=label_names)
    if isinstance(data, (str, os.PathLike)) and labels is None:
        path = os.fspath(data)
        if os.path.isdir(path):
            return from_folder(path) if label_names is None else from_folder(path, classes=label_names)
        if os.path.isfile(path):
            return from_csv(
                path,
                text_column=text_column,
                label_column=label_column,
                delimiter=delimiter,
                label_separator=label_separator,
                label_names=label_names,
            )
        if tfds.looks_like_name(path, suffixes=CSV_SUFFIXES + (".txt",)):
            return from_tfds(path, split=split, tfds_data_dir=tfds_data_dir, download=download)
        raise DataError(f"no such file or folder: {path}")
    if data is None:
        raise DataError("no data given")
    return from_lists(data, labels, label_names=label_names)


def label_order(seen, known):
    """Label names in id order: the source's order when it has one, else sorted (numerically if numbers)."""
    if known:
        unknown = sorted(set(seen) - set(known))
        if unknown:
            raise DataError(f"labels {unknown} are not among the label names {list(known)}")
        return list(known)
    names = list(seen)
    if all(name.lstrip("-").isdigit() for name in names):
        return sorted(names, key=int)
    return sorted(names)
