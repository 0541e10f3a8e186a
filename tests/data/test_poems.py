"""Poem loaders (chinese-poetry JSON, tang.npz, text), forms, filters, sequences and batches."""

import json

import numpy as np
import pytest

from rnnapps.data.poem_batches import END, START, poem_batches, poem_sequence, scan_poems
from rnnapps.data.poems import Poem, canonical_form, is_valid_poem, poem_form, poem_lines, poem_source
from rnnapps.errors import ConfigError, DataError
from rnnapps.text import TextVectorizer

JING_YE_SI = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
DENG_GAO = "风急天高猿啸哀，渚清沙白鸟飞回。无边落木萧萧下，不尽长江滚滚来。"
CHUN_WANG = "国破山河在，城春草木深。感时花溅泪，恨别鸟惊心。烽火连三月，家书抵万金。白头搔更短，浑欲不胜簪。"
TRADITIONAL = "春眠不覺曉，處處聞啼鳥。夜來風雨聲，花落知多少。"


def write_json(path, poems):
    path.write_text(json.dumps(poems, ensure_ascii=False), encoding="utf-8")
    return path


def test_forms_are_detected_and_strict_validity_needs_the_right_marks():
    assert poem_form(JING_YE_SI) == "wujue" and poem_form(DENG_GAO) == "qijue" and poem_form(CHUN_WANG) == "wulv"
    assert poem_form(TRADITIONAL, strict=True) == "wujue"  # traditional characters as they are
    assert poem_form("春眠不觉晓？处处闻啼鸟！夜来风雨声，花落知多少。") == "wujue"
    assert poem_form("春眠不觉晓？处处闻啼鸟！夜来风雨声，花落知多少。", strict=True) is None
    for broken in ("床前明月光，疑是地上霜。举头望明月，低头思故乡", "床前明月光，疑是地上霜。", "床前明月，疑是地上霜。举头望明月，低头思故乡。", ""):
        assert poem_form(broken) is None and not is_valid_poem(broken, "wujue")
    assert poem_form("床前明月a，疑是地上霜。举头望明月，低头思故乡。") is None
    assert is_valid_poem("随便", "free") and not is_valid_poem("", "free")
    assert poem_lines(DENG_GAO)[3] == "不尽长江滚滚来"
    assert canonical_form("七绝") == "qijue" and canonical_form(None) == "free"
    with pytest.raises(ConfigError, match="unknown poem form 'sonnet'"):
        canonical_form("sonnet")


def test_chinese_poetry_json_glob_reads_every_file_in_order(tmp_path):
    write_json(tmp_path / "poet.tang.0.json", [
        {"title": "静夜思", "author": "李白", "paragraphs": ["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"], "id": "x"},
        {"title": "no paragraphs", "author": "?"},
        "not an object",
    ])
    write_json(tmp_path / "poet.tang.1000.json", [
        {"title": "登高", "author": "杜甫", "paragraphs": ["风急天高猿啸哀，渚清沙白鸟飞回。", "无边落木萧萧下，不尽长江滚滚来。（一作：来）"]},
        {"title": "春晓", "author": "孟浩然", "paragraphs": [" 春眠不覺曉，處處聞啼鳥。", "夜來風雨聲，花落知多少。"]},
    ])
    source = poem_source(str(tmp_path / "poet.tang.*.json"))
    poems = list(source)
    assert [p.title for p in poems] == ["静夜思", "登高", "春晓"]
    assert poems[0] == Poem(JING_YE_SI, "静夜思", "李白")
    assert poems[1].text == DENG_GAO  # the bracketed note is gone
    assert poems[2].text == TRADITIONAL
    assert list(source) == poems  # re-iterable: the files are read again
    assert [p.title for p in poem_source(str(tmp_path / "poet.tang.*.json"), author="杜甫")] == ["登高"]
    assert [p.title for p in poem_source(str(tmp_path / "poet.tang.*.json"), form="qijue")] == ["登高"]
    assert [p.title for p in poem_source(str(tmp_path / "poet.tang.*.json"), form=["wujue"], max_length=24)] == ["静夜思", "春晓"]


def test_tang_npz_layout_is_decoded_between_start_and_end_markers(tmp_path):
    words = ["</s>", "<START>", "<EOP>", "，", "。"] + sorted(set(JING_YE_SI + DENG_GAO) - set("，。"))
    word2ix = {w: i for i, w in enumerate(words)}
    rows = []
    for text in (JING_YE_SI, DENG_GAO):
        ids = [word2ix["<START>"]] + [word2ix[c] for c in text] + [word2ix["<EOP>"]]
        rows.append([word2ix["</s>"]] * (40 - len(ids)) + ids)  # left padding, as in the tutorials
    np.savez(tmp_path / "tang.npz", data=np.array(rows), ix2word=np.array({i: w for w, i in word2ix.items()}), word2ix=np.array(word2ix))
    poems = list(poem_source(str(tmp_path / "tang.npz")))
    assert [p.text for p in poems] == [JING_YE_SI, DENG_GAO]
    np.savez(tmp_path / "other.npz", numbers=np.arange(3))
    with pytest.raises(DataError, match="not a tang.npz poetry file"):
        list(poem_source(str(tmp_path / "other.npz")))
    (tmp_path / "fake.npz").write_bytes(b"\x80\x04not a zip")
    with pytest.raises(DataError, match="is not an .npz archive"):
        list(poem_source(str(tmp_path / "fake.npz")))
    (tmp_path / "cut.npz").write_bytes((tmp_path / "tang.npz").read_bytes()[:300])
    with pytest.raises(DataError, match="could not read .*cut.npz as an .npz archive"):
        list(poem_source(str(tmp_path / "cut.npz")))


class _WritesAFile:
    """A pickle payload: unpickling it with numpy's default loader would create `path`."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return exec, (f"open({self.path!r}, 'w').write('pwned')",)


def test_a_crafted_tang_npz_cannot_run_code(tmp_path):
    target = tmp_path / "PWNED"
    payload = np.empty((), dtype=object)
    payload[()] = {0: "<START>", 1: _WritesAFile(str(target))}
    np.savez(tmp_path / "tang.npz", data=np.zeros((1, 4), "int64"), ix2word=payload)
    with pytest.raises(DataError, match="refusing to unpickle builtins.exec"):
        list(poem_source(str(tmp_path / "*.npz")))  # found through a glob too
    assert not target.exists()


def test_text_layouts_title_tab_author_tab_poem_colon_and_bare(tmp_path):
    path = tmp_path / "poems.txt"
    path.write_text(
        f"静夜思\t李白\t{JING_YE_SI}\n\n登高\t{DENG_GAO}\r\n春望：{CHUN_WANG}\n{TRADITIONAL}\n  \n",
        encoding="utf-8",
    )
    poems = list(poem_source(str(path)))
    assert [(p.title, p.author, p.form) for p in poems] == [
        ("静夜思", "李白", "wujue"), ("登高", "", "qijue"), ("春望", "", "wulv"), ("", "", "wujue"),
    ]
    assert [p.text for p in poems] == [JING_YE_SI, DENG_GAO, CHUN_WANG, TRADITIONAL]
    assert len(list(poem_source([JING_YE_SI, Poem(DENG_GAO, "登高")]))) == 2


def test_bad_corpora_get_clear_errors(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        poem_source(str(tmp_path / "missing.json"))
    with pytest.raises(DataError, match="no files match"):
        poem_source(str(tmp_path / "poet.*.json"))
    with pytest.raises(DataError, match="the corpus is empty"):
        poem_source([])
    (tmp_path / "broken.json").write_text('[{"paragraphs": ["床前', encoding="utf-8")
    with pytest.raises(DataError, match="broken.json is not valid JSON"):
        list(poem_source(str(tmp_path / "broken.json")))
    write_json(tmp_path / "number.json", 42)
    with pytest.raises(DataError, match="expected a list of poems"):
        list(poem_source(str(tmp_path / "number.json")))
    (tmp_path / "empty.txt").write_text("\n \n", encoding="utf-8")
    with pytest.raises(DataError, match="holds no poems"):
        scan_poems(poem_source(str(tmp_path / "empty.txt")))
    with pytest.raises(DataError, match=r"none of the 2 poems .* matches the filters \(form qilv\); forms found: wujue 1, qijue 1"):
        source = poem_source([JING_YE_SI, DENG_GAO], form="qilv")
        scan_poems(source, filters=source.describe_filters())
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe" + JING_YE_SI.encode("utf-8") + b"\n")
    assert list(poem_source(str(tmp_path / "bad.txt")))[0].text.endswith(JING_YE_SI)  # bytes repaired, not a crash


def test_scan_builds_a_vocabulary_that_starts_with_markers_and_marks():
    source = poem_source([Poem(JING_YE_SI, "静夜思"), Poem(DENG_GAO)])
    stats = scan_poems(source, TextVectorizer(level="char", lowercase=False))
    assert stats.vocabulary[:4] == [START, END, "，", "。"]
    assert "静" in stats.vocabulary and len(set(stats.vocabulary)) == len(stats.vocabulary)
    assert stats.forms == {"wujue": 1, "qijue": 1} and stats.num_chars == len(JING_YE_SI) + len(DENG_GAO)
    train, held_out = poem_source([f"{JING_YE_SI}{i}" for i in range(40)]).split(0.3)
    assert 0 < len(list(held_out)) < 40 and len(list(train)) + len(list(held_out)) == 40


def test_batches_score_the_poem_and_end_but_not_the_title():
    assert poem_sequence(Poem(JING_YE_SI, "静夜思")) == f"静夜思{START}{JING_YE_SI}{END}"
    assert poem_sequence(Poem(JING_YE_SI, "静夜思"), titles=False) == f"{START}{JING_YE_SI}{END}"
    long_title = "酬郓州令狐相公官舍言怀见寄兼呈乐天"  # titles only prime: the first 8 characters do
    assert poem_sequence(Poem(JING_YE_SI, long_title)) == f"{long_title[:8]}{START}{JING_YE_SI}{END}"
    source = poem_source([Poem(JING_YE_SI, "静夜思"), Poem(DENG_GAO)])
    vectorizer = TextVectorizer(level="char", lowercase=False)
    vectorizer.set_vocabulary(scan_poems(source, vectorizer).vocabulary)
    batches, reader = poem_batches(source, vectorizer, batch_size=2)
    with reader.reading():
        (inputs, targets), = list(batches)
    inputs, targets = inputs.numpy(), targets.numpy()
    assert inputs.shape == targets.shape == (2, len(DENG_GAO) + 1)
    assert (targets[0, :2] == 0).all() and targets[0, 2] == 0  # 静夜 -> 夜思 and 思 -> START are not scored
    assert inputs[0, 3] == 2 and (targets[0, 3:3 + len(JING_YE_SI) + 1] > 0).all()  # START, then poem + END
    assert targets[0, 3 + len(JING_YE_SI)] == 3  # END id
    assert inputs[1, 0] == 2 and (targets[1] > 0).sum() == len(DENG_GAO) + 1


def test_an_untitled_share_of_the_poems_is_drawn_afresh_every_pass():
    poems = [Poem(JING_YE_SI[:-2] + chr(0x4E00 + i) + "。", "静夜思") for i in range(200)]  # one text each
    source = poem_source(poems)
    vectorizer = TextVectorizer(level="char", lowercase=False)
    vectorizer.set_vocabulary(scan_poems(source, vectorizer).vocabulary)
    start_id = vectorizer.token_to_id(START)

    def untitled_rows(batches, reader):
        with reader.reading():
            return [tuple(row) for inputs, _ in batches for row in inputs.numpy() if row[0] == start_id]

    def passes(share, seed):
        batches, reader = poem_batches(source, vectorizer, 50, untitled_share=share, seed=seed)
        return [untitled_rows(batches, reader) for _ in range(2)]  # one dataset, two epochs

    assert passes(0.0, 0) == [[], []]
    assert [len(rows) for rows in passes(1.0, 0)] == [200, 200]
    first, second = passes(0.25, 3)
    assert 25 <= len(first) <= 75 and 25 <= len(second) <= 75  # about a quarter (binomial, 200 draws)
    assert set(first) != set(second)  # other poems drawn afresh each pass...
    assert passes(0.25, 3) == [first, second]  # ...and reproducible from the seed
    titled, reader = poem_batches(source, vectorizer, 50, titles=False, untitled_share=0.0)
    assert len(untitled_rows(titled, reader)) == 200


def test_a_file_that_vanishes_while_training_becomes_a_data_error(tmp_path):
    path = tmp_path / "poems.txt"
    path.write_text(JING_YE_SI + "\n", encoding="utf-8")
    source = poem_source(str(path))
    vectorizer = TextVectorizer(level="char", lowercase=False)
    vectorizer.set_vocabulary(scan_poems(source, vectorizer).vocabulary)
    path.unlink()
    batches, reader = poem_batches(source, vectorizer, batch_size=2)
    with pytest.raises(DataError, match="could not read"):
        with reader.reading():
            list(batches)


def test_a_poem_string_is_never_read_as_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("白日依山尽，黄河入海流。欲穷千里目，更上一层楼。\nSECRET=1\n")
    texts = [p.text for p in poem_source(["file:.env", "床前明月光，疑是地上霜。举头望明月，低头思故乡。"])]
    assert texts == ["file:.env", "床前明月光，疑是地上霜。举头望明月，低头思故乡。"]  # strings stay strings
    assert not any("白日" in text for text in texts)  # .env was not read


@pytest.mark.parametrize("pattern", ["/**", "/**/*.json", "~/**/*.txt"])
def test_a_recursive_glob_over_the_whole_disk_is_refused(pattern):
    with pytest.raises(DataError, match="whole disk or home folder"):
        list(poem_source(pattern))
