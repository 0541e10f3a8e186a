"""Pretrained word vectors: GloVe / fastText text files and their alignment to a vocabulary."""

import numpy as np
import pytest

from rnnapps.errors import DataError
from rnnapps.text.embeddings import embedding_matrix, read_word_vectors

GLOVE = "the 0.1 0.2 0.3\nfilm 1 2 3\ngood -1 0.5 2.5\n"


@pytest.fixture
def glove_file(tmp_path):
    path = tmp_path / "glove.3d.txt"
    path.write_text(GLOVE, encoding="utf-8")
    return path


def test_reads_glove_format(glove_file):
    vectors, dim = read_word_vectors(glove_file)
    assert dim == 3
    assert sorted(vectors) == ["film", "good", "the"]
    np.testing.assert_array_equal(vectors["good"], np.array([-1, 0.5, 2.5], dtype="float32"))
    assert vectors["film"].dtype == np.float32


def test_skips_fasttext_header_line(tmp_path):
    path = tmp_path / "wiki.vec"
    path.write_text("3 3\n" + GLOVE.replace("\n", " \r\n"), encoding="utf-8")
    vectors, dim = read_word_vectors(str(path))
    assert dim == 3
    assert sorted(vectors) == ["film", "good", "the"]
    np.testing.assert_array_equal(vectors["the"], np.array([0.1, 0.2, 0.3], dtype="float32"))


def test_keeps_only_wanted_words(glove_file):
    vectors, dim = read_word_vectors(glove_file, wanted=["film", "absent"])
    assert list(vectors) == ["film"]
    assert dim == 3


def test_accepts_a_dict():
    vectors, dim = read_word_vectors({"a": [1, 2], "b": [3, 4]}, wanted={"b"})
    assert dim == 2 and list(vectors) == ["b"]


def test_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_word_vectors(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("a 1 2\nb 1 x\n", encoding="utf-8")
    with pytest.raises(DataError, match=":2:"):
        read_word_vectors(bad)
    mixed = tmp_path / "mixed.txt"
    mixed.write_text("a 1 2\nb 1 2 3\n", encoding="utf-8")
    with pytest.raises(DataError, match="mixed dimensions"):
        read_word_vectors(mixed)


def test_embedding_matrix_rows_and_coverage(glove_file):
    vocabulary = ["film", "unknownword", "good", "the"]
    vectors, dim = read_word_vectors(glove_file, wanted=vocabulary)
    matrix, coverage = embedding_matrix(vocabulary, vectors, dim)
    assert matrix.shape == (6, 3) and matrix.dtype == np.float32
    assert coverage == pytest.approx(0.75)
    np.testing.assert_array_equal(matrix[0], np.zeros(3))  # padding row
    np.testing.assert_array_equal(matrix[2], [1, 2, 3])  # "film" at id 2
    np.testing.assert_array_equal(matrix[4], np.array([-1, 0.5, 2.5], dtype="float32"))
    np.testing.assert_array_equal(matrix[5], np.array([0.1, 0.2, 0.3], dtype="float32"))
    # Unknown word and OOV rows: small random values, not zeros.
    for row in (1, 3):
        assert np.any(matrix[row] != 0) and np.all(np.abs(matrix[row]) < 0.5)
    again, _ = embedding_matrix(vocabulary, vectors, dim)
    np.testing.assert_array_equal(matrix, again)  # seeded


def test_embedding_matrix_of_empty_vocabulary():
    matrix, coverage = embedding_matrix([], {}, 4)
    assert matrix.shape == (2, 4) and coverage == 0.0


def test_tokens_containing_spaces_as_in_glove_840b(tmp_path):
    # glove.840B.300d has lines such as ". . . 0.1 0.2": the token is everything before the vector.
    path = tmp_path / "glove.840B.txt"
    path.write_text("the 0.5 0.5\n. . . 0.3 0.4\n. 0.1 0.2\nfilm 1 2\n", encoding="utf-8")
    vectors, dim = read_word_vectors(path, wanted=[".", ". . .", "film"])
    assert dim == 2
    assert sorted(vectors) == [".", ". . .", "film"]
    np.testing.assert_array_equal(vectors[". . ."], np.array([0.3, 0.4], dtype="float32"))
    np.testing.assert_array_equal(vectors["."], np.array([0.1, 0.2], dtype="float32"))
