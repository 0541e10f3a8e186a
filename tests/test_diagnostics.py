"""`rnnapps.diagnostics`: gradient flow through any recurrent layer built here, hidden activations, unit ranking."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnapps.builders import ClassifierSpec, build_classifier
from rnnapps.builders.language_model import LanguageModelSpec, build_language_model
from rnnapps.diagnostics import gradient_flow, hidden_activations, rank_units, recurrent_layers, text_signal
from rnnapps.errors import ConfigError, DataError

RNG = np.random.default_rng(0)
IDS = RNG.integers(2, 20, (6, 30)).astype("int32")


def language_model(cell, units=16, depth=1):
    spec = LanguageModelSpec(cell=cell, units=units, embedding_dim=8, depth=depth)
    return build_language_model(20, spec, compile=False).train


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_small_weight_elman_rnn_vanishes_faster_than_an_lstm_with_open_forget_gates(seed):
    keras.utils.set_random_seed(seed)
    elman = language_model("simple")
    rnn = elman.get_layer("lm_simple_0")
    rnn.cell.recurrent_kernel.assign(0.5 * rnn.cell.recurrent_kernel)  # "small recurrent weights"
    lstm = language_model("lstm")
    assert lstm.get_layer("lm_lstm_0").cell.unit_forget_bias  # forget-gate bias starts at 1
    ids = np.random.default_rng(seed).integers(2, 20, (6, 30))
    simple_flow, lstm_flow = gradient_flow(elman, ids), gradient_flow(lstm, ids)
    # The property, not a number: per step of distance the Elman gradient shrinks by a
    # larger factor, so the gap widens with distance.
    assert simple_flow.decay_per_step() < lstm_flow.decay_per_step() < 1.0
    gap = np.log(lstm_flow.mean[1:25]) - np.log(simple_flow.mean[1:25])
    assert gap[-1] > gap[0] + 3.0
    assert simple_flow.ratio(1, 20) > lstm_flow.ratio(1, 20)


def test_flow_equals_an_independent_computation_through_the_keras_layer():
    """dL_T/dh_k recomputed by restarting the Keras GRU layer from a watched h_k."""
    model = language_model("gru", units=8)
    layer = model.get_layer("lm_gru_0")
    flow = gradient_flow(model, IDS[:3], readouts=1, seed=4)
    direction = np.random.default_rng(4).normal(size=(1, 8)).astype("float32")
    direction /= np.linalg.norm(direction)
    embedded = model.get_layer("embedding")(IDS[:3])
    steps = IDS.shape[1]
    for distance in (1, 6, 15):
        k = steps - 1 - distance
        _, h_k = layer(embedded[:, : k + 1])  # the state after step k
        h_k = tf.convert_to_tensor(keras.ops.convert_to_numpy(h_k))
        with tf.GradientTape() as tape:
            tape.watch(h_k)
            _, h_last = layer(embedded[:, k + 1 :], initial_state=[h_k])
            loss = tf.reduce_sum(h_last * direction)
        expected = np.linalg.norm(tape.gradient(loss, h_k).numpy(), axis=-1)
        np.testing.assert_allclose(flow.norms[:, distance], expected, rtol=1e-4, atol=1e-7)
    assert flow.distances.tolist() == list(range(steps))
    np.testing.assert_allclose(flow.norms[:, 0], 1.0, rtol=1e-5)  # dL_T/dh_T is the unit readout


@pytest.mark.parametrize("cell", ["simple", "irnn", "gru", "lstm"])
def test_every_cell_and_a_deeper_layer(cell):
    model = language_model(cell, units=6, depth=2)
    assert [layer.name for layer, _ in recurrent_layers(model)] == [f"lm_{cell}_0", f"lm_{cell}_1"]
    flow = gradient_flow(model, IDS[:, :12], layer=1)
    assert flow.layer == f"lm_{cell}_1" and flow.cell == ("simple" if cell == "irnn" else cell)
    assert flow.norms.shape == (6, 12) and np.all(np.isfinite(flow.norms)) and flow.mean[5] > 0
    assert gradient_flow(model, IDS[:, :12], layer=f"lm_{cell}_1").mean == pytest.approx(flow.mean)


def test_bidirectional_classifier_uses_the_forward_direction():
    model = build_classifier(20, 3, spec=ClassifierSpec(cell="lstm", units=5, embedding_dim=4, bidirectional=True, depth=2, pooling="mean"))
    flow = gradient_flow(model, IDS[:2, :10], layer=1)
    assert flow.layer == "rnn_bi_1" and flow.norms.shape == (2, 10)


def test_translator_decoder_starts_from_its_bridged_state():
    from rnnapps.builders.seq2seq import Seq2SeqSpec, build_seq2seq

    models = build_seq2seq(20, 20, Seq2SeqSpec(cell="gru", units=4, source_embedding_dim=4, target_embedding_dim=4), compile=False)
    batch = [IDS[:2, :6], IDS[:2, :9]]
    names = [layer.name for layer, _ in recurrent_layers(models.train)]
    assert names == ["encoder_gru_0", "decoder_gru_0"]
    assert gradient_flow(models.train, batch, layer="decoder_gru_0").norms.shape == (2, 9)


def test_a_batch_of_strings_goes_through_the_apps_vectorizer():
    import rnnapps

    gen = rnnapps.TextGenerator.from_vocabulary(list("abc "), cell="gru", units=4, depth=1, embedding_dim=4)
    flow = gradient_flow(gen, ["abc abc", "cab cabba"])
    assert flow.norms.shape == (2, 7)  # cut to the shorter text


def test_a_classifier_with_an_ngram_head_shows_its_rnn_the_words_only(trained_classifier):
    assert trained_classifier.vectorizer.ngrams is not None
    flow = gradient_flow(trained_classifier, ["the film was superb", "a dull plot"])
    assert flow.norms.shape == (2, 3)  # 3 words each, not words and n-grams


@pytest.mark.parametrize(
    "target, batch, options, error, message",
    [
        ("dense", IDS, {}, ConfigError, "no recurrent layer"),
        ("lm", IDS, {"layer": 3}, ConfigError, r"layer must be an index in \[0, 1\)"),
        ("lm", IDS, {"layer": "nope"}, ConfigError, "no recurrent layer named"),
        ("lm", IDS[:, :1], {}, DataError, "at least 2"),
        ("lm", ["text"], {}, ConfigError, "needs an app"),
        ("other", IDS, {}, ConfigError, "expected an rnnapps app or a Keras model"),
    ],
)
def test_bad_input_is_a_clear_error(target, batch, options, error, message):
    if target == "dense":
        inputs = keras.Input((None,), dtype="int32")
        target = keras.Model(inputs, keras.layers.Embedding(20, 3)(inputs))
    elif target == "lm":
        target = language_model("gru", units=4)
    else:
        target = object()
    with pytest.raises(error, match=message):
        gradient_flow(target, batch, **options)


def test_text_signals():
    assert text_signal('x "ab" y', "quotes").tolist() == [0, 0, 1, 1, 1, 0, 0, 0]
    assert text_signal("a(b[c])d", "brackets").tolist() == [0, 1, 1, 2, 2, 2, 1, 0]
    assert text_signal("ab\ncd", "line_position").tolist() == [0, 1, 2, 0, 1]
    assert text_signal("ab cd", "word_position").tolist() == [1, 2, 0, 1, 2]
    with pytest.raises(ConfigError, match="signal must be one of"):
        text_signal("abc", "vowels")


def test_rank_units_puts_a_unit_that_is_the_signal_first():
    import rnnapps

    gen = rnnapps.TextGenerator.from_vocabulary(list('ab "()\n'), cell="lstm", units=6, depth=1, embedding_dim=4)
    text = 'a "b" (ab)\nab "a"\n'
    acts = hidden_activations(gen, text)
    assert acts.values.shape == (len(text), 6) and acts.tokens == list(text)
    cells = hidden_activations(gen, text, state="cell")
    assert not np.allclose(cells.values, acts.values)
    scores = rank_units(gen, text, acts.values[:, 4] * 3 + 1, top=3)  # a signal equal to unit 4 (affinely)
    assert scores[0].unit == 4 and scores[0].correlation == pytest.approx(1.0, abs=1e-5)
    assert len(scores) == 3 and abs(scores[1].correlation) <= abs(scores[0].correlation)
    assert len(rank_units(gen, text, "quotes", top=2)) == 2
    with pytest.raises(DataError, match="constant"):
        rank_units(gen, "ab", "quotes")
    with pytest.raises(DataError, match="values but the text has"):
        rank_units(gen, text, [1.0, 2.0])
