"""Parallel texts for translation: where `(source, target)` pairs come from.

Every source returns a `ParallelTexts`: a `tf.data.Dataset` of `(source, target)`
scalar strings. Files are streamed, never read whole; problems surface as `DataError`
with the file and line (iterate inside `ParallelTexts.reading()`). The vocabularies and
training batches built on top live in `rnnapps.data.parallel`, which re-exports this API.

Example:
    >>> parallel_texts([("I am hungry.", "Tengo hambre.")]).description
    '1 in-memory pairs'
"""

import dataclasses
import itertools
import os
import re

import numpy as np
import tensorflow as tf

from rnnapps.data import tfds
from rnnapps.data.pipeline import split_validation
from rnnapps.data.source import Source, trap
from rnnapps.errors import ConfigError, DataError

__all__ = [
    "ParallelTexts",
    "from_aligned_files",
    "from_dataset",
    "from_lists",
    "from_pairs_file",
    "from_tfds",
    "parallel_texts",
    "split_pairs",
]

_LINES_PER_CHUNK = 1024  # lines a file generator hands to tf.data at once (one Python call per chunk)
LOCAL_PAIRS_COPY = "a local pairs file (source<TAB>target per line, e.g. Tatoeba/Anki spa.txt)"
_TEXT_FILE_SUFFIXES = (".txt", ".tsv", ".tab", ".csv")


@dataclasses.dataclass
class ParallelTexts(Source):
    """A stream of `(source, target)` translation pairs.

    Attributes:
        dataset: `tf.data.Dataset` of `(source: string[], target: string[])`.
        description: how to name this data in messages.
        trapped_errors: `DataError`s raised inside file generators (see `reading()`).
    """

    dataset: tf.data.Dataset
    description: str = "parallel texts"
    trapped_errors: list = dataclasses.field(default_factory=list)


# -- text files ---------------------------------------------------------------------
def _existing_file(path):
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DataError(f"file not found: {path}")
    return path


def _chunked_dataset(chunks):
    """A generator of `(sources, targets)` lists -> dataset of single pairs."""
    spec = tf.TensorSpec([None], tf.string)
    return tf.data.Dataset.from_generator(chunks, output_signature=(spec, spec)).unbatch()


def from_pairs_file(path, source_column=0, target_column=1, delimiter="\t", encoding="utf-8"):
    """Pairs from a delimited file without a header, streamed line by line.

    The Tatoeba/Anki layout (`spa.txt`): `source<TAB>target<TAB>attribution` per line.
    Extra columns are ignored, blank lines skipped, fields stripped of surrounding
    whitespace. Quotes are ordinary characters (no CSV quoting).

    Args:
        path: the file.
        source_column, target_column: 0-based column indices.
        delimiter: the field separator.
        encoding: file encoding; undecodable bytes become U+FFFD instead of failing.

    Raises:
        DataError: the file is missing, or (while reading) a line has too few columns,
            reported as `path:line`.

    Example:
        >>> pairs = from_pairs_file("spa.txt")  # doctest: +SKIP
    """
    path = _existing_file(path)
    for role, column in (("source", source_column), ("target", target_column)):
        if not isinstance(column, int) or column < 0:
            raise ConfigError(f"{role}_column must be a column index >= 0, got {column!r}")
    if not delimiter:
        raise ConfigError("delimiter must not be empty")
    needed = max(source_column, target_column) + 1
    trapped = []

    def chunks():
        sources_, targets = [], []
        with open(path, encoding=encoding, errors="replace") as handle:
            for number, line in enumerate(handle, 1):
                if number == 1:
                    line = line.lstrip("\ufeff")  # a byte order mark is not text
                if not line.strip():
                    continue
                fields = line.rstrip("\r\n").split(delimiter)
                if len(fields) < needed:
                    raise trap(trapped, DataError(
                        f"{path}:{number}: found {len(fields)} column(s), expected at least {needed} "
                        f"separated by {delimiter!r} (source column {source_column}, target column {target_column})"
                    ))
                sources_.append(fields[source_column].strip().encode("utf-8"))
                targets.append(fields[target_column].strip().encode("utf-8"))
                if len(sources_) == _LINES_PER_CHUNK:
                    yield sources_, targets
                    sources_, targets = [], []
        if sources_:
            yield sources_, targets

    return ParallelTexts(_chunked_dataset(chunks), description=path, trapped_errors=trapped)


def from_aligned_files(source_path, target_path, encoding="utf-8"):
    """Pairs from two files in which line i of one translates line i of the other.

    Streamed in lockstep (the WMT/OPUS `train.de` + `train.en` layout). Lines that are
    blank in both files are skipped; blank lines at the end of one file are ignored.

    Raises:
        DataError: a file is missing, or (while reading) the files have different
            numbers of lines; the message gives both counts.

    Example:
        >>> pairs = from_aligned_files("train.de", "train.en")  # doctest: +SKIP
    """
    source_path, target_path = _existing_file(source_path), _existing_file(target_path)
    trapped = []

    def mismatch(number, current, rest, source_ended):
        # One file ended at line `number`; the other has `current` plus `rest` more lines.
        remaining = [current] + list(rest)
        if not any(line.strip() for line in remaining):
            return None
        shorter, longer = number - 1, number - 1 + len(remaining)
        counts = (shorter, longer) if source_ended else (longer, shorter)
        return DataError(
            f"{source_path} has {counts[0]} lines but {target_path} has {counts[1]}: "
            f"aligned files must have one target line per source line"
        )

    def chunks():
        sources_, targets = [], []
        with open(source_path, encoding=encoding, errors="replace") as left, open(
            target_path, encoding=encoding, errors="replace"
        ) as right:
            for number, (source, target) in enumerate(itertools.zip_longest(left, right), 1):
                if source is None or target is None:
                    ended_source = source is None
                    error = mismatch(number, target if ended_source else source, right if ended_source else left, ended_source)
                    if error is None:
                        break
                    raise trap(trapped, error)
                if number == 1:
                    source, target = source.lstrip("\ufeff"), target.lstrip("\ufeff")
                if not source.strip() and not target.strip():
                    continue
                sources_.append(source.strip().encode("utf-8"))
                targets.append(target.strip().encode("utf-8"))
                if len(sources_) == _LINES_PER_CHUNK:
                    yield sources_, targets
                    sources_, targets = [], []
        if sources_:
            yield sources_, targets

    return ParallelTexts(
        _chunked_dataset(chunks), description=f"{source_path} + {target_path}", trapped_errors=trapped
    )


# -- Python lists -------------------------------------------------------------------
def _text_bytes(text, role, index):
    if isinstance(text, (bytes, np.bytes_)):
        return bytes(text)
    if isinstance(text, str):
        return text.encode("utf-8", errors="replace")  # lone surrogates become "?"
    raise DataError(f"the {role} of pair {index} must be a string, got {type(text).__name__}")


def from_lists(sources_or_pairs, targets=None):
    """Pairs from two parallel lists of strings, or from one list of `(source, target)` pairs.

    Example:
        >>> from_lists(["Hello."], ["Hola."]).description
        '1 in-memory pairs'
        >>> from_lists([("Hello.", "Hola."), ("Thanks.", "Gracias.")]).description
        '2 in-memory pairs'
    """
    if isinstance(sources_or_pairs, (str, bytes)) or isinstance(targets, (str, bytes)):
        raise DataError("expected lists of texts (or a list of (source, target) pairs), not a single string")
    items = list(sources_or_pairs)
    if targets is None:
        for index, item in enumerate(items):
            if isinstance(item, (str, bytes)) or not isinstance(item, (tuple, list, np.ndarray)) or len(item) != 2:
                raise DataError(
                    f"item {index} is not a (source, target) pair: pass a list of pairs, "
                    f"or the source texts with targets=<list of target texts>"
                )
        pairs = items
    else:
        targets = list(targets)
        if len(items) != len(targets):
            raise DataError(f"mismatched lengths: {len(items)} sources but {len(targets)} targets")
        pairs = list(zip(items, targets))
    if not pairs:
        raise DataError("the dataset is empty: no pairs were given")
    encoded_sources = [_text_bytes(source, "source", i) for i, (source, _) in enumerate(pairs)]
    encoded_targets = [_text_bytes(target, "target", i) for i, (_, target) in enumerate(pairs)]
    dataset = tf.data.Dataset.from_tensor_slices(
        (tf.constant(encoded_sources, tf.string), tf.constant(encoded_targets, tf.string))
    )
    return ParallelTexts(dataset, description=f"{len(pairs)} in-memory pairs")


# -- TFDS ---------------------------------------------------------------------------
def _default_language_keys(builder, name):
    """(source, target) feature names of a TFDS translation dataset."""
    supervised = getattr(builder.info, "supervised_keys", None)
    if isinstance(supervised, (tuple, list)) and len(supervised) == 2 and all(isinstance(k, str) for k in supervised):
        return tuple(supervised)
    features = builder.info.features
    languages = list(getattr(features, "languages", None) or features.keys())
    # Configs name the direction: "pt_to_en", "de-en".
    config = name.split("/")[1].split(":")[0] if "/" in name else ""
    direction = re.match(r"^([A-Za-z]+)(?:_to_|-)([A-Za-z]+)$", config)
    if direction and set(direction.groups()) <= set(languages):
        return direction.groups()
    if len(languages) == 2:
        return tuple(languages)
    raise DataError(
        f"cannot tell the source and target features of TFDS dataset {name!r} among {languages}: "
        f"pass source_key= and target_key="
    )


def from_tfds(name, split="train", source_key=None, target_key=None, tfds_data_dir=None, download=True, *, data_dir=None):
    """Pairs from a TFDS translation dataset (`ted_hrlr_translate/pt_to_en`, `wmt14_translate/de-en`).

    Args:
        name: TFDS name with its config (the language pair), optionally a version.
        split: TFDS split expression ("train", "validation", "train[:10%]").
        source_key, target_key: feature names; default the builder's `supervised_keys`
            (e.g. ("pt", "en")), else the languages named by the config.
        tfds_data_dir: where TFDS keeps prepared data (`data_dir`: its deprecated name).
        download: allow downloading when the data is not prepared yet.

    Raises:
        DataUnavailableError: offline or not prepared, with the remedies in its message.

    Example:
        >>> pairs = from_tfds("ted_hrlr_translate/pt_to_en", split="validation")  # doctest: +SKIP
    """
    tfds_data_dir = tfds.renamed_data_dir(tfds_data_dir, data_dir, "from_tfds")
    # Through the module, so that tests (and users) can replace the builder lookup.
    builder = tfds.prepared_builder(name, tfds_data_dir, download, LOCAL_PAIRS_COPY)
    if source_key is None or target_key is None:
        default_source, default_target = _default_language_keys(builder, name)
        source_key = default_source if source_key is None else source_key
        target_key = default_target if target_key is None else target_key
    features = list(builder.info.features.keys())
    for role, key in (("source", source_key), ("target", target_key)):
        if key not in features:
            raise DataError(f"{role} feature {key!r} not found in TFDS dataset {name!r}; its features are {features}")
    dataset = tfds.split_dataset(builder, name, split).map(lambda example: (example[source_key], example[target_key]), num_parallel_calls=tf.data.AUTOTUNE)
    return ParallelTexts(dataset, description=f"TFDS {name} [{split}] ({source_key} -> {target_key})")


# -- tf.data ------------------------------------------------------------------------
def from_dataset(dataset, source_key=None, target_key=None):
    """Pairs from a `tf.data.Dataset` of `(source, target)` strings or of dicts of two strings.

    With dict elements, `source_key`/`target_key` name the features; without them the
    keys "source" and "target" are used when present, else the two keys in the dict's order.
    Batched datasets are unbatched.

    Example:
        >>> ds = tf.data.Dataset.from_tensor_slices({"en": ["Hello."], "es": ["Hola."]})
        >>> from_dataset(ds).description
        'the given tf.data.Dataset (en -> es)'
    """
    spec = dataset.element_spec
    description = "the given tf.data.Dataset"
    if isinstance(spec, dict):
        keys = list(spec)
        if source_key is None and target_key is None:
            if "source" in spec and "target" in spec:
                source_key, target_key = "source", "target"
            elif len(keys) == 2:
                source_key, target_key = keys
        if source_key not in spec or target_key not in spec:
            raise DataError(f"cannot find the source and target in dataset keys {keys}: pass source_key= and target_key=")
        dataset = dataset.map(lambda element: (element[source_key], element[target_key]))
        description += f" ({source_key} -> {target_key})"
        spec = dataset.element_spec
    if not isinstance(spec, tuple) or len(spec) != 2:
        raise DataError("dataset elements must be (source, target) string pairs")
    if any(part.dtype != tf.string for part in spec):
        raise DataError(f"dataset sources and targets must be strings, got {spec[0].dtype.name} and {spec[1].dtype.name}")
    if spec[0].shape.rank == 1 and spec[1].shape.rank == 1:
        dataset = dataset.unbatch()
        spec = dataset.element_spec
    if spec[0].shape.rank != 0 or spec[1].shape.rank != 0:
        raise DataError(f"dataset texts must be scalars or batches of them, got shapes {spec[0].shape} and {spec[1].shape}")
    return ParallelTexts(dataset, description=description)


# -- dispatch -----------------------------------------------------------------------
def _is_path(value):
    return isinstance(value, (str, os.PathLike))


def parallel_texts(
    data,
    targets=None,
    *,
    split="train",
    source_column=0,
    target_column=1,
    delimiter="\t",
    encoding="utf-8",
    source_key=None,
    target_key=None,
    tfds_data_dir=None,
    download=True,
    data_dir=None,
):
    """Turns anything a translator's `fit`/`evaluate` accepts into `ParallelTexts`.

    `data` may be: a `ParallelTexts`; a `tf.data.Dataset`; a `(source_path, target_path)`
    tuple of aligned files (or a source path with `targets` a target path); a pairs file
    path; a TFDS name such as "ted_hrlr_translate/pt_to_en" (read with `split`); a list of
    source texts with `targets` a list of target texts; or a list of `(source, target)` pairs.
    The keyword options go to the matching `from_*` function (`data_dir` is the deprecated
    name of `tfds_data_dir`).

    Example:
        >>> parallel_texts(["Hello."], ["Hola."]).description
        '1 in-memory pairs'
    """
    tfds_data_dir = tfds.renamed_data_dir(tfds_data_dir, data_dir, "parallel_texts")
    if isinstance(data, ParallelTexts):
        return data
    if isinstance(data, tf.data.Dataset):
        return from_dataset(data, source_key=source_key, target_key=target_key)
    if data is None:
        raise DataError("no data given")
    if _is_path(targets) and _is_path(data):
        data, targets = (data, targets), None
    if isinstance(data, tuple) and len(data) == 2 and all(_is_path(part) for part in data) and targets is None:
        missing = [os.fspath(part) for part in data if not os.path.isfile(part)]
        if missing:
            raise DataError(f"aligned file(s) not found: {', '.join(missing)}")
        return from_aligned_files(*data, encoding=encoding)
    if _is_path(data):
        path = os.fspath(data)
        if targets is not None:
            raise DataError("targets= goes with a list of source texts or a source file, not with a pairs file")
        if os.path.isfile(path):
            return from_pairs_file(path, source_column, target_column, delimiter, encoding)
        if os.path.isdir(path):
            raise DataError(f"{path} is a folder: expected a pairs file, two aligned files or a TFDS name")
        if tfds.looks_like_name(path, suffixes=_TEXT_FILE_SUFFIXES):
            return from_tfds(path, split, source_key, target_key, tfds_data_dir=tfds_data_dir, download=download)
        raise DataError(f"no such file: {path}")
    return from_lists(data, targets)


def split_pairs(data, fraction):
    """Splits pairs into train/validation by a hash of the source text.

    Stable across runs and stream sizes, and duplicate sources stay on one side (the
    hash every source uses: see `split_validation` and `rnnapps.data.source`). Takes and returns `ParallelTexts` (or plain datasets).

    Example:
        >>> train, validation = split_pairs(pairs, 0.1)  # doctest: +SKIP
    """
    dataset = data.dataset if isinstance(data, ParallelTexts) else data
    train, validation = split_validation(dataset, fraction)
    if not isinstance(data, ParallelTexts):
        return train, validation
    return (
        ParallelTexts(train, f"{data.description} (training part)", data.trapped_errors),
        ParallelTexts(validation, f"{data.description} (validation part)", data.trapped_errors),
    )
