"""Text corpora for language models, streamed in chunks and never loaded whole.

A `TextCorpus` is a recipe for a `tf.data.Dataset` of `{"text", "document"}` chunks:
files are read lazily in ~64K-character chunks cut at whitespace (so no word or
character is ever split between two chunks), in-memory strings and TFDS/tf.data
texts are cut the same way. The language-model windows built on top of a corpus live
in `rnnapps.data.corpus_windows` and are re-exported here.

Example:
    >>> corpus = text_corpus("the cat sat.\\nthe dog ran.\\n")
    >>> [chunk["text"] for chunk in corpus.documents().as_numpy_iterator()]
    [b'the cat sat.\\nthe dog ran.\\n']
"""

import codecs
import dataclasses
import glob
import os

import tensorflow as tf

from rnnapps.data import tfds
from rnnapps.data.chunking import CHUNK_CHARS, MAX_CHUNK_CHARS, chunk_text  # chunk_text re-exported
from rnnapps.data.files import glob_files
from rnnapps.data.source import Source, held_out_threshold, in_held_out, trap
from rnnapps.data.corpus_windows import (  # re-exported: one import path for the whole corpus API
    CorpusStats,
    language_model_batches,
    lm_windows,
    scan_corpus,
    stateful_windows,
    token_ids,
)
from rnnapps.errors import ConfigError, DataError

PATH_SUFFIXES = (".txt", ".text", ".md", ".rst", ".json", ".jsonl", ".csv", ".tsv", ".xml", ".html", ".log")
LOCAL_TEXT_COPY = "a plain text file or a glob of them (e.g. 'books/*.txt')"
__all__ = [
    "CorpusStats", "TextCorpus", "chunk_text", "from_dataset", "from_files", "from_text", "from_tfds",
    "lm_windows", "scan_corpus", "split_corpus", "stateful_windows", "text_corpus", "token_ids",
]
_ELEMENT_SPEC = {"text": tf.TensorSpec([], tf.string), "document": tf.TensorSpec([], tf.int64)}


@dataclasses.dataclass
class TextCorpus(Source):
    """A text corpus streamed as chunks, document by document, in a fixed order.

    Attributes:
        make_documents: zero-argument callable returning a fresh `tf.data.Dataset` of
            `{"text": string[], "document": int64[]}`; every call must give the same chunks.
        description: how to name the corpus in messages.
        trapped_errors: `DataError`s raised while reading (see `reading`).

    Example:
        >>> corpus = from_text(["first document", "second"])
        >>> [int(c["document"]) for c in corpus.documents()]
        [0, 1]
    """

    make_documents: object
    description: str = "corpus"
    trapped_errors: list = dataclasses.field(default_factory=list)

    def documents(self):
        """The chunks, in order: `{"text": tf.string scalar, "document": tf.int64 scalar}`.

        Every document gives at least one chunk (an empty document one empty chunk), and
        no chunk splits a word or a character.
        """
        return self.make_documents()

    # The module functions of the same names, reachable from the class (rnnapps.data
    # already exports `from_dataset`/`from_tfds` for labelled data).
    @classmethod
    def from_text(cls, texts, **options):
        return from_text(texts, **options)

    @classmethod
    def from_files(cls, paths_or_globs, **options):
        return from_files(paths_or_globs, **options)

    @classmethod
    def from_tfds(cls, name, **options):
        return from_tfds(name, **options)

    @classmethod
    def from_dataset(cls, dataset, **options):
        return from_dataset(dataset, **options)


def _encode(text):
    # Lone surrogates (possible in Python strings) cannot be encoded: they become "?".
    return text.encode("utf-8", errors="replace")


def _generated(generate, description, trapped):
    """A `TextCorpus` over a Python generator of `(document index, chunk str)` pairs."""

    def elements():
        for index, chunk in generate():
            yield {"text": _encode(chunk), "document": index}

    return TextCorpus(
        lambda: tf.data.Dataset.from_generator(elements, output_signature=_ELEMENT_SPEC),
        description=description,
        trapped_errors=trapped,
    )


# -- sources ----------------------------------------------------------------------------
def from_text(texts, chunk_chars=CHUNK_CHARS, max_chunk_chars=MAX_CHUNK_CHARS):
    """A corpus of in-memory strings: one string, or a list of strings (one document each).

    Example:
        >>> corpus = from_text("to be or not to be\\n")
        >>> corpus.description
        'an in-memory text (19 characters)'
    """
    single = isinstance(texts, (str, bytes))
    texts = [texts] if single else list(texts)
    if not texts:
        raise DataError("no texts given: the corpus is empty")
    for index, text in enumerate(texts):
        if not isinstance(text, (str, bytes)):
            raise DataError(f"text {index} must be str or bytes, got {type(text).__name__}")

    def generate():
        for index, text in enumerate(texts):
            if isinstance(text, bytes):
                text = text.decode("utf-8", errors="replace")
            for chunk in chunk_text([text], chunk_chars, max_chunk_chars):
                yield index, chunk
            if not text:
                yield index, ""  # an empty document still counts as one

    if single:
        description = f"an in-memory text ({len(texts[0]):,} characters)"
    else:
        description = f"{len(texts):,} in-memory texts"
    return _generated(generate, description, [])


def _files_named(item):
    """Regular files named by a path or glob (glob matches sorted); [] when none."""
    path = os.path.expanduser(os.fspath(item))
    if os.path.isfile(path):
        return [path]
    if glob.has_magic(path):
        return glob_files(path)
    return []


def _missing_file_error(item):
    path = os.path.expanduser(os.fspath(item))
    if os.path.isdir(path):
        return DataError(f"{path} is a folder: name its files with a glob such as {os.path.join(path, '*.txt')!r}")
    if glob.has_magic(path):
        return DataError(f"no files match {path!r}")
    return DataError(f"no such file: {path}")


def from_files(paths_or_globs, encoding="utf-8", chunk_chars=CHUNK_CHARS, max_chunk_chars=MAX_CHUNK_CHARS):
    """A corpus of text files, each one document, read lazily in chunks.

    Args:
        paths_or_globs: a path, a glob ("books/*.txt", "**" recursive) or a list of them;
            a glob's matches are read in sorted order, listed paths in the order given.
        encoding: the files' encoding; undecodable bytes become U+FFFD instead of failing.
            Line endings are normalised to "\\n".

    Raises:
        DataError: a missing file, or a glob that matches nothing.

    Example:
        >>> corpus = from_files("books/*.txt")  # doctest: +SKIP
    """
    items = [paths_or_globs] if isinstance(paths_or_globs, (str, os.PathLike)) else list(paths_or_globs)
    if not items:
        raise DataError("no files given: the corpus is empty")
    paths, seen = [], set()
    for item in items:
        named = _files_named(item)
        if not named:
            raise _missing_file_error(item)
        for path in named:
            if path not in seen:  # a file named twice (by a path and a glob) is one document
                seen.add(path)
                paths.append(path)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ConfigError(f"unknown text encoding {encoding!r}") from None
    trapped = []

    def generate():
        for index, path in enumerate(paths):
            try:
                # Text mode decodes incrementally (a character split between two reads is
                # kept whole) and with newline=None turns "\r\n" and "\r" into "\n".
                with open(path, encoding=encoding, errors="replace", newline=None) as handle:
                    reads = iter(lambda: handle.read(chunk_chars), "")
                    empty = True
                    for chunk in chunk_text(reads, chunk_chars, max_chunk_chars):
                        empty = False
                        yield index, chunk
                    if empty:
                        yield index, ""
            except OSError as error:
                trap(trapped, DataError(f"could not read {path}: {error.strerror or error}"))
                raise

    description = paths[0] if len(paths) == 1 else f"{len(paths)} files ({paths[0]}, ...)"
    return _generated(generate, description, trapped)


def _line_groups(text, chunk_chars):
    """Cuts one (possibly long) string tensor into about `chunk_chars`-byte runs of whole lines."""
    lines = tf.strings.split(text, "\n")
    count = tf.size(lines)
    not_last = tf.range(count) < count - 1
    lines = lines + tf.where(not_last, tf.constant("\n"), tf.constant(""))
    # A text ending in "\n" leaves an empty last piece: drop it (unless it is all there is).
    lines = tf.boolean_mask(lines, not_last | (tf.strings.length(lines) > 0) | (count == 1))
    count = tf.size(lines)
    size = tf.maximum(tf.strings.length(text), 1)
    per_group = tf.maximum(1, tf.cast(tf.cast(count, tf.int64) * chunk_chars // tf.cast(size, tf.int64), tf.int32))
    groups = (count + per_group - 1) // per_group
    lines = tf.pad(lines, [[0, groups * per_group - count]], constant_values="")
    return tf.strings.reduce_join(tf.reshape(lines, [groups, per_group]), axis=1)


def _texts_corpus(make_texts, description, chunk_chars):
    """A corpus over a dataset of scalar strings (one document each), long ones cut at line breaks."""

    def documents():
        def cut(index, text):
            pieces = _line_groups(text, chunk_chars)
            return {"text": pieces, "document": tf.fill(tf.shape(pieces), index)}

        return make_texts().enumerate().map(cut, num_parallel_calls=tf.data.AUTOTUNE).unbatch()

    return TextCorpus(documents, description=description)


def from_dataset(dataset, chunk_chars=CHUNK_CHARS):
    """A corpus of a `tf.data.Dataset` of strings, each element one document.

    Elements may be scalar strings, batches of them, or dicts with a "text" key. A long
    element is cut into runs of whole lines of about `chunk_chars` bytes. The dataset must
    give the same texts each time it is iterated (no reshuffling): the corpus is read
    several times (vocabulary scan, then every epoch).

    Example:
        >>> corpus = from_dataset(tf.data.Dataset.from_tensor_slices(["a b", "c"]))
        >>> corpus.description
        'the given tf.data.Dataset'
    """
    spec = dataset.element_spec
    if isinstance(spec, dict):
        if "text" not in spec:
            raise DataError(f"dataset elements must be strings or dicts with a 'text' key, got keys {list(spec)}")
        dataset = dataset.map(lambda element: element["text"])
        spec = dataset.element_spec
    if not isinstance(spec, tf.TensorSpec) or spec.dtype != tf.string:
        raise DataError(f"dataset elements must be strings, got {spec}")
    if spec.shape.rank == 1:
        dataset = dataset.unbatch()
    elif spec.shape.rank != 0:
        raise DataError(f"dataset texts must be scalars or a batch of them, got shape {spec.shape}")
    return _texts_corpus(lambda: dataset, "the given tf.data.Dataset", chunk_chars)


def _is_string_feature(feature):
    return getattr(feature, "tf_dtype", None) == tf.string and tuple(getattr(feature, "shape", ())) == ()


def from_tfds(
    name, split="train", text_key=None, tfds_data_dir=None, download=True, chunk_chars=CHUNK_CHARS, *, data_dir=None
):
    """A corpus from a TFDS dataset with a string feature (`tiny_shakespeare`, `lm1b`, ...).

    Args:
        name: TFDS name, optionally with config/version; a "tfds:" prefix is allowed.
        split: TFDS split expression ("train", "validation", "train[:10%]").
        text_key: the string feature to read; default the only (or first) one.
        tfds_data_dir: where TFDS keeps prepared data (`data_dir`: its deprecated name).
        download: allow downloading when the data is not prepared yet.

    Raises:
        DataUnavailableError: offline or not prepared, with the remedies in its message.

    Example:
        >>> corpus = from_tfds("tiny_shakespeare", split="validation")  # doctest: +SKIP
    """
    name = name[len("tfds:"):] if name.startswith("tfds:") else name
    tfds_data_dir = tfds.renamed_data_dir(tfds_data_dir, data_dir, "from_tfds")
    builder = tfds.prepared_builder(name, tfds_data_dir, download, LOCAL_TEXT_COPY)
    features = builder.info.features
    string_keys = [key for key, feature in features.items() if _is_string_feature(feature)]
    if text_key is None:
        if not string_keys:
            raise DataError(f"TFDS dataset {name!r} has no string feature; its features are {list(features)}")
        text_key = string_keys[0]
    elif text_key not in string_keys:
        raise DataError(f"{text_key!r} is not a string feature of TFDS dataset {name!r}; string features: {string_keys}")
    tfds.split_dataset(builder, name, split)  # fail now, not at the first epoch, on a bad split
    return _texts_corpus(
        lambda: builder.as_dataset(split=split).map(lambda example: example[text_key]),
        f"TFDS {name} [{split}]",
        chunk_chars,
    )


# -- dispatch ---------------------------------------------------------------------------
def _looks_like_path(text):
    """A one-line string that can only be meant as a file name."""
    if not text.strip() or "\n" in text:
        return False
    if text.lower().endswith(PATH_SUFFIXES) or text.startswith(("/", "./", "../", "~")):
        return True
    has_separator = "/" in text or os.sep in text
    return has_separator and not any(char.isspace() for char in text)


def _is_tfds_name(text):
    """A TFDS-looking name: registered with TFDS, or an identifier no prose looks like."""
    if not tfds.looks_like_name(text, suffixes=PATH_SUFFIXES):
        return False
    # Unregistered, "my_corpus" is meant as a (mistyped) TFDS name, "data/x" as a path, "hello" as text.
    return tfds.is_registered(text) or ("/" not in text and ("_" in text or ":" in text))


def text_corpus(
    source, *, split="train", text_key=None, tfds_data_dir=None, download=True, encoding="utf-8", data_dir=None
):
    """Turns anything a language model's `fit`/`evaluate` accepts into a `TextCorpus`.

    Rules, in order:
    - a `TextCorpus` passes through; a `tf.data.Dataset` of strings -> `from_dataset`;
    - an `os.PathLike` -> `from_files` (DataError if missing);
    - a str starting with "tfds:" -> `from_tfds`;
    - a str naming an existing file, or a glob matching files -> `from_files`;
    - a str that is a TFDS name -> `from_tfds`: it matches the TFDS name pattern and its
      dataset part is registered with TFDS ("tiny_shakespeare", "lm1b", "imdb_reviews/
      plain_text:1.0.0"), or, unregistered, has a "_" or ":" and no "/" ("my_corpus":
      an unknown TFDS name gets a clear error rather than being trained on as text);
    - a one-line str that looks like a path (ends in .txt/.md/.json/..., starts with
      "/", "./", "~", or contains a path separator and no spaces) -> DataError "no such file";
    - any other str (or bytes) -> `from_text`: the string itself is the text;
    - a list/tuple: if every item is a path, a glob or path-like -> `from_files` (in the
      given order), else if all are strings -> `from_text` (one document each).

    Use `from_text` directly for a text that these rules would take for a name.

    Args:
        split, text_key, tfds_data_dir, download: for TFDS (ignored by other sources);
            `data_dir` is the deprecated name of `tfds_data_dir`.
        encoding: for files.

    Example:
        >>> text_corpus("hello world\\n").description
        'an in-memory text (12 characters)'
        >>> text_corpus(["doc one", "doc two"]).description
        '2 in-memory texts'
    """
    if isinstance(source, TextCorpus):
        return source
    if isinstance(source, tf.data.Dataset):
        return from_dataset(source)
    if isinstance(source, os.PathLike):
        return from_files(source, encoding=encoding)
    tfds_data_dir = tfds.renamed_data_dir(tfds_data_dir, data_dir, "text_corpus")
    tfds_options = dict(split=split, text_key=text_key, tfds_data_dir=tfds_data_dir, download=download)
    if isinstance(source, bytes):
        return from_text(source)
    if isinstance(source, str):
        if source.startswith("tfds:"):
            return from_tfds(source, **tfds_options)
        if "\n" not in source and source.strip():
            if _files_named(source):
                return from_files(source, encoding=encoding)
            if os.path.isdir(os.path.expanduser(source)):
                raise _missing_file_error(source)
            if _is_tfds_name(source):
                return from_tfds(source, **tfds_options)
            if _looks_like_path(source):
                raise _missing_file_error(source)
        return from_text(source)
    if isinstance(source, (list, tuple)):
        items = list(source)
        if not items:
            raise DataError("no texts or files given: the corpus is empty")

        def names_a_file(item):
            if isinstance(item, os.PathLike):
                return True
            return isinstance(item, str) and (bool(_files_named(item)) or _looks_like_path(item))

        if all(names_a_file(item) for item in items):
            return from_files(items, encoding=encoding)
        if all(isinstance(item, (str, bytes)) for item in items):
            return from_text(items)
        raise DataError("a list must hold either texts or file paths (str), not a mix of other types")
    if source is None:
        raise DataError("no corpus given")
    raise DataError(f"cannot read a corpus from {type(source).__name__}: pass text, a file path, a glob, a TFDS name or a tf.data.Dataset")


# -- held-out split -------------------------------------------------------------------
def corpus_for(data, purpose, options):
    """`text_corpus(data, **options)` for training ("train"), its held-out text ("validation")
    or an evaluation ("test"): a TFDS name reads the split of that name unless `options`
    give one; an option `text_corpus` does not know is a `ConfigError`."""
    options = dict(options)
    if isinstance(data, str) and purpose != "train":
        options.setdefault("split", purpose)
    try:
        return text_corpus(data, **options)
    except TypeError as error:
        raise ConfigError(f"unknown corpus option: {error}") from None


def split_corpus(corpus, fraction):
    """Splits a corpus into training and validation parts by a hash of each line.

    Hashing works on streams of any size, gives the same split every run, and keeps
    duplicate lines on one side (the hash every source uses, see `rnnapps.data.source`). Both parts keep the document structure (a document's
    held-out lines are simply missing from its training text).

    Returns:
        (train, validation) `TextCorpus` pair.

    Example:
        >>> train, validation = split_corpus(from_text("a\\nb\\nc\\n" * 10), 0.3)
    """
    threshold = held_out_threshold(fraction)

    def part(held_out):
        def keep_lines(element):
            lines = tf.strings.split(element["text"], "\n")
            count = tf.size(lines)
            ends = tf.where(tf.range(count) < count - 1, tf.constant("\n"), tf.constant(""))
            held = in_held_out(lines, threshold)
            chosen = tf.boolean_mask(lines + ends, held if held_out else tf.logical_not(held))
            return {"text": tf.strings.reduce_join(chosen), "document": element["document"]}

        return lambda: corpus.documents().map(keep_lines, num_parallel_calls=tf.data.AUTOTUNE)

    train = TextCorpus(part(False), f"{corpus.description} (training lines)", corpus.trapped_errors)
    validation = TextCorpus(part(True), f"{corpus.description} (held-out {fraction:.0%} of lines)", corpus.trapped_errors)
    return train, validation
