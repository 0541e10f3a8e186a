"""`TextVectorizer`: id conventions, truncation, empty texts, tf.data use, config and `.keras` round trips."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnapps.errors import ConfigError, DataError
from rnnapps.text import OOV_TOKEN, PAD_TOKEN, TextVectorizer
from rnnapps.text.vectorizer import (
    CONTROL_MARKERS,
    FIRST_TOKEN_ID,
    OOV_ID,
    PADDING_ID,
    SEQUENCE_MARKERS,
    marker_ids,
    with_markers,
)
from tests.helpers import run_model_saving_test, run_serialization_test


def adapted(texts=("b a a", "c b a"), **options):
    vectorizer = TextVectorizer(**options)
    vectorizer.adapt(list(texts))
    return vectorizer


def ids(vectorizer, texts, **options):
    return vectorizer.vectorize(tf.constant(texts), **options).to_list()


def test_vocabulary_in_frequency_order_starting_at_two():
    vectorizer = adapted()  # a x3, b x2, c x1
    assert vectorizer.get_vocabulary() == ["a", "b", "c"]
    assert ids(vectorizer, ["a b c"]) == [[2, 3, 4]]
    assert vectorizer.vocabulary_size == 5


def test_frequency_ties_are_broken_by_token():
    vectorizer = adapted(["zeta yak", "xi zeta yak xi"])  # all twice
    assert vectorizer.get_vocabulary() == ["xi", "yak", "zeta"]


def test_unseen_tokens_map_to_one():
    vectorizer = adapted()
    assert ids(vectorizer, ["a zzz b", "nope"]) == [[2, 1, 3], [1]]


def test_max_length_truncates_keeping_the_start():
    vectorizer = adapted(max_length=2)
    assert ids(vectorizer, ["c b a a", "a"]) == [[4, 3], [2]]


def test_ensure_nonempty_gives_unknown_for_empty_texts():
    vectorizer = adapted()
    assert ids(vectorizer, ["", "a", "   "], ensure_nonempty=True) == [[1], [2], [1]]
    assert ids(vectorizer, ["", "a"]) == [[], [2]]


def test_call_returns_dense_right_padded_int32_ids():
    vectorizer = adapted()
    result = vectorizer(tf.constant(["a b c", "c", ""]))
    assert result.dtype == tf.int32
    np.testing.assert_array_equal(result.numpy(), [[2, 3, 4], [4, 0, 0], [1, 0, 0]])


def test_lowercase_and_punctuation_options_are_honoured():
    vectorizer = adapted(["Good film!"], lowercase=False, punctuation="strip")
    assert vectorizer.get_vocabulary() == ["Good", "film"]
    assert ids(vectorizer, ["good Good!"]) == [[1, 2]]


def test_char_level_vectorizer_handles_cjk_and_emoji():
    thumbs = "\U0001F44D\U0001F3FD"
    vectorizer = adapted([f"春春{thumbs}"], level="char")
    assert vectorizer.get_vocabulary() == ["春", thumbs]
    assert ids(vectorizer, [f"{thumbs}春x"]) == [[3, 2, 1]]


def test_works_inside_tf_data_map():
    vectorizer = adapted()
    dataset = tf.data.Dataset.from_tensor_slices(["a b", "c", "zzz a c"]).batch(2)
    dense = list(dataset.map(vectorizer).as_numpy_iterator())
    np.testing.assert_array_equal(dense[0], [[2, 3], [4, 0]])
    np.testing.assert_array_equal(dense[1], [[1, 2, 4]])
    ragged = dataset.map(lambda texts: vectorizer.vectorize(texts).to_tensor(-1))
    np.testing.assert_array_equal(next(iter(ragged)).numpy(), [[2, 3], [4, -1]])


def test_adapt_from_dataset_with_max_tokens_and_min_count():
    texts = tf.data.Dataset.from_tensor_slices(["a a a b b c d", "a b c"])
    vectorizer = TextVectorizer()
    vectorizer.adapt(texts, min_count=2)
    assert vectorizer.get_vocabulary() == ["a", "b", "c"]
    vectorizer.adapt(texts, max_tokens=1)
    assert vectorizer.get_vocabulary() == ["a"]


def test_config_round_trip_keeps_vocabulary_and_options():
    vectorizer = adapted(level="word", lowercase=False, punctuation="keep", max_length=3)
    revived = run_serialization_test(vectorizer)
    assert revived.get_vocabulary() == ["a", "b", "c"]
    assert (revived.level, revived.lowercase, revived.punctuation, revived.max_length) == ("word", False, "keep", 3)
    assert ids(revived, ["c b a a"]) == ids(vectorizer, ["c b a a"]) == [[4, 3, 2]]


def test_inside_a_keras_model_saved_to_keras_file(tmp_path):
    vectorizer = adapted()
    texts = keras.Input(shape=(), dtype="string")
    model = keras.Model(texts, vectorizer(texts))
    restored = run_model_saving_test(model, np.array(["a b zzz", "c"], dtype=object), tmp_path)
    np.testing.assert_array_equal(restored(tf.constant(["c b", ""])).numpy(), [[4, 3], [1, 0]])


def test_one_megabyte_text_is_truncated():
    vectorizer = adapted(max_length=50)
    huge = "a b " * 262_144  # 1 MiB
    result = ids(vectorizer, [huge, "c"])
    assert result[0] == [2, 3] * 25
    assert result[1] == [4]
    chars = adapted(["ab"], level="char", max_length=7)
    assert ids(chars, ["ab" * 524_288]) == [[2, 3, 2, 3, 2, 3, 2]]


def test_ids_to_tokens_maps_back():
    vectorizer = adapted()
    assert vectorizer.ids_to_tokens([2, 3, 1, 0, 99]) == ["a", "b", OOV_TOKEN, PAD_TOKEN, OOV_TOKEN]


def test_invalid_options_raise_config_error():
    with pytest.raises(ConfigError):
        TextVectorizer(level="byte")
    with pytest.raises(ConfigError):
        TextVectorizer(punctuation="nope")
    with pytest.raises(ConfigError):
        TextVectorizer(max_length=0)
    with pytest.raises(ConfigError, match="no vocabulary"):
        TextVectorizer().vectorize(tf.constant(["a"]))


def test_bad_vocabularies_raise_data_error():
    with pytest.raises(DataError, match="empty"):
        TextVectorizer(vocabulary=[])
    with pytest.raises(DataError, match="reserved"):
        TextVectorizer(vocabulary=["a", OOV_TOKEN])
    with pytest.raises(DataError, match="duplicate"):
        TextVectorizer(vocabulary=["a", "b", "a"])
    with pytest.raises(DataError, match="empty"):
        TextVectorizer().adapt(["", "   "])


# -- special tokens and the id lookup API ------------------------------------------------
def test_special_ids_and_lookups_of_padding_unknown_and_markers():
    vectorizer = TextVectorizer(["<start>", "<end>", "hola"], markers=SEQUENCE_MARKERS)
    assert vectorizer.special_ids == {"padding": PADDING_ID, "oov": OOV_ID, "start": 2, "end": 3}
    assert vectorizer.special_ids == {"padding": 0, "oov": 1, **marker_ids(SEQUENCE_MARKERS)}
    assert vectorizer.marker_id("end") == 3 and vectorizer.token_to_id("hola") == FIRST_TOKEN_ID + 2
    assert vectorizer.token_to_id("never seen") == OOV_ID and vectorizer.token_to_id(PAD_TOKEN) == PADDING_ID
    assert [vectorizer.id_to_token(i) for i in range(vectorizer.vocabulary_size)] == vectorizer.tokens_by_id()
    assert vectorizer.tokens_by_id() == [PAD_TOKEN, OOV_TOKEN, "<start>", "<end>", "hola"]
    assert vectorizer.tokens_by_id(printable=True) == ["", "", "", "", "hola"]
    # The lookups agree with the graph's ids (markers are never tokenised from raw text).
    assert ids(vectorizer, ["hola nada"]) == [[vectorizer.token_to_id(t) for t in ("hola", "nada")]]
    with pytest.raises(ConfigError, match="out of range"):
        vectorizer.id_to_token(5)
    with pytest.raises(ConfigError, match="no 'title' marker"):
        vectorizer.marker_id("title")
    with pytest.raises(DataError, match="lacks the markers"):
        TextVectorizer(["hola"], markers=SEQUENCE_MARKERS)


def test_a_vectorizer_without_markers_has_padding_and_unknown_only():
    vectorizer = adapted()
    assert vectorizer.special_ids == {"padding": 0, "oov": 1}
    assert "markers" not in vectorizer.get_config()  # configs keep their pre-marker shape
    assert with_markers(CONTROL_MARKERS, ["山", "\x03"]) == ["\x02", "\x03", "山"]


def test_a_saved_vectorizer_round_trips_its_markers_and_ids(tmp_path):
    vectorizer = TextVectorizer(with_markers(CONTROL_MARKERS, ["山", "水"]), level="char", lowercase=False, markers=CONTROL_MARKERS)
    revived = run_serialization_test(vectorizer)
    assert revived.special_ids == vectorizer.special_ids == {"padding": 0, "oov": 1, "start": 2, "end": 3}
    assert revived.tokens_by_id() == vectorizer.tokens_by_id()
    texts = keras.Input(shape=(), dtype="string")
    model = keras.Model(texts, vectorizer(texts))
    restored = run_model_saving_test(model, np.array(["\x02山水\x03", "水"], dtype=object), tmp_path)
    np.testing.assert_array_equal(restored(tf.constant(["\x02山水\x03"])).numpy(), [[2, 4, 5, 3]])


def test_a_config_saved_before_markers_existed_still_loads():
    # The shape of a TextVectorizer config as saves before the special-token API wrote it.
    old = {"name": "text_vectorizer", "trainable": False, "dtype": "float32", "level": "word", "lowercase": True,
           "punctuation": "split", "max_length": None, "vocabulary": ["<start>", "<end>", "hola"]}
    revived = TextVectorizer.from_config(old)
    assert revived.get_vocabulary() == ["<start>", "<end>", "hola"] and revived.markers == {}
    assert revived.token_to_id("<end>") == marker_ids(SEQUENCE_MARKERS)["end"]
    assert ids(revived, ["hola"]) == [[4]]
