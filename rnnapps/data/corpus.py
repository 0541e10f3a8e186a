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
import contextlib
import dataclasses
import glob
import os
import re
import unicodedata

import tensorflow as tf

from rnnapps.data import sources
from rnnapps.data.files import glob_files
from rnnapps.data.corpus_windows import (  # re-exported: one import path for the whole corpus API
    CorpusStats,
    lm_windows,
    scan_corpus,
    stateful_windows,
    token_ids,
)
from rnnapps.errors import ConfigError, DataError, DataUnavailableError

CHUNK_CHARS = 64 * 1024  # characters per chunk: big enough for fast batched ops, small enough for RAM
MAX_CHUNK_CHARS = 1024 * 1024  # a run without any whitespace is cut here regardless
MAX_CLUSTER_CHARS = 64  # a hard cut steps back at most this far to keep a character with its marks
MAX_CUT_TRIES = 64  # whitespace candidates tried per chunk before looking further on
PATH_SUFFIXES = (".txt", ".text", ".md", ".rst", ".json", ".jsonl", ".csv", ".tsv", ".xml", ".html", ".log")
__all__ = [
    "CorpusStats", "TextCorpus", "chunk_text", "from_dataset", "from_files", "from_text", "from_tfds",
    "lm_windows", "scan_corpus", "split_corpus", "stateful_windows", "text_corpus", "token_ids",
]
_ELEMENT_SPEC = {"text": tf.TensorSpec([], tf.string), "document": tf.TensorSpec([], tf.int64)}
# Whitespace a chunk may end after. Word tokenisers split on all of these; for char level
# any boundary before a base character is safe.
_CUT_AFTER = ("\n", " ", "\t", "\r", "\u3000", "\xa0", "\u2028", "\u2029")
_CUT_AFTER_RE = re.compile("[" + "".join(_CUT_AFTER) + "]")
# Characters that glue onto the character before them (one user-perceived character):
# never start a chunk with one.
_GLUE = {"\u200d", "\ufe0f"} | {chr(c) for c in range(0x1F3FB, 0x1F400)}


@dataclasses.dataclass
class TextCorpus:
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

    @contextlib.contextmanager
    def reading(self):
        """Context for iterating anything built on this corpus: a read failure becomes a `DataError`."""
        try:
            yield
        except tf.errors.OpError as error:
            if self.trapped_errors:
                trapped = self.trapped_errors[0]
                self.trapped_errors.clear()  # a later, unrelated failure must not repeat this one
                raise trapped from None
            first_line = (error.message or str(error)).strip().splitlines()[0]
            raise DataError(f"could not read {self.description}: {first_line}") from None


# -- chunking ---------------------------------------------------------------------------
def _safe_cut(text, position):
    """Whether a chunk may end just before `text[position]` without splitting a character."""
    if position >= len(text):
        return False  # the next character is not read yet: it may be a combining mark
    following = text[position]
    if following in _GLUE or text[position - 1] == "\u200d":  # position >= 1 for every caller
        return False
    return not unicodedata.category(following).startswith("M")


def _find_cut(text, start, chunk_chars, max_chars):
    """End of the next chunk of `text[start:]`, or None when more text is needed first.

    Prefers the last line break in the second half of the chunk (whole lines suit line-based
    splitting), then the last other whitespace; a chunk without whitespace grows up to
    the first whitespace after it, and is cut at `max_chars` if there is none.
    """
    end = start + chunk_chars
    newline = text.rfind("\n", start, end)
    if newline >= start + chunk_chars // 2 and _safe_cut(text, newline + 1):
        return newline + 1
    # The last whitespace before `end` that a chunk may end after; only the last
    # MAX_CUT_TRIES candidates are tried, so text where whitespace keeps being followed
    # by combining marks costs linear time, not quadratic.
    limit = end
    for _ in range(MAX_CUT_TRIES):
        cut = max(text.rfind(mark, start, limit) for mark in _CUT_AFTER)
        if cut < start:
            break
        if _safe_cut(text, cut + 1):
            return cut + 1
        limit = cut
    hard = start + max_chars
    for match in _CUT_AFTER_RE.finditer(text, end, hard):
        if _safe_cut(text, match.end()):
            return match.end()
    if len(text) - start <= max_chars:
        return None  # not enough text to need the hard cut (at the very end, all of it is one chunk)
    # No whitespace to cut after: step back at most MAX_CLUSTER_CHARS to keep a character
    # and its marks together; a longer run of marks or joiners (no real text has one) is
    # cut at the maximum length, so a chunk is never shorter than max_chars - MAX_CLUSTER_CHARS.
    for cut in range(hard, max(start + 1, hard - MAX_CLUSTER_CHARS), -1):
        if _safe_cut(text, cut):
            return cut
    return hard


def chunk_text(pieces, chunk_chars=CHUNK_CHARS, max_chunk_chars=MAX_CHUNK_CHARS):
    """Re-cuts a stream of text pieces into chunks of about `chunk_chars` characters.

    Each chunk ends after a whitespace character (a line break when there is one near the
    end), so no word and no user-perceived character is split; the rest carries over to
    the next chunk. Text without whitespace is cut after `max_chunk_chars` at the latest.
    Concatenating the chunks gives back the input exactly.

    Args:
        pieces: iterable of str of any sizes (file reads, whole documents).

    Example:
        >>> list(chunk_text(["one two thr", "ee four"], chunk_chars=8))
        ['one two ', 'three ', 'four']
    """
    if chunk_chars < 1 or max_chunk_chars < chunk_chars:
        raise ConfigError(f"need 1 <= chunk_chars <= max_chunk_chars, got {chunk_chars} and {max_chunk_chars}")
    buffer, start = "", 0
    for piece in pieces:
        # Only the unconsumed tail is copied: a huge single piece is walked by index.
        buffer, start = buffer[start:] + piece, 0
        while len(buffer) - start > chunk_chars:
            cut = _find_cut(buffer, start, chunk_chars, max_chunk_chars)
            if cut is None:
                break
            yield buffer[start:cut]
            start = cut
    while start < len(buffer):
        cut = _find_cut(buffer, start, chunk_chars, max_chunk_chars) if len(buffer) - start > chunk_chars else None
        cut = len(buffer) if cut is None else cut
        yield buffer[start:cut]
        start = cut


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
                trapped.append(DataError(f"could not read {path}: {error.strerror or error}"))
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


def _for_language_models(error):
    """The TFDS "unavailable" message with the remedy that fits a language model."""
    message = str(error)
    marker = "or train from a local copy instead:"
    remedy = "a plain text file or a glob of them (e.g. 'books/*.txt')."
    if marker in message:
        return f"{message[: message.index(marker)]}{marker} {remedy}"
    return f"{message} Or train from a local copy instead: {remedy}"


def _is_string_feature(feature):
    return getattr(feature, "tf_dtype", None) == tf.string and tuple(getattr(feature, "shape", ())) == ()


def from_tfds(name, split="train", text_key=None, data_dir=None, download=True, chunk_chars=CHUNK_CHARS):
    """A corpus from a TFDS dataset with a string feature (`tiny_shakespeare`, `lm1b`, ...).

    Args:
        name: TFDS name, optionally with config/version; a "tfds:" prefix is allowed.
        split: TFDS split expression ("train", "validation", "train[:10%]").
        text_key: the string feature to read; default the only (or first) one.
        data_dir: where TFDS keeps prepared data.
        download: allow downloading when the data is not prepared yet.

    Raises:
        DataUnavailableError: offline or not prepared, with the remedies in its message.

    Example:
        >>> corpus = from_tfds("tiny_shakespeare", split="validation")  # doctest: +SKIP
    """
    name = name[len("tfds:"):] if name.startswith("tfds:") else name
    try:
        builder = sources._tfds_builder(name, data_dir, download)
    except DataUnavailableError as error:
        raise DataUnavailableError(_for_language_models(error)) from None
    features = builder.info.features
    string_keys = [key for key, feature in features.items() if _is_string_feature(feature)]
    if text_key is None:
        if not string_keys:
            raise DataError(f"TFDS dataset {name!r} has no string feature; its features are {list(features)}")
        text_key = string_keys[0]
    elif text_key not in string_keys:
        raise DataError(f"{text_key!r} is not a string feature of TFDS dataset {name!r}; string features: {string_keys}")
    try:
        builder.as_dataset(split=split)  # fail now, not at the first epoch, on a bad split
    except (ValueError, KeyError) as error:
        raise DataError(f"split {split!r} of {name!r} is not available ({str(error).splitlines()[0]}); splits: {list(builder.info.splits)}") from None
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
    if not sources._TFDS_NAME.match(text) or text.lower().endswith(PATH_SUFFIXES):
        return False
    import tensorflow_datasets as tfds

    try:
        tfds.builder_cls(text.split("/")[0].split(":")[0])
        return True
    except Exception:  # not registered
        # "my_corpus" is meant as a (mistyped) TFDS name, "data/x" as a path, "hello" as text.
        return "/" not in text and ("_" in text or ":" in text)


def text_corpus(source, *, split="train", text_key=None, data_dir=None, download=True, encoding="utf-8"):
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
        split, text_key, data_dir, download: for TFDS (ignored by other sources).
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
    tfds_options = dict(split=split, text_key=text_key, data_dir=data_dir, download=download)
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
def split_corpus(corpus, fraction, buckets=10_000):
    """Splits a corpus into training and validation parts by a hash of each line.

    Hashing works on streams of any size, gives the same split every run, and keeps
    duplicate lines on one side. Both parts keep the document structure (a document's
    held-out lines are simply missing from its training text).

    Returns:
        (train, validation) `TextCorpus` pair.

    Example:
        >>> train, validation = split_corpus(from_text("a\\nb\\nc\\n" * 10), 0.3)
    """
    if not 0.0 < fraction < 1.0:
        raise DataError(f"validation fraction must be in (0, 1), got {fraction}")
    threshold = int(round(fraction * buckets))

    def part(held_out):
        def keep_lines(element):
            lines = tf.strings.split(element["text"], "\n")
            count = tf.size(lines)
            ends = tf.where(tf.range(count) < count - 1, tf.constant("\n"), tf.constant(""))
            held = tf.strings.to_hash_bucket_fast(lines, buckets) < threshold
            chosen = tf.boolean_mask(lines + ends, held if held_out else tf.logical_not(held))
            return {"text": tf.strings.reduce_join(chosen), "document": element["document"]}

        return lambda: corpus.documents().map(keep_lines, num_parallel_calls=tf.data.AUTOTUNE)

    train = TextCorpus(part(False), f"{corpus.description} (training lines)", corpus.trapped_errors)
    validation = TextCorpus(part(True), f"{corpus.description} (held-out {fraction:.0%} of lines)", corpus.trapped_errors)
    return train, validation
