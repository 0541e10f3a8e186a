"""The seq2seq step_fn adapter plugged into the shared decoding loops (`rnnapps.decoding`)."""

import keras
import numpy as np
import pytest

from rnnapps.builders.seq2seq import Seq2SeqSpec, build_seq2seq, decoder_step_fn
from tests.builders.test_seq2seq import copy_task

from rnnapps import decoding

START, END = 1, 2


@pytest.fixture(scope="module")
def copier():
    """A small attention model trained to copy its source (8 epochs copy 16/16 held-out rows)."""
    keras.utils.set_random_seed(0)
    source, decoder_inputs, targets = copy_task(count=384, longest=5)
    spec = Seq2SeqSpec(cell="gru", units=32, source_embedding_dim=16, target_embedding_dim=16)
    models = build_seq2seq(10, 10, spec, learning_rate=1e-2)
    models.train.fit([source, decoder_inputs], targets, epochs=10, batch_size=32, verbose=0)
    return models


def held_out(count=8):
    """Sources the model never saw (another seed)."""
    return copy_task(count=count, longest=5, seed=1)[0]


def numpy_of(x):
    return keras.ops.convert_to_numpy(x)


def test_greedy_sampling_through_the_adapter_copies_the_source(copier):
    step_fn, initial_states_fn = decoder_step_fn(copier)
    source = held_out()
    start = np.full((len(source),), START, "int32")
    result = decoding.sample(step_fn, start, initial_states_fn(source), 7, temperature=0.0, stop_ids=(END,))
    tokens, lengths = numpy_of(result.tokens), numpy_of(result.lengths)
    np.testing.assert_array_equal(lengths, (source != 0).sum(axis=1))
    for row, words, length in zip(tokens, source, lengths):
        np.testing.assert_array_equal(row[:length], words[:length])  # the END token is not in `tokens`
    assert bool(np.all(numpy_of(result.finished)))
    attention = numpy_of(result.aux["attention"])
    assert attention.shape == (len(source), tokens.shape[1], source.shape[1])
    np.testing.assert_allclose(attention[:, 0].sum(-1), 1.0, rtol=1e-5)


def test_beam_search_of_width_one_equals_greedy(copier):
    step_fn, initial_states_fn = decoder_step_fn(copier)
    source = held_out()
    start = np.full((len(source),), START, "int32")
    greedy = decoding.sample(step_fn, start, initial_states_fn(source), 7, temperature=0.0, stop_ids=(END,))
    beam = decoding.beam_search(step_fn, start, initial_states_fn(source), 7, beam_width=1, end_id=END)
    lengths = numpy_of(greedy.lengths)
    np.testing.assert_array_equal(numpy_of(beam.lengths)[:, 0], lengths)
    greedy_tokens, beam_tokens = numpy_of(greedy.tokens), numpy_of(beam.tokens)
    assert beam_tokens.shape[:2] == (len(source), 1)
    for mine, best, length in zip(greedy_tokens, beam_tokens[:, 0], lengths):
        np.testing.assert_array_equal(best[:length], mine[:length])
    np.testing.assert_allclose(numpy_of(beam.log_probs)[:, 0], numpy_of(greedy.log_probs), rtol=1e-4, atol=1e-4)


def test_wider_beams_carry_memory_and_mask_along_and_still_copy(copier):
    step_fn, initial_states_fn = decoder_step_fn(copier)
    source = held_out()
    start = np.full((len(source),), START, "int32")
    beam = decoding.beam_search(step_fn, start, initial_states_fn(source), 7, beam_width=3, end_id=END, num_results=2)
    tokens, lengths = numpy_of(beam.tokens), numpy_of(beam.lengths)
    assert tokens.shape[:2] == (len(source), 2)
    np.testing.assert_array_equal(lengths[:, 0], (source != 0).sum(axis=1))
    for best, words, length in zip(tokens[:, 0], source, lengths[:, 0]):
        np.testing.assert_array_equal(best[:length], words[:length])
    attention = numpy_of(beam.aux["attention"])
    assert attention.shape == (len(source), 2, tokens.shape[2], source.shape[1])
    for row, length in enumerate((source != 0).sum(axis=1)):
        assert np.all(attention[row, :, :, length:] == 0.0)  # padding of that row's own source
