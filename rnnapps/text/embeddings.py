"""Pretrained word vectors (GloVe / word2vec text format) aligned to a vocabulary."""

import os

import numpy as np

from rnnapps.errors import DataError


def read_word_vectors(source, wanted=None):
    """Reads `word v1 v2 ...` lines (GloVe, fastText .vec) or takes a {word: vector} dict.

    Only words in `wanted` are kept, so a multi-GB vector file streams through in
    constant memory. A fastText header line (`count dim`) is skipped.

    Returns:
        (dict word -> float32 vector, dimension)

    Example:
        >>> vectors, dim = read_word_vectors({"good": [0.1, 0.2]})
        >>> dim
        2
    """
    wanted = None if wanted is None else set(wanted)
    if isinstance(source, dict):
        vectors = {w: np.asarray(v, dtype="float32") for w, v in source.items() if wanted is None or w in wanted}
    else:
        path = os.fspath(source)
        if not os.path.isfile(path):
            raise DataError(f"word-vector file not found: {path}")
        vectors = {}
        dim = None
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line_number, line in enumerate(handle, 1):
                parts = line.rstrip("\n").rstrip().split(" ")
                if line_number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                    continue
                # glove.840B has tokens containing spaces (". . . 0.1 ..."): the vector is the
                # last `dim` fields. Without this, a wanted "." aborted the whole read.
                # (A number just before the vector means a malformed line: left to the checks.)
                if dim is None and len(parts) > 1:
                    dim = len(parts) - 1  # from the first vector line, wanted or not
                elif dim and len(parts) > dim + 1 and not _is_number(parts[-dim - 1]):
                    parts = [" ".join(parts[:-dim])] + parts[-dim:]
                if len(parts) < 2 or (wanted is not None and parts[0] not in wanted):
                    continue
                try:
                    vectors[parts[0]] = np.asarray(parts[1:], dtype="float32")
                except ValueError:
                    raise DataError(f"{path}:{line_number}: not a 'word v1 v2 ...' line") from None
    dims = {len(v) for v in vectors.values()}
    if len(dims) > 1:
        raise DataError(f"word vectors have mixed dimensions {sorted(dims)}")
    return vectors, (dims.pop() if dims else 0)


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def embedding_matrix(vocabulary, vectors, dim, reserved=2, seed=0):
    """A `[reserved + len(vocabulary), dim]` matrix: known words get their vectors, the rest
    small random ones; the padding row (id 0) is zero.

    Returns:
        (matrix, coverage) where coverage is the fraction of the vocabulary found.

    Example:
        >>> matrix, coverage = embedding_matrix(["good", "zzz"], {"good": np.ones(3)}, 3)
        >>> matrix.shape, coverage
        ((4, 3), 0.5)
    """
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0.0, 0.05, size=(reserved + len(vocabulary), dim)).astype("float32")
    matrix[0] = 0.0
    found = 0
    for index, word in enumerate(vocabulary, start=reserved):
        vector = vectors.get(word)
        if vector is not None:
            matrix[index] = vector
            found += 1
    return matrix, (found / len(vocabulary) if vocabulary else 0.0)
