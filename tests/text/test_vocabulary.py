"""Vocabularies: counting (max_tokens, min_count, tie order), JSON save/load and damaged files."""

import json

import pytest

from rnnapps.errors import DataError, ModelFileError
from rnnapps.text import OOV_TOKEN, PAD_TOKEN, build_vocabulary, load_vocabulary, save_vocabulary

BATCHES = [["b", "a", "c", "a"], ["d", "a", "b"], ["c", "e"]]  # a3 b2 c2 d1 e1


def test_frequency_order_with_ties_broken_by_token():
    assert build_vocabulary(BATCHES) == ["a", "b", "c", "d", "e"]


def test_max_tokens_keeps_the_most_frequent():
    assert build_vocabulary(BATCHES, max_tokens=3) == ["a", "b", "c"]


def test_min_count_drops_rare_tokens():
    assert build_vocabulary(BATCHES, min_count=2) == ["a", "b", "c"]
    assert build_vocabulary(BATCHES, min_count=3) == ["a"]
    assert build_vocabulary(BATCHES, max_tokens=2, min_count=2) == ["a", "b"]


def test_bytes_tokens_are_decoded_and_reserved_tokens_dropped():
    batches = [[b"\xe6\x98\xa5", b"x", b""], [OOV_TOKEN.encode(), b"x", PAD_TOKEN.encode()]]
    assert build_vocabulary(batches) == ["x", "春"]


def test_accepts_a_one_shot_generator():
    assert build_vocabulary(tokens for tokens in BATCHES) == ["a", "b", "c", "d", "e"]


def test_invalid_limits_raise_data_error():
    with pytest.raises(DataError):
        build_vocabulary(BATCHES, max_tokens=0)
    with pytest.raises(DataError):
        build_vocabulary(BATCHES, min_count=0)


def test_save_load_round_trip_with_awkward_tokens(tmp_path):
    vocabulary = ["\n", " ", "\t", "\U0001F44D\U0001F3FD", "春", '"', "\\", "don't", "\r\n", "\u200d", "[x]"]
    path = tmp_path / "vocabulary.json"
    save_vocabulary(vocabulary, path)
    assert load_vocabulary(str(path)) == vocabulary
    # Stored as readable UTF-8 JSON.
    assert "春" in path.read_text(encoding="utf-8")
    assert json.loads(path.read_text(encoding="utf-8")) == vocabulary


@pytest.mark.parametrize(
    "content",
    [b'["a", "b"', b"\xff\xfe\x00garbage", b'{"a": 1}', b'["a", 3]', b"", b"not json"],
    ids=["truncated", "binary", "object", "non-string", "empty", "text"],
)
def test_corrupted_files_raise_model_file_error(tmp_path, content):
    path = tmp_path / "vocabulary.json"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match="vocabulary file"):
        load_vocabulary(str(path))


def test_missing_file_raises_model_file_error(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        load_vocabulary(str(tmp_path / "missing.json"))
