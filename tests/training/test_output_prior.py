"""The output bias starts at the training targets' log-frequencies, on fresh models only."""

import keras
import numpy as np
import pytest

import rnnapps
from rnnapps.errors import ConfigError
from rnnapps.layers import TiedEmbedding
from rnnapps.training.output_prior import count_targets, init_output_bias, log_prior


def test_log_prior_is_a_smoothed_log_distribution_that_ignores_padding():
    prior = log_prior(np.array([100, 0, 30, 10]), smoothing=0.5)
    np.testing.assert_allclose(np.exp(prior).sum(), 1.0, rtol=1e-9)
    assert prior[0] == prior[1] < prior[3] < prior[2]  # padding counts as unseen
    with pytest.raises(ConfigError):
        log_prior(np.zeros([0]))


def test_count_targets_stops_after_about_max_tokens():
    batches = [np.array([[2, 3, 0]])] * 100
    counts = count_targets(iter(batches), 5, max_tokens=10)
    assert counts[2] == counts[3] == 5 and counts[0] == 5  # 5 batches of 2 real targets
    assert count_targets([np.array([[9, 2]])], 4).tolist() == [0, 0, 1, 0]  # out-of-range ids skipped


def test_init_output_bias_on_a_dense_a_tied_embedding_and_a_layer_without_bias():
    dense = keras.layers.Dense(4)
    dense.build((None, 3))
    init_output_bias(dense, [np.array([[3, 3, 3, 1, 0, 0]])])
    bias = keras.ops.convert_to_numpy(dense.bias)
    assert bias.argmax() == 3 and bias[1] > bias[2]

    tied = TiedEmbedding(5, 2)
    tied.build((None, None))
    init_output_bias(tied, [np.array([[4, 4]])])
    assert keras.ops.convert_to_numpy(tied.output_bias).argmax() == 4

    plain = keras.layers.Dense(4, use_bias=False)
    plain.build((None, 3))
    assert init_output_bias(plain, [np.array([[1]])]) is None
    assert init_output_bias(dense, [np.array([[0, 0]])]) is None  # only padding: left alone


class BiasAtStart(keras.callbacks.Callback):
    """Keeps the output bias as `fit` starts (after the app's prior, before any step)."""

    def __init__(self, app):
        super().__init__()
        self.app, self.bias = app, None

    def on_train_begin(self, logs=None):
        self.bias = keras.ops.convert_to_numpy(self.app._output_layer().bias).copy()


def test_a_fresh_language_model_starts_from_the_prior_and_a_continued_fit_does_not():
    text = "aaaaaaaaab ab aaab\n" * 40
    gen = rnnapps.TextGenerator(level="char", units=8, embedding_dim=8, depth=1, sequence_length=16)
    first = BiasAtStart(gen)
    gen.fit([text], epochs=1, validation_split=0, verbose=0, batch_size=8, callbacks=[first])
    a_id, b_id = gen.vectorizer.token_to_id("a"), gen.vectorizer.token_to_id("b")
    assert first.bias[a_id] > first.bias[b_id] > first.bias[0]
    trained = keras.ops.convert_to_numpy(gen._output_layer().bias).copy()
    again = BiasAtStart(gen)
    gen.fit([text], epochs=1, validation_split=0, verbose=0, batch_size=8, callbacks=[again])
    np.testing.assert_array_equal(again.bias, trained)  # training went on from where it was


def test_a_fresh_translator_starts_its_output_bias_from_the_target_frequencies():
    pairs = [("one", "eins"), ("two", "zwei"), ("one one", "eins eins")] * 10
    tr = rnnapps.Translator(units=8, source_embedding_dim=8, target_embedding_dim=8)
    start = BiasAtStart(tr)
    tr.fit(pairs, epochs=1, validation_split=0, verbose=0, batch_size=8, callbacks=[start])
    vocab = tr.target_vectorizer
    assert start.bias[vocab.token_to_id("eins")] > start.bias[vocab.token_to_id("zwei")] > start.bias[0]
