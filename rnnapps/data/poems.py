"""Classical Chinese poems: corpus loaders, form detection and filters.

Three corpus layouts are read, each lazily (a `PoemSource` re-reads its files every
time it is iterated, so a corpus never has to fit in memory):

- chinese-poetry JSON (`poet.tang.0.json`, ...): a list of objects with `title`,
  `author` and `paragraphs` (the lines, usually one couplet per string); globs of many
  files are read in sorted order.
- `tang.npz` from the well-known PyTorch poetry tutorials: `data` (int array `[N, L]`,
  left-padded with `</s>`, each poem between `<START>` and `<EOP>`), `ix2word`, `word2ix`.
- plain text: one poem per line, optionally `title<TAB>poem`, `title<TAB>author<TAB>poem`
  or `title:poem` (also the full-width `：`).

A poem's text is its lines with their punctuation and nothing else: whitespace and
editorial notes in brackets (`（一作...）`) are removed. Traditional and simplified
characters are kept as they are.

Example:
    >>> poem = Poem("床前明月光，疑是地上霜。举头望明月，低头思故乡。", title="静夜思")
    >>> poem.form, poem_lines(poem.text)[0]
    ('wujue', '床前明月光')
"""

import dataclasses
import glob
import json
import os
import re

from rnnapps.data.files import glob_files
from rnnapps.data.safe_npz import load_npz
from rnnapps.data.source import chunked, held_out_mask
from rnnapps.errors import ConfigError, DataError
from rnnapps.text.chinese import is_hanzi
from rnnapps.text.poem_forms import (  # re-exported: the forms are defined once, for data, app and export
    COMMA,
    FORM_ALIASES,
    FORMS,
    LINE_ENDS,
    PERIOD,
    canonical_form,
)
MAX_TITLE_CHARS = 24  # titles prime the model; a long one is cut, not refused
_LINE_END_RE = re.compile("[" + re.escape(LINE_ENDS) + "]")
_NOTES_RE = re.compile(r"（[^）]*）|\([^)]*\)|〔[^〕]*〕|【[^】]*】|\{[^}]*\}|\[[^\]]*\]")
_NPZ_MARKERS = {"<START>", "<EOP>", "</s>"}


def clean_text(text):
    """A poem's text without whitespace and bracketed editorial notes.

    Args:
        text: the raw text of a poem.

    Example:
        >>> clean_text("床前明月光， 疑是地上霜。（一作：看月光）")
        '床前明月光，疑是地上霜。'
    """
    return "".join(_NOTES_RE.sub("", str(text)).split())


def poem_lines(text):
    """The lines of a poem without their end punctuation.

    Args:
        text: a poem's text (lines with their punctuation).

    Example:
        >>> poem_lines("白日依山尽，黄河入海流。")
        ['白日依山尽', '黄河入海流']
    """
    return [line for line in _LINE_END_RE.split(text) if line]


def poem_form(text, strict=False):
    """The regular form of a poem's text ("wujue", "qijue", "wulv", "qilv") or None.

    Every line must be Han characters only and end with a punctuation mark. With
    `strict`, odd lines (1st, 3rd, ...) must end with "，" and even lines with "。",
    the text must end after the last "。", and nothing else may appear: the rule a
    generated poem is held to.

    Args:
        text: a poem's text.
        strict: also require "，"/"。" in their places.

    Example:
        >>> poem_form("春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。", strict=True)
        'wujue'
        >>> poem_form("春眠不觉晓。处处闻啼鸟，夜来风雨声，花落知多少。", strict=True) is None
        True
    """
    pieces = re.findall(r"([^" + re.escape(LINE_ENDS) + r"]*)([" + re.escape(LINE_ENDS) + r"])", text)
    if not pieces or "".join(a + b for a, b in pieces) != text:
        return None  # text after the last mark, or no mark at all
    lengths = {len(line) for line, _ in pieces}
    if len(lengths) != 1 or not all(is_hanzi(char) for line, _ in pieces for char in line):
        return None
    if strict and any(mark != (COMMA if index % 2 == 0 else PERIOD) for index, (_, mark) in enumerate(pieces)):
        return None
    shape = (len(pieces), lengths.pop())
    for name, form_shape in FORMS.items():
        if form_shape == shape:
            return name
    return None


def is_valid_poem(text, form):
    """Whether `text` is exactly a poem of `form` ("free": any non-empty text).

    Args:
        text: a poem's text.
        form: a form name (see `canonical_form`).

    Example:
        >>> is_valid_poem("白日依山尽，黄河入海流。欲穷千里目，更上一层楼。", "wujue")
        True
    """
    form = canonical_form(form)
    if form == "free":
        return bool(text)
    return poem_form(text, strict=True) == form


@dataclasses.dataclass
class Poem:
    """One poem: its text (lines with punctuation), title and author (may be empty).

    Example:
        >>> Poem("白日依山尽，黄河入海流。欲穷千里目，更上一层楼。").form
        'wujue'
    """

    text: str
    title: str = ""
    author: str = ""

    @property
    def form(self):
        """The regular form ("wujue", ...) or "free"."""
        return poem_form(self.text) or "free"

    def held_out(self, fraction, salt=""):
        """Whether this poem falls in the held-out `fraction` (by the hash of `salt + text`
        every source splits with, see `rnnapps.data.source`)."""
        return bool(held_out_mask([self.text], fraction, salt)[0])


def _make_poem(text, title="", author=""):
    text = clean_text(text)
    return Poem(text, clean_text(title)[:MAX_TITLE_CHARS], "".join(str(author).split())) if text else None


# -- readers -------------------------------------------------------------------------
def read_chinese_poetry_json(path):
    """Yields the poems of one chinese-poetry JSON file (a list of poem objects).

    Objects without a list of `paragraphs` strings are skipped (the collections hold a
    few); a file that is not such a list is an error.

    Args:
        path: the JSON file.

    Example:
        >>> poems = list(read_chinese_poetry_json("poet.tang.0.json"))  # doctest: +SKIP
    """
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as handle:
            document = json.load(handle)
    except OSError as error:
        raise DataError(f"could not read {path}: {error.strerror or error}") from None
    except ValueError as error:
        raise DataError(f"{path} is not valid JSON: {error}") from None
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list):
        raise DataError(f"{path}: expected a list of poems (objects with 'paragraphs'), got {type(document).__name__}")
    for entry in document:
        if not isinstance(entry, dict):
            continue
        paragraphs = entry.get("paragraphs")
        if not isinstance(paragraphs, list) or not all(isinstance(p, str) for p in paragraphs):
            continue
        poem = _make_poem("".join(paragraphs), entry.get("title") or "", entry.get("author") or "")
        if poem is not None:
            yield poem


def read_tang_npz(path):
    """Yields the poems of a `tang.npz` file (the PyTorch poetry tutorials' layout).

    The file holds `data` (int `[N, L]`, padded with `</s>`), `ix2word` and `word2ix`
    (dicts stored as pickled object arrays). Those are read by a restricted unpickler
    (`rnnapps.data.safe_npz`) that rebuilds only plain data: a file whose pickles name
    any function or class is refused with a `DataError`, never run.

    Args:
        path: the npz file.

    Example:
        >>> poems = list(read_tang_npz("tang.npz"))  # doctest: +SKIP
    """
    import numpy as np

    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except OSError as error:
        raise DataError(f"could not read {path}: {error.strerror or error}") from None
    if magic != b"PK\x03\x04":  # not a zip archive: never hand it to the unpickler
        raise DataError(f"{path} is not an .npz archive (a tang.npz poetry file is a numpy zip archive)")
    arrays = load_npz(path)  # object arrays: plain data only, never code (see safe_npz)
    missing = {"data", "ix2word"} - set(arrays)
    if missing:
        raise DataError(f"{path} is not a tang.npz poetry file: it lacks {sorted(missing)}")
    data = np.asarray(arrays["data"])
    ix2word = arrays["ix2word"]
    try:
        ix2word = ix2word.item() if ix2word.shape == () else dict(enumerate(ix2word.tolist()))
    except ValueError as error:
        raise DataError(f"{path}: 'ix2word' must be a dict of id -> character ({error})") from None
    if data.ndim != 2 or not np.issubdtype(data.dtype, np.integer) or not isinstance(ix2word, dict):
        raise DataError(f"{path}: 'data' must be a 2-D int array and 'ix2word' a dict of id -> character")
    for row in data:
        words = [ix2word.get(int(i), "") for i in row]
        if "<START>" in words:
            words = words[words.index("<START>") + 1 :]
        if "<EOP>" in words:
            words = words[: words.index("<EOP>")]
        poem = _make_poem("".join(w for w in words if w not in _NPZ_MARKERS))
        if poem is not None:
            yield poem


def read_text_poems(path, encoding="utf-8"):
    """Yields the poems of a text file: one per line, optionally with a title (and author).

    A line is `poem`, `title<TAB>poem`, `title<TAB>author<TAB>poem` or `title:poem`
    (`：` too; taken as a title only when the part before it has no line punctuation).
    Blank lines are skipped.

    Args:
        path: the text file.
        encoding: its encoding (undecodable bytes become U+FFFD).

    Example:
        >>> poems = list(read_text_poems("poems.txt"))  # doctest: +SKIP
    """
    try:
        with open(path, encoding=encoding, errors="replace") as handle:
            for line in handle:
                poem = _parse_text_line(line.strip("\r\n"))
                if poem is not None:
                    yield poem
    except OSError as error:
        raise DataError(f"could not read {path}: {error.strerror or error}") from None
    except LookupError:
        raise ConfigError(f"unknown text encoding {encoding!r}") from None


def _parse_text_line(line):
    if not line.strip():
        return None
    fields = line.split("\t")
    if len(fields) >= 3:
        return _make_poem("".join(fields[2:]), fields[0], fields[1])
    if len(fields) == 2:
        return _make_poem(fields[1], fields[0])
    match = re.match(r"^([^:：]{1,40})[:：](.+)$", line)
    if match and not _LINE_END_RE.search(match.group(1)):
        return _make_poem(match.group(2), match.group(1))
    return _make_poem(line)


@dataclasses.dataclass(frozen=True)
class _PoemFile:
    """A file `poem_source` found: kept apart from poem strings, so no string is ever read as a path."""

    path: str


def _reader_for(path):
    lower = path.lower()
    if lower.endswith(".json"):
        return read_chinese_poetry_json
    if lower.endswith(".npz"):
        return read_tang_npz
    return read_text_poems


def _files(item):
    path = os.path.expanduser(os.fspath(item))
    if os.path.isfile(path):
        return [path]
    if glob.has_magic(path):
        matches = glob_files(path)
        if not matches:
            raise DataError(f"no files match {path!r}")
        return matches
    if os.path.isdir(path):
        raise DataError(f"{path} is a folder: name its files with a glob such as {os.path.join(path, '*.json')!r}")
    raise DataError(f"no such file: {path}")


# -- sources and filters ---------------------------------------------------------------
class PoemSource:
    """A re-iterable, filtered stream of `Poem`s from files or Python objects.

    Args:
        items: `Poem`s and poem strings (kept in memory), or file paths/globs (read
            lazily, every time the source is iterated).
        forms: keep only poems of these forms (names as in `FORMS`, "free" for the rest).
        authors: keep only poems by these authors.
        max_length: keep only poems of at most this many characters (punctuation included).
        description: how to name the source in messages.

    Example:
        >>> source = PoemSource(["白日依山尽，黄河入海流。欲穷千里目，更上一层楼。", "你好"], forms=["wujue"])
        >>> [p.form for p in source]
        ['wujue']
    """

    def __init__(self, items, forms=None, authors=None, max_length=None, description=None):
        self._items = list(items)
        self.forms = None if forms is None else {canonical_form(f) for f in forms}
        self.authors = None if authors is None else {"".join(str(a).split()) for a in authors}
        if max_length is not None and int(max_length) < 1:
            raise ConfigError(f"max_length must be >= 1, got {max_length}")
        self.max_length = None if max_length is None else int(max_length)
        self.description = description or "the given poems"

    def unfiltered(self):
        """Every poem of the source, before filters."""
        for item in self._items:
            if isinstance(item, Poem):
                poem = _make_poem(item.text, item.title, item.author)
                if poem is not None:
                    yield poem
            elif isinstance(item, _PoemFile):
                yield from _reader_for(item.path)(item.path)
            elif isinstance(item, str):
                poem = _make_poem(item)
                if poem is not None:
                    yield poem

    def keeps(self, poem):
        """Whether `poem` passes the filters."""
        if self.forms is not None and poem.form not in self.forms:
            return False
        if self.authors is not None and poem.author not in self.authors:
            return False
        return self.max_length is None or len(poem.text) <= self.max_length

    def __iter__(self):
        return (poem for poem in self.unfiltered() if self.keeps(poem))

    def split(self, fraction):
        """`(train, held_out)` sources: poems hashed into the held-out `fraction`.

        Example:
            >>> train, held_out = poem_source("poems.txt").split(0.1)  # doctest: +SKIP
        """
        return _Subset(self, fraction, False), _Subset(self, fraction, True)

    def describe_filters(self):
        parts = []
        if self.forms is not None:
            parts.append("form " + "/".join(sorted(self.forms)))
        if self.authors is not None:
            parts.append("author " + "/".join(sorted(self.authors)))
        if self.max_length is not None:
            parts.append(f"at most {self.max_length} characters")
        return ", ".join(parts)


class _Subset:
    """One side of `PoemSource.split` (splits again with a differently salted hash)."""

    def __init__(self, source, fraction, held_out, salt=""):
        self.source, self.fraction, self.held_out, self.salt = source, fraction, held_out, salt
        part = "held-out" if held_out else "training"
        self.description = f"{getattr(source, 'description', 'poems')} ({part} part)"

    def mask(self, poems):
        """Numpy bools: which of `poems` (of the root source) belong to this side (hashed in one call)."""
        mine = held_out_mask([poem.text for poem in poems], self.fraction, self.salt) == self.held_out
        return mine & self.source.mask(poems) if isinstance(self.source, _Subset) else mine

    def takes(self, poem):
        """Whether `poem` (of the parent source) belongs to this side."""
        return bool(self.mask([poem])[0])

    def root(self):
        return self.source.root() if isinstance(self.source, _Subset) else self.source

    def __iter__(self):
        for chunk in chunked(self.root()):
            yield from (poem for poem, taken in zip(chunk, self.mask(chunk)) if taken)

    def split(self, fraction):
        salt = self.salt + "+"
        return _Subset(self, fraction, False, salt), _Subset(self, fraction, True, salt)

    def describe_filters(self):
        return self.root().describe_filters()


def with_membership(source):
    """`(poem, belongs)` for every poem of `source`'s root before filters: `belongs` says
    whether a split part takes it (always True for a whole source)."""
    if not isinstance(source, _Subset):
        yield from ((poem, True) for poem in source.unfiltered())
        return
    for chunk in chunked(source.root().unfiltered()):
        yield from zip(chunk, source.mask(chunk))


def poem_source(data, form=None, author=None, max_length=None):
    """Turns what `PoetryGenerator.fit` accepts into a filtered `PoemSource`.

    Args:
        data: a file path or glob (`.json` chinese-poetry, `.npz` tang.npz, anything
            else plain text; a list of them is fine), a `Poem`, a poem string, a list
            of `Poem`s/strings, or a `PoemSource` (returned as is).
        form: keep only poems of this form (a name or a list of names).
        author: keep only poems by this author (a name or a list).
        max_length: keep only poems of at most this many characters.

    Raises:
        DataError: missing files, a glob matching nothing, no data at all.

    Example:
        >>> poem_source(["白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"]).description
        '1 poem(s) given in Python'
    """
    if isinstance(data, (PoemSource, _Subset)):
        return data
    forms = None if form is None else ([form] if isinstance(form, str) else list(form))
    authors = None if author is None else ([author] if isinstance(author, str) else list(author))
    if isinstance(data, (Poem, os.PathLike)) or isinstance(data, str):
        data = [data]
    if isinstance(data, (bytes, bytearray)):
        data = [bytes(data).decode("utf-8", errors="replace")]
    if not isinstance(data, (list, tuple)):
        raise DataError(f"cannot read poems from {type(data).__name__}: pass a file, a glob, or a list of poems")
    if not data:
        raise DataError("no poems given: the corpus is empty")
    items, files = [], []
    for item in data:
        if isinstance(item, bytes):
            item = item.decode("utf-8", errors="replace")
        if isinstance(item, Poem):
            items.append(item)
        elif isinstance(item, os.PathLike) or (isinstance(item, str) and _names_a_file(item)):
            found = _files(item)
            files.extend(found)
            items.extend(_PoemFile(path) for path in found)
        elif isinstance(item, str):
            items.append(item)
        else:
            raise DataError(f"a poem must be a str or a Poem, got {type(item).__name__}")
    if files:
        description = files[0] if len(files) == 1 else f"{len(files)} files ({files[0]}, ...)"
    else:
        description = f"{len(items)} poem(s) given in Python"
    return PoemSource(items, forms=forms, authors=authors, max_length=max_length, description=description)


def _names_a_file(text):
    """A string meant as a file name or glob rather than as a poem."""
    if os.path.isfile(os.path.expanduser(text)):
        return True
    if any(is_hanzi(char) for char in text) and not any(sep in text for sep in ("/", os.sep, ".json", ".npz", ".txt")):
        return False  # a poem (which may well contain "?" or "*")
    return glob.has_magic(text) or text.lower().endswith((".json", ".npz", ".txt", ".text", ".tsv")) or "/" in text or os.sep in text
