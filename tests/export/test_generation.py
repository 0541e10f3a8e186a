"""The language model's generation graph: the prefill loop and the specialised (traced-less) serving function."""

import numpy as np
import pytest
import tensorflow as tf

from rnnapps.builders import language_model as language_model_module
from rnnapps.builders.language_model import LanguageModelSpec, build_language_model
from rnnapps.decoding import choice_mode
from rnnapps.export.generation import generation_serving_fn, generation_signature, prefill_states
from rnnapps.text import TextVectorizer

IDS = np.array([[3, 4, 5, 6, 7, 8], [5, 6, 9, 0, 0, 0], [2, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]], dtype="int32")
LENGTHS = np.array([6, 3, 1, 0], dtype="int32")
VOCABULARY = list("abcdefghij")


def randomised(models, seed=5):
    """Non-zero biases too, so a state left at zero or fed an extra step would show."""
    rng = np.random.default_rng(seed)
    models.train.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32") for w in models.train.get_weights()])
    return models


def tiny(cell="lstm", depth=2, vocab=12):
    spec = LanguageModelSpec(cell=cell, units=8, embedding_dim=8, depth=depth)
    return randomised(build_language_model(vocab, spec))


@pytest.mark.parametrize("cell,depth,folded", [("lstm", 2, True), ("gru", 1, True), ("gru", 2, False)])
def test_prefill_loop_gives_the_prefill_models_states(cell, depth, folded, monkeypatch):
    if not folded:  # word-level vocabularies: the loop runs the step model
        monkeypatch.setattr(language_model_module, "FOLD_BUDGET", 0)
    models = tiny(cell, depth)
    states = tf.function(lambda ids, lengths: prefill_states(models.token_step(), ids, lengths, models.state_sizes))(
        tf.constant(IDS), tf.constant(LENGTHS)
    )
    expected = models.prefill.predict(IDS[:3], verbose=0)[1:]  # rows with at least one id
    assert len(states) == len(expected)
    for mine, theirs in zip(states, expected):
        np.testing.assert_allclose(mine.numpy()[:3], theirs, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(mine.numpy()[3], 0.0)  # no id: the initial (zero) state


def serving_parts():
    vectorizer = TextVectorizer(vocabulary=VOCABULARY, level="char", lowercase=False)
    models = tiny("gru", 1, vocab=vectorizer.vocabulary_size)
    return vectorizer, models


@pytest.mark.parametrize(
    "knobs,stop",
    [
        (dict(temperature=0.0), []),
        (dict(temperature=0.8), ["c", "ab"]),
        (dict(temperature=1.5, top_k=4, top_p=0.8), []),
    ],
)
def test_a_specialised_graph_answers_like_the_serving_graph(knobs, stop):
    vectorizer, models = serving_parts()
    values = dict(temperature=1.0, top_k=0, top_p=1.0)
    values.update(knobs)
    mode = choice_mode(values["temperature"], values["top_k"], values["top_p"], vectorizer.vocabulary_size)
    request = dict(
        prompt=tf.constant(["abc", "", "j"]), max_length=tf.constant(12), temperature=tf.constant(float(values["temperature"])),
        top_k=tf.constant(values["top_k"]), top_p=tf.constant(float(values["top_p"])), seed=tf.constant(7, tf.int64),
    )
    general = tf.function(
        generation_serving_fn(vectorizer, models, "char"), input_signature=generation_signature(True), autograph=False
    )
    expected = general(stop=tf.constant(stop, tf.string, shape=[len(stop)]), **request)
    special = tf.function(
        generation_serving_fn(vectorizer, models, "char", mode=mode), input_signature=generation_signature(bool(stop)),
        autograph=False,
    )
    answer = special(stop=tf.constant(stop), **request) if stop else special(**request)
    for key in ("text", "generated", "token_ids"):
        np.testing.assert_array_equal(answer[key].numpy(), expected[key].numpy(), err_msg=key)
