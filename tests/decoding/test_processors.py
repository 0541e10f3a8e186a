"""Logits processors: masks, step numbering, state updates, chains, in both loops."""

import numpy as np
import tensorflow as tf

from rnnapps.decoding import BanTokens, LogitsProcessor, ProcessorChain, beam_search, sample
from tests.decoding.toys import NoRepeat, bigram_step, log_table

INF = float("inf")
# Self-loops dominate: an unconstrained greedy run repeats its first token forever.
SELF_LOOPS = log_table(np.full((5, 5), 0.1) + np.eye(5) * 3.0)


class ForceAt(LogitsProcessor):
    """Forces `token` at `step` (checks the step numbering: 0 is the first new token)."""

    def __init__(self, step, token):
        self.step, self.token = step, token

    def process(self, logits, step, state):
        forced = tf.where(tf.range(tf.shape(logits)[-1]) == self.token, 0.0, -INF)
        return tf.where(tf.equal(step, self.step), tf.broadcast_to(forced, tf.shape(logits)), logits)


def test_base_processor_is_a_no_op():
    processor = LogitsProcessor()
    logits = tf.constant([[1.0, 2.0]])
    assert processor.initial_state(tf.constant(3)) == ()
    np.testing.assert_array_equal(processor.process(logits, 0, ()).numpy(), logits.numpy())
    assert processor.update((), tf.constant([1]), 0) == ()


def test_ban_tokens_masks_ids_and_ignores_out_of_range_ones():
    logits = tf.zeros([2, 4])
    for ids in ([0, 3, 9, -1], tf.constant([0, 3, 9, -1], tf.int64)):
        masked = BanTokens(ids).process(logits, 0, ()).numpy()
        np.testing.assert_array_equal(masked, [[-INF, 0, 0, -INF]] * 2)
    # A vocabulary unknown when the graph is built takes the comparison path: same answer.
    unknown_vocab = tf.function(
        lambda x: BanTokens([0, 3, 9, -1]).process(x, 0, ()), input_signature=[tf.TensorSpec([None, None], tf.float32)]
    )
    np.testing.assert_array_equal(unknown_vocab(logits).numpy(), [[-INF, 0, 0, -INF]] * 2)


def test_stateful_processor_is_updated_in_sample():
    result = sample(bigram_step(SELF_LOOPS), tf.constant([0, 2]), (), 6, temperature=0.0, processor=NoRepeat())
    for row in result.tokens.numpy():
        assert all(a != b for a, b in zip(row, row[1:])), row


def test_chain_applies_all_and_carries_nested_states():
    chain = ProcessorChain([BanTokens([0, 1]), None, NoRepeat(), ForceAt(2, 4)])
    starts = tf.constant([2, 3])
    run = tf.function(lambda: sample(bigram_step(SELF_LOOPS), starts, (), 6, temperature=0.0, processor=chain))
    tokens = run().tokens.numpy()
    assert not np.isin(tokens, [0, 1]).any()
    assert (tokens[:, 2] == 4).all()
    for row in tokens:
        assert all(a != b for a, b in zip(row, row[1:])), row


def test_chain_in_beam_search_and_step_numbering():
    chain = ProcessorChain([NoRepeat(), ForceAt(0, 3)])
    starts = tf.constant([0, 1])
    beam = beam_search(bigram_step(SELF_LOOPS), starts, (), 4, 3, end_id=-1, num_results=3, processor=chain)
    tokens = beam.tokens.numpy()
    assert (tokens[:, :, 0] == 3).all()
    for row in tokens.reshape(-1, 4):
        assert all(a != b for a, b in zip(row, row[1:])), row
    assert np.isfinite(beam.log_probs.numpy()).all()
