"""The seq2seq builder: encoder + decoder_step reproduce the train model, saving, fitting, specs."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnapps.builders.seq2seq import MaskedTokenAccuracy, Seq2SeqSpec, build_seq2seq, decoder_step_fn
from rnnapps.errors import ConfigError
from tests.helpers import run_model_saving_test

SOURCE = np.array([[3, 4, 5, 6, 7], [8, 9, 0, 0, 0], [5, 0, 0, 0, 0]], dtype="int32")
DECODER_INPUTS = np.array([[1, 4, 5, 6, 7, 8], [1, 9, 3, 0, 0, 0], [1, 2, 0, 0, 0, 0]], dtype="int32")
TARGET_LENGTHS = [6, 3, 2]
SOURCE_LENGTHS = [5, 2, 1]


def tiny(vocab=12, **options):
    options = {"cell": "lstm", "units": 8, "source_embedding_dim": 6, "target_embedding_dim": 5, **options}
    return build_seq2seq(vocab, vocab + 1, Seq2SeqSpec(**options))


def numpy_of(x):
    return keras.ops.convert_to_numpy(x)


def copy_task(count=192, vocab=10, longest=5, seed=0):
    """Source = random tokens 3.., target = the same + END (2); START is 1, padding 0."""
    rng = np.random.default_rng(seed)
    source = np.zeros((count, longest), "int32")
    decoder_inputs = np.zeros((count, longest + 1), "int32")
    targets = np.zeros((count, longest + 1), "int32")
    for row in range(count):
        length = rng.integers(2, longest + 1)
        tokens = rng.integers(3, vocab, length)
        source[row, :length] = tokens
        decoder_inputs[row, 0], decoder_inputs[row, 1 : length + 1] = 1, tokens
        targets[row, :length], targets[row, length] = tokens, 2
    return source, decoder_inputs, targets


AGREEMENT_CASES = [
    dict(attention="luong", score="dot"),
    dict(attention="luong", score="dot", bidirectional=True, encoder_units=4, cell="gru"),
    dict(attention="luong", score="general", bidirectional=True, depth=2),
    dict(attention="luong", score="concat", cell="gru", depth=2),
    dict(attention="luong", score="dot", input_feeding=True, cell="gru"),
    dict(attention="luong", score="general", input_feeding=True, bidirectional=True, depth=2),
    dict(attention="luong", score="concat", input_feeding=True, depth=2, cell="irnn"),
    dict(attention="bahdanau", bidirectional=True, depth=2),
    dict(attention="bahdanau", score="general", cell="gru", encoder_units=6),
    dict(attention="none", bidirectional=True, depth=2, cell="simple"),
]


@pytest.mark.parametrize("options", AGREEMENT_CASES, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_encoder_and_decoder_step_reproduce_the_teacher_forced_logits(options):
    models = tiny(**options)
    full = numpy_of(models.train([SOURCE, DECODER_INPUTS]))
    step_fn, initial_states_fn = decoder_step_fn(models)
    states = initial_states_fn(SOURCE)
    assert len(states) == len(models.state_sizes) + 2
    for t in range(DECODER_INPUTS.shape[1]):
        logits, states, aux = step_fn(DECODER_INPUTS[:, t], states)
        for row, length in enumerate(TARGET_LENGTHS):
            if t < length:
                np.testing.assert_allclose(numpy_of(logits)[row], full[row, t], rtol=1e-5, atol=1e-5)
        if options["attention"] == "none":
            assert aux == {}
            continue
        weights = numpy_of(aux["attention"])
        np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-5)
        for row, length in enumerate(SOURCE_LENGTHS):
            assert np.all(weights[row, length:] == 0.0)


def test_models_share_every_weight_and_document_their_io():
    models = tiny(attention="luong", input_feeding=True, bidirectional=True, depth=2)
    train_ids = {id(v) for v in models.train.weights}
    assert {id(v) for v in models.encoder.weights} | {id(v) for v in models.decoder_step.weights} == train_ids
    assert [t.name for t in models.train.inputs] == ["source_ids", "decoder_inputs"]
    assert models.state_sizes == [8] * 5  # (h, c) x 2 layers + the attentional vector
    memory, mask, *initial = models.encoder(SOURCE)
    assert tuple(memory.shape) == (3, 5, 16) and mask.dtype == "float32" and len(initial) == 4
    np.testing.assert_array_equal(numpy_of(mask), (SOURCE != 0).astype("float32"))
    names = [t.name for t in models.decoder_step.inputs]
    assert names == ["token_ids", "state_0", "state_1", "state_2", "state_3", "attentional", "memory", "source_mask"]
    assert len(models.decoder_step.outputs) == 1 + 5 + 1


def test_step_fn_runs_in_a_graph_like_a_decoding_loop():
    models = tiny(attention="bahdanau", cell="gru")
    step_fn, initial_states_fn = decoder_step_fn(models)

    @tf.function
    def greedy(source_ids):
        states = initial_states_fn(source_ids)
        tokens = tf.ones([tf.shape(source_ids)[0]], "int32")
        picked = []
        for _ in range(3):
            logits, states, _ = step_fn(tokens, states)
            tokens = tf.argmax(logits, axis=-1, output_type=tf.int32)
            picked.append(tokens)
        return tf.stack(picked, axis=1)

    graph = greedy(tf.constant(SOURCE)).numpy()
    states, tokens, eager = initial_states_fn(SOURCE), np.ones(3, "int32"), []
    for _ in range(3):
        logits, states, _ = step_fn(tokens, states)
        tokens = numpy_of(logits).argmax(-1).astype("int32")
        eager.append(tokens)
    np.testing.assert_array_equal(graph, np.stack(eager, axis=1))


# Saved before any fit, the optimizer has no slots yet: Keras warns when it reloads it.
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
@pytest.mark.parametrize(
    "options",
    [dict(attention="luong", bidirectional=True, depth=2), dict(attention="luong", input_feeding=True, cell="gru"),
     dict(attention="bahdanau", score="concat", attention_units=3)],
)
def test_train_model_round_trips_through_a_keras_file(options, tmp_path):
    models = tiny(**options)
    restored = run_model_saving_test(models.train, [SOURCE, DECODER_INPUTS], tmp_path)
    assert type(restored) is type(models.train)
    _, _, targets = copy_task(3, longest=5)
    np.testing.assert_allclose(
        restored.evaluate([SOURCE, DECODER_INPUTS], targets, verbose=0),
        models.train.evaluate([SOURCE, DECODER_INPUTS], targets, verbose=0),
        rtol=1e-5,
    )


@pytest.mark.parametrize("options", [dict(cell="gru"), dict(cell="lstm", input_feeding=True, dropout=0.1)])
def test_two_epochs_on_a_copy_task_reduce_the_loss_and_log_grad_norm(options):
    source, decoder_inputs, targets = copy_task()
    models = build_seq2seq(
        10, 10, Seq2SeqSpec(units=16, source_embedding_dim=8, target_embedding_dim=8, **options), learning_rate=1e-2
    )
    inputs = {"source_ids": source, "decoder_inputs": decoder_inputs}
    history = models.train.fit(inputs, targets, epochs=2, batch_size=32, verbose=0).history
    assert history["loss"][1] < history["loss"][0]
    assert all(np.isfinite(history["grad_norm"])) and history["grad_norm"][0] > 0
    assert history["accuracy"][1] > history["accuracy"][0] > 0.0  # it learns, and accuracy counts real tokens


def test_untrained_uniform_model_has_loss_log_v_and_padding_is_not_scored():
    models = tiny(vocab=12)
    for weight in models.train.weights:  # all-zero weights: equal logits for every id
        weight.assign(np.zeros(weight.shape, weight.dtype))
    targets = np.array([[4, 5, 6, 7, 8, 2], [9, 3, 2, 0, 0, 0], [2, 0, 0, 0, 0, 0]], dtype="int32")
    loss, _ = models.train.evaluate([SOURCE, DECODER_INPUTS], targets, verbose=0)
    assert loss == pytest.approx(math.log(13), rel=1e-5)


def test_masked_token_accuracy_ignores_padding_targets():
    metric = MaskedTokenAccuracy()
    logits = np.eye(4, dtype="float32")[[[1, 2, 0, 0], [3, 3, 3, 0]]]  # predicts 1 2 0 0 / 3 3 3 0
    metric.update_state(np.array([[1, 3, 0, 0], [3, 3, 2, 0]]), logits)
    assert float(metric.result()) == pytest.approx(3 / 5)  # 5 real targets, 3 right
    assert MaskedTokenAccuracy.from_config(metric.get_config()).padding_id == 0


@pytest.mark.parametrize(
    "options,message",
    [
        (dict(cell="transformer"), "cell must be one of"),
        (dict(attention="multihead"), "attention must be one of"),
        (dict(score="cosine"), "score must be one of"),
        (dict(attention="bahdanau", input_feeding=True), "input_feeding is a Luong option"),
        (dict(attention="none", input_feeding=True), "no effect with attention='none'"),
        (dict(attention="none", score="dot"), "no effect with attention='none'"),
        (dict(score="dot", bidirectional=True, units=8), "use score 'general' or 'concat'"),
        (dict(score="dot", encoder_units=4, units=8), "width 4"),
        (dict(units=0), "units must be >= 1"),
        (dict(depth=0), "depth must be >= 1"),
        (dict(attention_units=0), "attention_units must be >= 1"),
        (dict(dropout=1.0), r"dropout must be in \[0, 1\)"),
    ],
)
def test_spec_validation_errors_are_clear(options, message):
    with pytest.raises(ConfigError, match=message):
        Seq2SeqSpec(**options)


def test_spec_dict_round_trip_and_builder_argument_errors():
    spec = Seq2SeqSpec(cell="gru", units=16, bidirectional=True, input_feeding=True)
    assert Seq2SeqSpec.from_dict(spec.to_dict()) == spec
    assert spec.resolved_score == "general" and Seq2SeqSpec(attention="bahdanau").resolved_score == "additive"
    with pytest.raises(ConfigError, match="unknown seq2seq options"):
        Seq2SeqSpec.from_dict({"units": 8, "heads": 4})
    with pytest.raises(ConfigError, match="target_vocab_size must be >= 2"):
        build_seq2seq(10, 1, spec)
    with pytest.raises(ConfigError, match="use only one of"):
        build_seq2seq(10, 10, spec, clipnorm=2.0, global_clipnorm=1.0)


@pytest.mark.parametrize("options", [{"attention": "bahdanau"}, {"input_feeding": True}])
def test_step_loop_decoders_accept_unknown_sequence_lengths(options):
    # tf.data batches padded per batch have no static time dimension; the scanned
    # decoder loop used to fail at trace time on them.
    models = build_seq2seq(12, 12, Seq2SeqSpec(cell="gru", units=8, **options))
    run = tf.function(
        lambda source, decoder: models.train([source, decoder]),
        input_signature=[tf.TensorSpec([None, None], tf.int32)] * 2,
    )
    assert tuple(run(tf.constant([[3, 4, 0]]), tf.constant([[2, 5, 6, 7]])).shape) == (1, 4, 12)


def test_attention_norm_is_an_option_of_the_parallel_luong_decoder():
    assert Seq2SeqSpec(attention="luong").resolved_attention_norm is False  # off by default
    assert Seq2SeqSpec(attention="luong", attention_norm=True).resolved_attention_norm is True
    assert Seq2SeqSpec(attention="luong", input_feeding=True).resolved_attention_norm is False
    with pytest.raises(ConfigError, match="attention_norm needs"):
        Seq2SeqSpec(attention="bahdanau", attention_norm=True)
    with pytest.raises(ConfigError, match="attention_norm needs"):
        Seq2SeqSpec(attention="luong", input_feeding=True, attention_norm=True)
    normed = tiny(attention="luong", attention_norm=True)
    assert "attentional_norm" in [layer.name for layer in normed.train.layers]
    plain = tiny(attention="luong")
    assert "attentional_norm" not in [layer.name for layer in plain.train.layers]
    # The step model applies it too: the same layer, and the same logits as teacher forcing.
    assert {id(v) for v in normed.train.get_layer("attentional_norm").weights} <= {id(v) for v in normed.decoder_step.weights}
    full = numpy_of(normed.train([SOURCE, DECODER_INPUTS]))
    step_fn, initial_states_fn = decoder_step_fn(normed)
    states = initial_states_fn(SOURCE)
    for t in range(DECODER_INPUTS.shape[1]):
        logits, states, _ = step_fn(DECODER_INPUTS[:, t], states)
        for row, length in enumerate(TARGET_LENGTHS):
            if t < length:
                np.testing.assert_allclose(numpy_of(logits)[row], full[row, t], rtol=1e-5, atol=1e-5)
