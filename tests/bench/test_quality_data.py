"""bench/quality_data.py: parsing, filtering and splitting, on tiny inputs made here (offline)."""

import csv
import gzip
import hashlib
import io
import json
import os
import struct
import sys
import tarfile
import zlib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import quality_data as qd  # noqa: E402


# --- helpers that build the binary formats -------------------------------------------------


def make_mo(entries, order="<"):
    """A GNU .mo catalog (bytes) holding `entries` [(msgid bytes, msgstr bytes)]."""
    entries = sorted(entries)
    count = len(entries)
    ids_at = 28
    strs_at = ids_at + 8 * count
    data_at = strs_at + 8 * count
    blob, id_table, str_table = b"", b"", b""
    for msgid, _ in entries:
        id_table += struct.pack(order + "2I", len(msgid), data_at + len(blob))
        blob += msgid + b"\0"
    for _, msgstr in entries:
        str_table += struct.pack(order + "2I", len(msgstr), data_at + len(blob))
        blob += msgstr + b"\0"
    header = struct.pack(order + "7I", 0x950412DE, 0, count, ids_at, strs_at, 0, 0)
    return header + id_table + str_table + blob


def r_int(v):
    return struct.pack(">i", v)


def r_string(text):
    raw = text.encode("utf-8")
    return r_int(9 | (8 << 12)) + r_int(len(raw)) + raw  # CHARSXP marked UTF-8


def r_strsxp(items, names=None):
    flags = 16 | (0x200 if names else 0)
    out = r_int(flags) + r_int(len(items)) + b"".join(r_string(s) for s in items)
    if names:
        out += r_attributes({"names": r_strsxp(names)})
    return out


def r_intsxp(values):
    return r_int(13) + r_int(len(values)) + b"".join(r_int(v) for v in values)


def r_vecsxp(items, names):
    out = r_int(19 | 0x200) + r_int(len(items)) + b"".join(items)
    return out + r_attributes({"names": r_strsxp(names)})


def r_attributes(attrs):
    out = b""
    for tag, value in attrs.items():
        out += r_int(2 | 0x400) + r_int(1) + r_string(tag) + value  # LISTSXP, tag = SYMSXP
    return out + r_int(254)


def r_serialize(item, version=3):
    head = b"X\n" + r_int(version) + r_int(0x040201) + r_int(0x030500)
    if version == 3:
        head += r_int(5) + b"UTF-8"
    return head + item


def make_deb(files, compression="xz"):
    """A .deb (bytes) whose data archive holds `files` {path: bytes}."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:" + compression) as tar:
        for path, content in files.items():
            info = tarfile.TarInfo("./" + path)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    members = [("debian-binary", b"2.0\n"), ("control.tar.gz", gzip.compress(b"")),
               ("data.tar." + compression, data.getvalue())]
    out = b"!<arch>\n"
    for name, content in members:
        out += ("%-16s%-12s%-6s%-6s%-8s%-10d`\n" % (name, 0, 0, 0, 100644, len(content))).encode()
        out += content + (b"\n" if len(content) % 2 else b"")
    return out


# --- splits ---------------------------------------------------------------------------------


def test_hash_split_is_stable_and_near_its_fractions():
    keys = ["key %d" % i for i in range(20000)]
    first = [qd.hash_split(k) for k in keys]
    assert first == [qd.hash_split(k) for k in keys]
    assert qd.unit_hash("abc") == int.from_bytes(hashlib.sha1(b"abc").digest()[:8], "big") / 2.0 ** 64
    share = {s: first.count(s) / len(keys) for s in qd.SPLITS}
    assert abs(share["valid"] - 0.05) < 0.01 and abs(share["test"] - 0.05) < 0.01
    wide = [qd.hash_split(k, valid=0.05, test=0.15) for k in keys]
    assert abs(wide.count("test") / len(keys) - 0.15) < 0.01


def test_position_split_takes_one_valid_and_one_test_in_twenty():
    splits = [qd.position_split(i) for i in range(40)]
    assert splits.count("valid") == 2 and splits.count("test") == 2
    assert splits[10] == splits[30] == "valid" and splits[19] == splits[39] == "test"


# --- sentiment --------------------------------------------------------------------------------


def test_parse_sentiment_csv_cleans_dedupes_and_drops_conflicts():
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["sentiment", "confidence", "text"])
    writer.writerow(["negative", "1", "late again @airline"])
    writer.writerow(["Positive", "0.7", "love it &amp; more\n\tnew line"])
    writer.writerow(["neutral", "1", "same text"])
    writer.writerow(["positive", "1", "same text"])  # conflicting label: dropped
    writer.writerow(["negative", "1", "late again  @airline"])  # same text once cleaned
    writer.writerow(["unknown", "1", "no such label"])
    raw = buf.getvalue().encode("utf-8").replace(b"late again @", b"late again \xd1@", 1)
    rows = qd.parse_sentiment_csv(raw)
    assert rows == [("late again @airline", "negative"), ("love it & more new line", "positive")]


def test_split_sentiment_keeps_every_row_once():
    rows = [("tweet number %d" % i, ("negative", "neutral", "positive")[i % 3]) for i in range(300)]
    splits = qd.split_sentiment(rows)
    assert sorted(sum(splits.values(), [])) == sorted(rows)
    assert splits == qd.split_sentiment(list(reversed(rows)))  # order-free
    text = qd._tsv_text(("text", "label"), splits["train"])
    assert text.startswith("text\tlabel\n") and text.count("\n") == len(splits["train"]) + 1
    with pytest.raises(ValueError):
        qd._tsv_text(("text", "label"), [("a\tb", "neutral")])


# --- char LM ----------------------------------------------------------------------------------


def test_strip_gutenberg_and_book_chapters():
    text = ("The Project Gutenberg eBook of Tiny\n"
            "*** START OF THE PROJECT GUTENBERG EBOOK TINY ***\n"
            "TINY\n\nby Someone\n\nVOLUME I\n\nCHAPTER I\n\n"
            "It was a _very_ long\nsentence, wrapped.\n\nSecond paragraph.\n\n"
            "       * * * * *\n\nChapter 2\n\nLast words.\n\nTHE END\n"
            "*** END OF THE PROJECT GUTENBERG EBOOK TINY ***\nLicence text.\n")
    body = qd.strip_gutenberg(text)
    assert "Licence" not in body and "eBook of" not in body
    chapters = qd.book_chapters(body.split("\n"))
    assert chapters == [("Chapter I", ["It was a very long sentence, wrapped.", "Second paragraph."]),
                        ("Chapter 2", ["Last words."])]
    assert qd.chapters_text(chapters) == (
        "Chapter I\nIt was a very long sentence, wrapped.\nSecond paragraph.\n\n"
        "Chapter 2\nLast words.\n\n")
    assert qd.strip_gutenberg("no markers") == "no markers"


def test_r_unserializer_reads_named_character_vectors_and_lazyload_db():
    vector = r_strsxp(["CHAPTER 1", "", "It is a truth.", "\u00e9t\u00e9"], names=None)
    for version in (2, 3):
        got = qd.RUnserializer(r_serialize(vector, version)).read()
        assert list(got) == ["CHAPTER 1", "", "It is a truth.", "\u00e9t\u00e9"] and got.rtype == 16
    named = qd.RUnserializer(r_serialize(r_strsxp(["x", "y"], names=["a", "b"]))).read()
    assert named.attrs == {"names": ["a", "b"]}

    # a lazy-load database: .rdb chunks (4-byte length + zlib), .rdx index (gzip)
    objects = {"book": r_serialize(r_strsxp(["line one", "line two"])),
               "other": r_serialize(r_strsxp(["x"]))}
    rdb, offsets = b"", []
    for name, blob in objects.items():
        chunk = struct.pack(">I", len(blob)) + zlib.compress(blob)
        offsets.append(r_intsxp([len(rdb), len(chunk)]))
        rdb += chunk
    index = r_vecsxp([r_vecsxp(offsets, list(objects)), r_vecsxp([], []), r_int(10) + r_int(1) + r_int(1)],
                     ["variables", "references", "compressed"])
    rdx = gzip.compress(r_serialize(index))
    data = qd.read_r_lazyload(rdx, rdb)
    assert list(data["book"]) == ["line one", "line two"] and list(data["other"]) == ["x"]


# --- word LM ----------------------------------------------------------------------------------


def test_brown_sentences_drop_tags_and_map_quotes():
    text = ("\n\n\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ./.\n\n\n"
            "\t1/2/cd inch/nn ./.\n")
    assert qd.brown_sentences(text) == [
        ["The", "jury", "said", '"', "no", "evidence", '"', "."], ["1/2", "inch", "."]]


# --- poetry -----------------------------------------------------------------------------------

QILV = ["秦川雄帝宅函谷，壯皇居綺殿千尋。", "離宮百雉餘連甍，遙接漢飛觀迥凌。",
        "雲日隱層闕風煙，出綺疎巖廊罷機。", "務崇文聊駐輦玉，匣啓龍圖金繩披。"]


def test_qilv_text_accepts_only_eight_lines_of_seven():
    assert qilv_ok(QILV)
    assert not qilv_ok(QILV[:2])  # 4 lines
    assert not qilv_ok(QILV[:3] + ["務崇文聊駐輦玉。匣啓龍圖金繩披，"])  # marks swapped
    assert not qilv_ok(QILV[:3] + ["務崇文聊駐輦，匣啓龍圖金繩披。"])  # a 6-character line
    assert not qilv_ok(QILV[:3] + ["務崇文聊駐輦□，匣啓龍圖金繩披。"])  # not a Han character
    assert not qilv_ok(QILV + ["一"])
    assert qilv_ok(QILV[:3] + ["務崇文聊駐輦玉，匣啓龍圖金繩\U00026f9f。"])  # extension B
    assert not qilv_ok(["床前明月光，疑是地上霜。", "舉頭望明月，低頭思故鄉。"])  # 5 characters


def qilv_ok(paragraphs):
    return qd.qilv_text(paragraphs) is not None


def test_select_qilv_from_a_chinese_poetry_json_file(tmp_path):
    poems = [{"author": "太宗皇帝", "title": "帝京篇\t一", "paragraphs": QILV, "id": "a"},
             {"author": "李白", "title": "靜夜思", "paragraphs": ["床前明月光，疑是地上霜。"]},
             {"author": "某", "title": "重複", "paragraphs": list(QILV)}]  # same poem again
    path = tmp_path / "poet.tang.0.json"
    path.write_text(json.dumps(poems, ensure_ascii=False), encoding="utf-8")
    loaded = json.loads(path.read_text(encoding="utf-8"))
    plain = qd.select_qilv(loaded)
    assert plain == [("帝京篇 一", "太宗皇帝", "".join(QILV))]
    to_simple = str.maketrans({"壯": "壮", "帝": "帝", "離": "离"})
    converted = qd.select_qilv(loaded, convert=lambda s: s.translate(to_simple))
    assert converted[0][2].startswith("秦川雄帝宅函谷，壮皇居") and "离宮" in converted[0][2]
    splits = qd.split_poems(converted)
    assert sum(splits.values(), []) == converted


# --- translation ------------------------------------------------------------------------------


def test_parse_mo_both_byte_orders_with_context_and_plural():
    entries = [(b"", b"Content-Type: text/plain; charset=UTF-8\n"),
               (b"_Open", b"_\xc3\x96ffnen"),
               (b"menu\x04&Save", b"&Speichern"),
               (b"%d file\x00%d files", b"%d Datei\x00%d Dateien")]
    for order in "<>":
        assert sorted(qd.parse_mo(make_mo(entries, order))) == sorted(entries)
    with pytest.raises(ValueError):
        qd.parse_mo(b"\0" * 40)


def test_clean_ui_string_and_ui_pair_filters():
    assert qd.clean_ui_string("_Open &File...") == "Open File..."
    assert qd.clean_ui_string("Search && Replace &amp; more\n  here") == "Search & Replace & more here"
    assert qd.clean_ui_string("~Save") == "~Save"
    assert qd.clean_ui_string("~Save", tilde=True) == "Save"
    assert qd.clean_ui_string("snake_case %s") == "snakecase %s"
    pair = qd.ui_pair
    assert pair(b"_Open", "_Öffnen".encode()) == ("Open", "Öffnen")
    assert pair(b"menu\x04&Save", b"&Speichern") == ("Save", "Speichern")
    assert pair(b"%d file\x00%d files", b"%d Datei\x00%d Dateien") == ("%d file", "%d Datei")
    assert pair(b"", b"header") is None
    assert pair(b"OK", b"Ok") is None  # same but for case
    assert pair(b"<b>Bold</b>", b"<b>Fett</b>") is None
    assert pair(b"Error.~%", b"Fehler.~%") is None
    assert pair(b"translator-credits", b"Jemand") is None
    assert pair(b"123", b"456") is None
    assert pair(b" ".join([b"word"] * 31), b"Wort") is None
    assert pair(b"~Apply", b"~Anwenden", tilde=True) == ("Apply", "Anwenden")


def test_collect_pairs_keeps_first_translation_and_split_keeps_sources_apart():
    first = make_mo([(b"Open", b"\xc3\x96ffnen"), (b"Close", b"Schlie\xc3\x9fen")])
    second = make_mo([(b"Open", b"Aufmachen"), (b"~Print", b"~Drucken")])
    pairs = qd.collect_pairs([("gtk:a.mo", first), ("libreoffice-l10n-de:b.mo", second),
                              ("broken:c.mo", b"not a catalog at all")])
    assert [(s, t) for s, t, _ in pairs] == [("Close", "Schließen"), ("Open", "Öffnen"),
                                             ("Print", "Drucken")]
    many = [("source %d" % i, "Quelle %d" % i, "x") for i in range(500)]
    splits = qd.split_pairs(many)
    seen = [s for rows in splits.values() for s, _ in rows]
    assert sorted(seen) == sorted(s for s, _, _ in many)  # each source in exactly one split


def test_read_deb_finds_german_catalogs_and_licences(tmp_path):
    mo = make_mo([(b"Open", b"\xc3\x96ffnen")])
    copyright_text = b"Format: x\n\nFiles: *\nLicense: GPL-2+\n\nLicense: GPL-2+\n text\n"
    for compression in ("xz", "gz"):
        deb = tmp_path / ("pkg_1%%3a2.0-1_all.%s.deb" % compression)
        deb.write_bytes(make_deb({"usr/share/locale/de/LC_MESSAGES/pkg.mo": mo,
                                  "usr/share/locale/fr/LC_MESSAGES/pkg.mo": mo,
                                  "usr/share/doc/pkg/copyright": copyright_text}, compression))
        files = qd.read_deb(str(deb), lambda n: qd._GERMAN_MO.search(n) is not None)
        assert list(files) == ["usr/share/locale/de/LC_MESSAGES/pkg.mo"]
    assert qd.deb_version("/x/pkg_1%3a2.0-1_all.deb") == "1:2.0-1"
    assert qd.deb_licences(copyright_text.decode()) == ["GPL-2+"]
    assert qd.deb_licences("under the GNU General Public License v2") == ["GPL"]


# --- the driver -------------------------------------------------------------------------------


def test_prepare_builds_once_then_reuses_the_cache(tmp_path, monkeypatch):
    calls = []

    def fake_builder(cache_dir, folder):
        calls.append(folder)
        files = {s: (s + ".txt", "%s line\n" % s) for s in qd.SPLITS}
        return files, {"packages": [{"name": "fake"}]}, "a fake corpus"

    monkeypatch.setitem(qd.BUILDERS, "word_lm", fake_builder)
    first = qd.prepare(str(tmp_path), "word_lm")
    assert set(first) == {"word_lm"} and first["word_lm"]["description"] == "a fake corpus"
    assert Path(first["word_lm"]["valid"]).read_text() == "valid line\n"
    stamp = json.loads((tmp_path / "word_lm" / "SOURCES.json").read_text())
    assert stamp["splits"]["train"] == {"file": "train.txt", "rows": 1, "characters": 11}
    assert qd.prepare(str(tmp_path), ["word_lm"]) == first and len(calls) == 1
    qd.prepare(str(tmp_path), ["word_lm"], rebuild=True)
    assert len(calls) == 2
    table = qd.size_table(first)
    assert table.splitlines()[0].split() == ["task", "split", "rows", "characters", "file"]
    assert len(table.splitlines()) == 5

    def failing(cache_dir, folder):
        raise qd.DataError("package x is missing")

    monkeypatch.setitem(qd.BUILDERS, "poetry", failing)
    with pytest.raises(qd.DataError, match="task poetry: package x is missing"):
        qd.prepare(str(tmp_path), ["poetry"])
    with pytest.raises(ValueError, match="unknown task"):
        qd.prepare(str(tmp_path), ["nope"])


def test_default_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RNNAPPS_BENCH_DATA", str(tmp_path))
    assert qd.default_cache_dir() == str(tmp_path)
    monkeypatch.delenv("RNNAPPS_BENCH_DATA")
    assert qd.default_cache_dir().endswith(os.path.join(".cache", "rnnapps", "quality"))
