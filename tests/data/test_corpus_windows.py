"""Language-model data: corpus scan, token ids, shuffled windows and stateful (TBPTT) windows."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnapps.data.corpus import from_text, lm_windows, scan_corpus, stateful_windows, token_ids
from rnnapps.errors import ConfigError, DataError
from rnnapps.text import TextVectorizer, build_vocabulary


def fitted(corpus, level="word", **options):
    vectorizer = TextVectorizer(level=level, lowercase=False, **options)
    vectorizer.set_vocabulary(scan_corpus(corpus, vectorizer).vocabulary)
    return vectorizer


def document_ids(corpus, vectorizer):
    """Each document's full id list, from `token_ids`."""
    ids = {}
    for chunk in token_ids(corpus, vectorizer).as_numpy_iterator():
        ids.setdefault(int(chunk["document"]), []).extend(chunk["ids"].tolist())
    return [ids[d] for d in sorted(ids)]


def expected_windows(documents, length):
    """The windows of the module docstring, computed the obvious way."""
    windows = []
    for ids in documents:
        for start in range(0, max(0, len(ids) - 1), length):
            window = ids[start : start + length + 1]
            windows.append(window + [0] * (length + 1 - len(window)))
    return windows


def all_windows(batches):
    """Unshuffled `lm_windows` batches -> list of windows [T + 1], checking the shift on the way."""
    windows = []
    for inputs, targets in batches.as_numpy_iterator():
        assert inputs.dtype == np.int32 and targets.dtype == np.int32
        np.testing.assert_array_equal(inputs[:, 1:], targets[:, :-1])
        windows.extend(np.concatenate([inputs, targets[:, -1:]], axis=1).tolist())
    return windows


DOCS = ["the cat sat on the mat and the dog sat too", "one", "a b c d e f g h i j k", "x y"]


# -- scan -------------------------------------------------------------------------------
def test_scan_counts_and_vocabulary():
    corpus = from_text(DOCS, chunk_chars=8)
    vectorizer = TextVectorizer(level="word")
    stats = scan_corpus(corpus, vectorizer)
    tokens = [word for doc in DOCS for word in doc.split()]
    assert stats.num_documents == 4 and stats.num_tokens == len(tokens) == 25
    assert stats.num_chars == sum(len(doc) for doc in DOCS)
    assert stats.tokens_per_document.tolist() == [11, 1, 11, 2] and stats.chunk_tokens.sum() == 25
    assert stats.vocabulary == build_vocabulary([tokens]) and stats.vocabulary[:2] == ["the", "sat"]
    assert stats.num_unknown == 0 and not vectorizer.get_vocabulary()  # the vectorizer is not modified
    assert stats.num_windows(4) == 3 + 0 + 3 + 1 and stats.num_windows(10) == 1 + 0 + 1 + 1


def test_scan_max_tokens_min_count_and_counting_only():
    corpus = from_text("a a a b b c d d d d\n")
    vectorizer = TextVectorizer(level="word")
    assert scan_corpus(corpus, vectorizer, min_count=2).vocabulary == ["d", "a", "b"]
    limited = scan_corpus(corpus, vectorizer, max_tokens=2)
    assert limited.vocabulary == ["d", "a"] and limited.num_unknown == 3
    vectorizer.set_vocabulary(["a", "b"])
    counted = scan_corpus(corpus, vectorizer)  # a vocabulary exists: counting only
    assert counted.vocabulary == ["a", "b"] and counted.num_unknown == 5 and counted.num_tokens == 10
    rebuilt = scan_corpus(corpus, vectorizer, build=True)
    assert rebuilt.vocabulary == ["d", "a", "b", "c"]
    with pytest.raises(ConfigError, match="no vocabulary"):
        scan_corpus(corpus, TextVectorizer(), build=False)


def test_scan_char_level_keeps_every_character():
    text = "ab a\n\u00e9\U0001F44D\U0001F3FD\n"
    stats = scan_corpus(from_text(text), TextVectorizer(level="char", lowercase=False))
    assert stats.num_tokens == 8 and stats.num_chars == 9  # the emoji with its skin tone is one token
    assert set(stats.vocabulary) == {"a", "b", " ", "\n", "\u00e9", "\U0001F44D\U0001F3FD"}
    assert stats.vocabulary[:2] == ["\n", "a"]  # twice each: ties go by the token


def test_scan_empty_corpus():
    for corpus in (from_text(""), from_text(["  ", "\n"])):
        with pytest.raises(DataError, match="contains no tokens"):
            scan_corpus(corpus, TextVectorizer(level="word"))
    stats = scan_corpus(from_text(""), TextVectorizer(level="word"), allow_empty=True)
    assert stats.num_tokens == 0 and stats.num_documents == 1 and stats.vocabulary == []


# -- token ids --------------------------------------------------------------------------
def test_word_level_unknown_words_are_id_1():
    vectorizer = TextVectorizer(vocabulary=["the", "cat"], level="word")
    assert document_ids(from_text(["the zebra cat", "quokka"]), vectorizer) == [[2, 1, 3], [1]]
    with pytest.raises(ConfigError, match="no vocabulary"):
        token_ids(from_text("x"), TextVectorizer())


def test_token_ids_do_not_truncate_chunks_to_max_length():
    vectorizer = TextVectorizer(vocabulary=list("ab"), level="char", max_length=2)
    assert document_ids(from_text("abab ba"), vectorizer) == [[2, 3, 2, 3, 1, 3, 2]]


# -- lm_windows -------------------------------------------------------------------------
def test_lm_windows_shift_boundaries_documents_and_padding():
    corpus = from_text(DOCS, chunk_chars=6)
    vectorizer = fitted(corpus)
    documents = document_ids(corpus, vectorizer)
    windows = all_windows(lm_windows(corpus, vectorizer, 4, 2, shuffle=False))
    assert windows == expected_windows(documents, 4)
    # Window k+1's first input is window k's last target, within a document.
    assert windows[1][0] == windows[0][-1] and windows[2][0] == windows[1][-1]
    # The one-token document gives no window; the last window of a document is padded with 0.
    assert [w for w in windows if w[0] == documents[1][0]] == []
    assert windows[2] == documents[0][8:11] + [0, 0]
    # Every token except a document's first is a target exactly once.
    targets = [t for w in windows for t in w[1:] if t != 0]
    assert sorted(targets) == sorted(t for ids in documents for t in ids[1:])


def test_lm_windows_char_level_keeps_newlines_across_chunks():
    text = "ab\ncd ef\n\ngh\n" * 3
    corpus = from_text(text, chunk_chars=4)
    vectorizer = fitted(corpus, level="char")
    windows = all_windows(lm_windows(corpus, vectorizer, 5, 3, shuffle=False))
    stream = [windows[0][0]] + [t for w in windows for t in w[1:] if t != 0]
    assert "".join(vectorizer.ids_to_tokens(stream)) == text


def test_lm_windows_shuffle_is_bounded_reproducible_and_complete():
    corpus = from_text([" ".join(f"w{i % 17}" for i in range(n, n + 40)) for n in range(5)])
    vectorizer = fitted(corpus)
    ordered = sorted(map(tuple, all_windows(lm_windows(corpus, vectorizer, 3, 4, shuffle=False))))
    first = all_windows(lm_windows(corpus, vectorizer, 3, 4, shuffle_buffer=8, seed=7))
    again = all_windows(lm_windows(corpus, vectorizer, 3, 4, shuffle_buffer=8, seed=7))
    other = all_windows(lm_windows(corpus, vectorizer, 3, 4, shuffle_buffer=8, seed=8))
    assert first == again and first != other
    assert sorted(map(tuple, first)) == ordered
    batches = lm_windows(corpus, vectorizer, 3, 4, shuffle_buffer=8, seed=7)
    epoch_one, epoch_two = all_windows(batches), all_windows(batches)
    assert epoch_one != epoch_two  # reshuffled every epoch


def test_lm_windows_disk_cache_and_errors(tmp_path):
    corpus = from_text("a b c d e f")
    vectorizer = fitted(corpus)
    cached = lm_windows(corpus, vectorizer, 2, 2, shuffle=False, cache=str(tmp_path / "windows"))
    assert all_windows(cached) == all_windows(cached) == all_windows(lm_windows(corpus, vectorizer, 2, 2, shuffle=False))
    assert list(tmp_path.iterdir())
    with pytest.raises(ConfigError, match="sequence_length"):
        lm_windows(corpus, vectorizer, 0, 2)
    with pytest.raises(ConfigError, match="batch_size"):
        lm_windows(corpus, vectorizer, 2, 0)
    with pytest.raises(ConfigError, match="no vocabulary"):
        lm_windows(corpus, TextVectorizer(), 2, 2)


# -- stateful windows -------------------------------------------------------------------
def stateful_rows(batches, rows):
    """Batches -> per-row lists of (window, reset), checking shapes and the shift."""
    per_row = [[] for _ in range(rows)]
    for (inputs, reset), targets in batches.as_numpy_iterator():
        assert inputs.shape == targets.shape and inputs.shape[0] == rows and reset.shape == (rows,)
        assert reset.dtype == bool
        np.testing.assert_array_equal(inputs[:, 1:], targets[:, :-1])
        for row in range(rows):
            per_row[row].append((inputs[row].tolist() + [int(targets[row, -1])], bool(reset[row])))
    return per_row


def check_stateful(corpus, vectorizer, length, rows, stats=None):
    """Reading row 0's windows, then row 1's, ... gives the corpus' windows in order, with
    resets exactly at stream and document starts and padding only at the end of a row."""
    documents = document_ids(corpus, vectorizer)
    expected = expected_windows(documents, length)
    document_starts, index = set(), 0
    for ids in documents:
        count = -(-(len(ids) - 1) // length) if len(ids) >= 2 else 0
        if count:
            document_starts.add(index)
        index += count
    per_row = stateful_rows(stateful_windows(corpus, vectorizer, length, rows, stats), rows)
    assert len(per_row[0]) == -(-len(expected) // rows)
    windows, resets, stream_starts, lengths = [], [], set(), []
    for row in per_row:
        real = [item for item in row if any(item[0])]
        assert row[len(real):] == [([0] * (length + 1), True)] * (len(row) - len(real))
        stream_starts.add(len(windows))
        windows += [window for window, _ in real]
        resets += [reset for _, reset in real]
        lengths.append(len(real))
    assert windows == expected
    assert resets == [i in document_starts or i in stream_starts for i in range(len(windows))]
    assert max(lengths) - min(lengths) <= 1  # streams of near-equal length: padding only in the last batch
    return per_row


def test_stateful_rows_continue_and_reset_at_stream_and_document_starts():
    corpus = from_text(DOCS, chunk_chars=6)
    vectorizer = fitted(corpus)
    stats = scan_corpus(corpus, vectorizer)
    per_row = check_stateful(corpus, vectorizer, 3, 2, stats)
    # Row b of batch i+1 continues row b of batch i token for token.
    for row in per_row:
        for (before, _), (after, reset) in zip(row, row[1:]):
            if not reset:
                assert after[0] == before[-1]
    check_stateful(corpus, vectorizer, 2, 3)  # stats=None: scanned (counting only)


def test_stateful_more_rows_than_windows_and_no_window():
    corpus = from_text("a b c d")
    vectorizer = fitted(corpus)
    per_row = check_stateful(corpus, vectorizer, 8, 4)
    assert len(per_row[0]) == 1 and [r for row in per_row for _, r in row] == [True] * 4
    with pytest.raises(DataError, match="no document of 2 or more tokens"):
        stateful_windows(from_text(["a", "b"]), vectorizer, 4, 2)


# -- properties -------------------------------------------------------------------------
def ids_with_windows(documents):
    return [ids for ids in documents if len(ids) >= 2]


WORDS = st.lists(st.sampled_from(["ab", "c", "de", "f", "ghi"]), max_size=25).map(" ".join)


@settings(max_examples=8, deadline=None)
@given(documents=st.lists(WORDS, min_size=1, max_size=4), length=st.integers(1, 6), rows=st.integers(1, 4), chunk=st.integers(2, 12))
def test_windows_property_targets_rebuild_the_token_streams(documents, length, rows, chunk):
    corpus = from_text(documents, chunk_chars=chunk)
    vectorizer = TextVectorizer(vocabulary=["ab", "c", "de", "f", "ghi"], level="word")
    streams = document_ids(corpus, vectorizer)
    expected = expected_windows(streams, length)
    windows = all_windows(lm_windows(corpus, vectorizer, length, rows, shuffle=False))
    assert windows == expected
    # Each document's first token followed by its windows' real targets is the document.
    rebuilt, position = [], 0
    for ids in ids_with_windows(streams):
        count = -(-(len(ids) - 1) // length)
        rebuilt.append([windows[position][0]] + [t for w in windows[position : position + count] for t in w[1:] if t])
        position += count
    assert rebuilt == ids_with_windows(streams)
    if expected:
        check_stateful(corpus, vectorizer, length, rows)
