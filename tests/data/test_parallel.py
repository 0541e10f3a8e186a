"""Parallel texts for translation: sources, dispatch, vectorizers, detokenizing, training batches."""

import collections
import random
import socket

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from rnnapps.data import parallel_sources
from rnnapps.data import tfds as tfds_source
from rnnapps.data.parallel import (
    END_ID,
    END_TOKEN,
    START_ID,
    START_TOKEN,
    ParallelTexts,
    build_translation_vectorizers,
    detokenize,
    detokenize_graph,
    from_aligned_files,
    from_dataset,
    from_lists,
    from_pairs_file,
    from_tfds,
    parallel_texts,
    split_pairs,
    translation_batches,
)
from rnnapps.errors import ConfigError, DataError, DataUnavailableError
from rnnapps.text import tokenize

SPA = (
    "Go.\tVe.\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM) & #4986655 (cueyayotl)\n"
    "I am hungry.\tTengo hambre.\tCC-BY 2.0 (France) Attribution: tatoeba.org #1\n"
    "\n"
    'He said "hi".\tÉl dijo "hola".\tCC-BY\n'
)


def rows(data):
    """All (source, target) pairs as str, read inside `reading()` like the apps do."""
    with data.reading():
        return [(s.decode("utf-8"), t.decode("utf-8")) for s, t in data.dataset.as_numpy_iterator()]


@pytest.fixture
def spa_file(tmp_path):
    path = tmp_path / "spa.txt"
    path.write_text(SPA, encoding="utf-8")
    return path


# -- pairs file ---------------------------------------------------------------------
def test_pairs_file_ignores_extra_columns_and_blank_lines(spa_file, monkeypatch):
    monkeypatch.setattr(parallel_sources, "_LINES_PER_CHUNK", 2)  # several chunks through tf.data
    data = from_pairs_file(spa_file)
    assert rows(data) == [("Go.", "Ve."), ("I am hungry.", "Tengo hambre."), ('He said "hi".', 'Él dijo "hola".')]
    assert data.description == str(spa_file)
    swapped = from_pairs_file(spa_file, source_column=1, target_column=0)
    assert rows(swapped)[0] == ("Ve.", "Go.")


def test_pairs_file_invalid_utf8_bom_and_crlf(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_bytes(b"\xef\xbb\xbfcaf\xe9\tcaf\xc3\xa9\r\nok\tbien\r\n")
    assert rows(from_pairs_file(path)) == [("caf\ufffd", "café"), ("ok", "bien")]


def test_pairs_file_bad_line_reports_file_and_line(tmp_path):
    path = tmp_path / "spa.txt"
    path.write_text("Go.\tVe.\n\nonly one column\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"spa\.txt:3: found 1 column") as caught:
        rows(from_pairs_file(path))
    assert "expected at least 2" in str(caught.value)
    with pytest.raises(DataError, match=r"spa\.txt:3"):  # the vocabulary pass surfaces it too
        build_translation_vectorizers(from_pairs_file(path))


def test_pairs_file_errors(tmp_path, spa_file):
    with pytest.raises(DataError, match="file not found"):
        from_pairs_file(tmp_path / "missing.txt")
    with pytest.raises(ConfigError, match="source_column"):
        from_pairs_file(spa_file, source_column=-1)
    (tmp_path / "empty.txt").write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="empty"):
        build_translation_vectorizers(from_pairs_file(tmp_path / "empty.txt"))


# -- aligned files ------------------------------------------------------------------
def write_lines(path, lines, end="\n"):
    path.write_text("".join(line + end for line in lines), encoding="utf-8")
    return path


def test_aligned_files(tmp_path):
    source = write_lines(tmp_path / "train.de", ["Hallo Welt", "", "Danke", "", ""])
    target = write_lines(tmp_path / "train.en", ["Hello world", "", "Thanks"])
    # Line 2 is blank in both (skipped); blank lines at the end of one file are ignored.
    assert rows(from_aligned_files(source, target)) == [("Hallo Welt", "Hello world"), ("Danke", "Thanks")]


def test_aligned_files_with_different_counts_name_both(tmp_path):
    source = write_lines(tmp_path / "a.src", ["one", "two", "three", "four"])
    target = write_lines(tmp_path / "a.tgt", ["uno", "dos"])
    with pytest.raises(DataError, match=r"a\.src has 4 lines but .*a\.tgt has 2"):
        rows(from_aligned_files(source, target))
    with pytest.raises(DataError, match=r"a\.tgt has 2 lines but .*a\.src has 4"):
        rows(from_aligned_files(target, source))
    one_sided = write_lines(tmp_path / "b.tgt", ["uno", "", "tres"])
    with pytest.raises(DataError, match="has 2 lines but"):  # not blank: a real mismatch
        rows(from_aligned_files(write_lines(tmp_path / "b.src", ["one", "two"]), one_sided))


# -- lists and tf.data --------------------------------------------------------------
def test_from_lists_two_lists_and_pairs():
    assert rows(from_lists(["a", b"b"], ["x", "y"])) == [("a", "x"), ("b", "y")]
    data = from_lists([("Hello", "Hola"), ["Bye", "Adiós"]])
    assert rows(data) == [("Hello", "Hola"), ("Bye", "Adiós")]
    assert data.description == "2 in-memory pairs"


@pytest.mark.parametrize(
    "sources_, targets, message",
    [
        (["a", "b"], ["x"], "2 sources but 1 targets"),
        (["a", 3], ["x", "y"], "source of pair 1 must be a string"),
        (["a"], [None], "target of pair 0 must be a string"),
        ([], [], "empty"),
        ([("a", "b", "c")], None, "item 0 is not a"),
        (["just", "texts"], None, "item 0 is not a"),
        ("a string", None, "single string"),
    ],
)
def test_from_lists_errors(sources_, targets, message):
    with pytest.raises(DataError, match=message):
        from_lists(sources_, targets)


def test_from_dataset_tuples_dicts_and_batches():
    tuples = tf.data.Dataset.from_tensor_slices((["a", "b"], ["x", "y"]))
    assert rows(from_dataset(tuples)) == [("a", "x"), ("b", "y")]
    assert rows(from_dataset(tuples.batch(2))) == [("a", "x"), ("b", "y")]
    dicts = tf.data.Dataset.from_tensor_slices({"pt": ["olá"], "en": ["hello"]})
    assert rows(from_dataset(dicts)) == [("olá", "hello")]  # the dict's own order
    assert rows(from_dataset(dicts, source_key="en", target_key="pt")) == [("hello", "olá")]
    named = tf.data.Dataset.from_tensor_slices({"target": ["t"], "extra": ["e"], "source": ["s"]})
    assert rows(from_dataset(named)) == [("s", "t")]


def test_from_dataset_errors():
    with pytest.raises(DataError, match="strings"):
        from_dataset(tf.data.Dataset.from_tensor_slices((["a"], [1])))
    with pytest.raises(DataError, match="source_key"):
        from_dataset(tf.data.Dataset.from_tensor_slices({"a": ["1"], "b": ["2"], "c": ["3"]}))
    with pytest.raises(DataError, match="pairs"):
        from_dataset(tf.data.Dataset.from_tensor_slices(["only texts"]))


# -- TFDS ---------------------------------------------------------------------------
class FakeTranslationBuilder:
    """What `from_tfds` uses of a TFDS translation builder (ted_hrlr_translate layout)."""

    def __init__(self, supervised_keys=("pt", "en")):
        self.info = type("Info", (), {})()
        self.info.features = tfds.features.Translation(languages=["en", "pt"])
        self.info.supervised_keys = supervised_keys
        self.info.splits = {"train": None, "validation": None}

    def as_dataset(self, split):
        if split not in self.info.splits:
            raise ValueError(f"unknown split {split}")
        return tf.data.Dataset.from_tensor_slices({"en": ["hello", "thanks"], "pt": ["olá", "obrigado"]})


def test_tfds_translation_keys(monkeypatch):
    calls = []

    def fake(name, tfds_data_dir, download, local_copy=None):
        calls.append((name, tfds_data_dir, download))
        return builder

    monkeypatch.setattr(tfds_source, "prepared_builder", fake)
    builder = FakeTranslationBuilder()
    data = from_tfds("ted_hrlr_translate/pt_to_en", split="validation", tfds_data_dir="/tfds", download=False)
    assert rows(data) == [("olá", "hello"), ("obrigado", "thanks")]
    assert calls == [("ted_hrlr_translate/pt_to_en", "/tfds", False)]
    assert "pt -> en" in data.description
    builder = FakeTranslationBuilder(supervised_keys=None)  # direction from the config name
    assert rows(from_tfds("ted_hrlr_translate/en_to_pt"))[0] == ("hello", "olá")
    assert rows(from_tfds("wmt_t2t_translate/pt-en"))[0] == ("olá", "hello")
    assert rows(from_tfds("x/y", source_key="en", target_key="pt"))[0] == ("hello", "olá")
    with pytest.raises(DataError, match="feature 'de' not found"):
        from_tfds("x/y", source_key="de", target_key="en")
    with pytest.raises(DataError, match="split 'test'"):
        from_tfds("ted_hrlr_translate/pt_to_en", split="test")


def test_tfds_offline_fails_at_once_with_remedies(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(tfds_source, "internet_reachable", lambda *args, **kwargs: False)
    with pytest.raises(DataUnavailableError, match="no internet connection") as caught:
        parallel_texts("ted_hrlr_translate/pt_to_en", tfds_data_dir=str(tmp_path))
    message = str(caught.value)
    assert "internet" in message and "data_dir" in message and "pairs file" in message


# -- dispatch and split -------------------------------------------------------------
def test_parallel_texts_dispatch(tmp_path, spa_file, monkeypatch):
    data = from_lists(["a"], ["b"])
    assert parallel_texts(data) is data
    assert rows(parallel_texts(tf.data.Dataset.from_tensor_slices((["a"], ["b"])))) == [("a", "b")]
    assert rows(parallel_texts(str(spa_file)))[0] == ("Go.", "Ve.")
    assert rows(parallel_texts(spa_file))[0] == ("Go.", "Ve.")  # a pathlib.Path
    source = write_lines(tmp_path / "s.txt", ["uno"])
    target = write_lines(tmp_path / "t.txt", ["one"])
    assert rows(parallel_texts((str(source), str(target)))) == [("uno", "one")]
    assert rows(parallel_texts(source, target)) == [("uno", "one")]
    assert rows(parallel_texts(["a", "b"], ["x", "y"])) == [("a", "x"), ("b", "y")]
    assert rows(parallel_texts([("a", "x")])) == [("a", "x")]
    calls = []
    monkeypatch.setattr(parallel_sources, "from_tfds", lambda *args, **kwargs: calls.append((args, kwargs)) or data)
    assert parallel_texts("wmt14_translate/de-en", split="validation", download=False) is data
    assert calls == [(("wmt14_translate/de-en", "validation", None, None), {"tfds_data_dir": None, "download": False})]


@pytest.mark.parametrize("missing", ["spa.txt", "corpus/spa.tsv", ("spa.en", "spa.es")])
def test_parallel_texts_missing_files(missing, tmp_path, monkeypatch):
    monkeypatch.setattr(tfds_source, "prepared_builder", lambda *args, **kwargs: pytest.fail("must not reach TFDS"))
    missing = tuple(str(tmp_path / m) for m in missing) if isinstance(missing, tuple) else str(tmp_path / missing)
    with pytest.raises(DataError, match="not found|no such file"):
        parallel_texts(missing)
    with pytest.raises(DataError, match="not found|no such file"):
        parallel_texts("spa.txt")
    with pytest.raises(DataError, match="no data"):
        parallel_texts(None)


def test_split_pairs_by_source_hash():
    sources_ = [f"sentence {i}" for i in range(400)] + ["repeated"] * 3
    data = from_lists(sources_, [f"t{i}" for i in range(len(sources_))])
    train, validation = split_pairs(data, 0.25)
    assert isinstance(train, ParallelTexts) and "validation part" in validation.description
    train_rows, validation_rows = rows(train), rows(validation)
    assert sorted(train_rows + validation_rows) == sorted(rows(data))
    assert not {s for s, _ in train_rows} & {s for s, _ in validation_rows}
    assert 60 < len(validation_rows) < 140
    plain_train, _ = split_pairs(data.dataset, 0.25)
    assert len(list(plain_train)) == len(train_rows)


# -- vectorizers --------------------------------------------------------------------
PAIRS = [
    ("I am hungry.", "Tengo hambre."),
    ("I am cold.", "Tengo frío."),
    ("You are hungry!", "¡Tienes hambre!"),
    ("", "Nada."),
]


def test_build_translation_vectorizers_markers_unknowns_and_stats():
    source_vec, target_vec, stats = build_translation_vectorizers(from_lists(PAIRS))
    assert (START_TOKEN, END_TOKEN, START_ID, END_ID) == ("<start>", "<end>", 2, 3)
    assert target_vec.get_vocabulary()[:2] == [START_TOKEN, END_TOKEN]
    table = [None, None] + target_vec.get_vocabulary()
    assert table[START_ID] == START_TOKEN and table[END_ID] == END_TOKEN
    assert target_vec.get_vocabulary()[2:4] == [".", "hambre"]  # most frequent learned tokens next
    assert START_TOKEN not in source_vec.get_vocabulary()
    ids = source_vec.vectorize(tf.constant(["I am zebra"])).to_list()[0]
    assert ids[2] == 1 and ids[0] > 1  # an unknown word is id 1
    assert stats.num_pairs == 4
    assert (stats.source_max_length, stats.target_max_length) == (4, 4)
    assert stats.source_mean_length == pytest.approx((4 + 4 + 4 + 0) / 4)
    assert stats.target_mean_length == pytest.approx((3 + 3 + 4 + 2) / 4)


def test_build_translation_vectorizers_limits_and_levels():
    source_vec, target_vec, stats = build_translation_vectorizers(
        PAIRS, source_level="char", target_max_tokens=2, min_count=2, source_max_length=5, target_max_length=2
    )
    assert target_vec.get_vocabulary() == [START_TOKEN, END_TOKEN, ".", "hambre"]
    assert source_vec.level == "char" and " " in source_vec.get_vocabulary()
    assert source_vec.max_length == 5 and target_vec.max_length == 2
    assert stats.source_max_length == 15 and stats.source_truncated == 3 and stats.target_truncated == 3
    with pytest.raises(DataError, match="empty"):
        build_translation_vectorizers(ParallelTexts(from_lists(PAIRS).dataset.take(0), description="nothing"))


# -- training batches ---------------------------------------------------------------
def varied_pairs(count=120, seed=0):
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
    pairs = []
    for index in range(count):
        source = " ".join(rng.choice(words) for _ in range(rng.randint(1, 12)))
        target = " ".join(rng.choice(words).upper() for _ in range(rng.randint(0, 9)))
        pairs.append((f"{source} n{index}", target))  # unique sources
    return pairs


@pytest.fixture(scope="module")
def varied():
    pairs = varied_pairs()
    source_vec, target_vec, _ = build_translation_vectorizers(from_lists(pairs), lowercase=False)
    return pairs, source_vec, target_vec


def batch_rows(batches):
    """Every row of every batch as (source ids, decoder inputs, targets) tuples without padding."""
    result = []
    for (source, decoder_inputs), targets in batches:
        source, decoder_inputs, targets = source.numpy(), decoder_inputs.numpy(), targets.numpy()
        assert source.dtype == decoder_inputs.dtype == targets.dtype == np.int32
        assert decoder_inputs.shape == targets.shape
        source_lengths = (source != 0).sum(axis=1)
        target_lengths = (targets != 0).sum(axis=1)
        # Each batch is padded only to its own longest source and target.
        assert source.shape[1] == source_lengths.max() and targets.shape[1] == target_lengths.max()
        for s, d, t, s_len, t_len in zip(source, decoder_inputs, targets, source_lengths, target_lengths):
            assert np.all(s[s_len:] == 0) and np.all(t[t_len:] == 0) and np.all(d[t_len:] == 0)
            assert d[0] == START_ID and t[t_len - 1] == END_ID
            np.testing.assert_array_equal(d[1:t_len], t[: t_len - 1])  # shifted by one
            result.append((tuple(s[:s_len]), tuple(d[:t_len]), tuple(t[:t_len])))
    return result


def test_translation_batches_shift_pad_and_cover_every_pair_once(varied):
    pairs, source_vec, target_vec = varied
    batches = translation_batches(from_lists(pairs), source_vec, target_vec, 8, seed=1, sort_chunk=4)
    all_source_ids = source_vec.vectorize(tf.constant([s for s, _ in pairs])).to_list()
    all_target_ids = target_vec.vectorize(tf.constant([t for _, t in pairs])).to_list()
    expected = collections.Counter(
        (tuple(source_ids), (START_ID, *target_ids), (*target_ids, END_ID))
        for source_ids, target_ids in zip(all_source_ids, all_target_ids)
    )
    for _ in range(2):  # the second epoch reads the cache, reshuffled
        epoch = batch_rows(batches)
        assert collections.Counter(epoch) == expected
    # Chunks of 4 batches are sorted by source length: their batches do not overlap in length.
    widths = [[len(row[0]) for row in batch_rows([batch])] for batch in batches]
    for chunk in range(0, len(widths) - 4, 4):
        spans = sorted((min(w), max(w)) for w in widths[chunk : chunk + 4])
        assert all(high <= low for (_, high), (low, _) in zip(spans, spans[1:]))


def test_translation_batches_seed_reproducible_and_empty_source(varied):
    pairs, source_vec, target_vec = varied

    def order(seed):
        batches = translation_batches(from_lists(pairs), source_vec, target_vec, 8, seed=seed)
        return [row[0] for row in batch_rows(batches)]

    assert order(3) == order(3)
    assert order(3) != order(4)
    data = from_lists(["", "alpha beta"], ["ALPHA", ""])
    (source, decoder_inputs), targets = next(iter(translation_batches(data, source_vec, target_vec, 4, shuffle=False, sort_chunk=None)))
    np.testing.assert_array_equal(source.numpy()[0], [1, 0])  # empty source: one unknown id
    alpha = target_vec.vectorize(tf.constant(["ALPHA"])).to_list()[0][0]
    np.testing.assert_array_equal(decoder_inputs.numpy(), [[START_ID, alpha], [START_ID, 0]])
    np.testing.assert_array_equal(targets.numpy(), [[alpha, END_ID], [END_ID, 0]])
    with pytest.raises(DataError, match="batch_size"):
        translation_batches(data, source_vec, target_vec, 0)


def test_translation_batches_truncate_to_max_lengths():
    source_vec, target_vec, _ = build_translation_vectorizers(PAIRS, source_max_length=2, target_max_length=1)
    batches = translation_batches(from_lists(PAIRS), source_vec, target_vec, 4, shuffle=False)
    ((source, decoder_inputs), targets), = list(batches)
    assert source.shape[1] == 2 and decoder_inputs.shape[1] == targets.shape[1] == 2  # 1 token + marker


# -- detokenizing -------------------------------------------------------------------
TRICKY = [
    "¿Qué hora es? Son las 20:35, ¿no?",
    "I don't know (really) [maybe] {x}; 50% of 1,000.5 items: ok!",
    "Wait... what?! It's a well-known 2021-03-03 and/or 1/2 thing.",
    "我爱你。你好吗？「東京」に行きます、ありがとう！",
    "Mixed 中文 text, with English 和 数字 3.14。",
    "« Bonjour » — dit-il : “oui”…",
    "emoji 👍🏽 ok 🇫🇷 , ( ) - / .",
    "",
]


@pytest.mark.parametrize("level", ["word", "char"])
def test_detokenize_python_and_graph_agree(level):
    token_lists = [[t.decode("utf-8") for t in row] for row in tokenize(tf.constant(TRICKY), level, lowercase=False).to_list()]
    rng = random.Random(0)
    alphabet = ["a", "Bé", "3", "12", ".", ",", ":", "-", "/", "(", ")", "¿", "?", "!", "%", "我", "。", "「", "」", "'", '"', "«", "x-y"]
    token_lists += [[rng.choice(alphabet) for _ in range(rng.randint(0, 12))] for _ in range(300)]
    graph = detokenize_graph(tf.ragged.constant(token_lists, dtype=tf.string, ragged_rank=1), level)
    assert [text.decode("utf-8") for text in graph.numpy()] == [detokenize(tokens, level) for tokens in token_lists]


def test_detokenize_restores_punctuation_spacing():
    for text in TRICKY[:4]:
        tokens = [t.decode("utf-8") for t in tokenize(tf.constant([text]), "word", lowercase=False).to_list()[0]]
        assert detokenize(tokens) == text
    assert detokenize(["i", "am", "hungry", "."]) == "i am hungry."
    assert detokenize(["h", "i", " ", "!"], level="char") == "hi !"
    assert detokenize([b"caf\xc3\xa9", b"!", "", "ok"]) == "café! ok"  # bytes, empty tokens dropped
    dense = tf.constant([["hola", ",", "mundo", ""], ["", "", "", ""]])
    np.testing.assert_array_equal(detokenize_graph(dense).numpy(), [b"hola, mundo", b""])
    with pytest.raises(ConfigError, match="level"):
        detokenize(["a"], level="byte")
