"""`beam_search`: greedy equivalence, optimality on small tables, penalties, aux paths, processors."""

import itertools

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnapps.decoding import beam_search, sample
from rnnapps.errors import ConfigError
from tests.decoding.toys import LstmStep, NoRepeat, best_sequence, bigram_step, log_table, sequence_log_prob

INF = float("inf")
RNG = np.random.default_rng(1)
TABLE = RNG.normal(scale=2.0, size=(6, 6)).astype("float32")


def real_tokens(result, row, rank=0):
    length = int(result.lengths.numpy()[row, rank])
    return list(result.tokens.numpy()[row, rank, :length])


@pytest.mark.parametrize("end_id", [-1, 2])
def test_beam_width_one_is_exactly_greedy(end_id):
    starts = tf.constant([0, 1, 2, 3, 4, 5])
    greedy = sample(bigram_step(TABLE), starts, (), 8, temperature=0.0, stop_ids=[end_id])
    beam = beam_search(bigram_step(TABLE), starts, (), 8, 1, end_id=end_id)
    np.testing.assert_array_equal(beam.tokens.numpy()[:, 0], greedy.tokens.numpy())
    np.testing.assert_array_equal(beam.lengths.numpy()[:, 0], greedy.lengths.numpy())
    np.testing.assert_allclose(beam.log_probs.numpy()[:, 0], greedy.log_probs.numpy(), rtol=1e-6)
    np.testing.assert_allclose(beam.scores.numpy(), beam.log_probs.numpy())


def test_beam_width_one_is_greedy_for_an_lstm_in_a_graph():
    model = LstmStep()
    starts = tf.constant([0, 3, 5, 6])

    @tf.function
    def both():
        states = model.initial_states(4)
        greedy = sample(model, starts, states, 9, temperature=0.0, stop_ids=[2])
        return greedy, beam_search(model, starts, states, 9, 1, end_id=2)

    greedy, beam = both()
    np.testing.assert_array_equal(beam.tokens.numpy()[:, 0], greedy.tokens.numpy())
    np.testing.assert_allclose(beam.log_probs.numpy()[:, 0], greedy.log_probs.numpy(), rtol=1e-5)
    np.testing.assert_allclose(beam.aux["hidden"].numpy()[:, 0], greedy.aux["hidden"].numpy(), atol=1e-6)


def test_beam_finds_the_sequence_a_myopic_greedy_misses():
    # From 0: greedy takes 1 (0.55), whose next tokens are all 0.25; 2 (0.45) -> 3 (0.95) is better.
    table = log_table([[0, 0.55, 0.45, 0], [0.25, 0.25, 0.25, 0.25], [0.02, 0.02, 0.01, 0.95], [0.25] * 4])
    greedy = sample(bigram_step(table), tf.constant([0]), (), 2, temperature=0.0)
    beam = beam_search(bigram_step(table), tf.constant([0]), (), 2, 2, end_id=-1)
    assert greedy.tokens.numpy().tolist() == [[1, 0]]
    assert real_tokens(beam, 0) == [2, 3]
    np.testing.assert_allclose(beam.log_probs.numpy()[0, 0], np.log(0.45 * 0.95), rtol=1e-5)
    assert beam.log_probs.numpy()[0, 0] > greedy.log_probs.numpy()[0]


def test_results_are_sorted_distinct_and_scored_with_the_length_penalty():
    starts = tf.constant([0, 4])
    beam = beam_search(bigram_step(TABLE), starts, (), 4, 4, end_id=3, num_results=3, length_penalty=0.6)
    scores = beam.scores.numpy()
    assert (np.diff(scores, axis=1) <= 0).all()
    steps = beam.tokens.shape[2]
    for row in range(2):
        paths = [real_tokens(beam, row, rank) for rank in range(3)]
        assert len({tuple(p) for p in paths}) == 3
        for rank, path in enumerate(paths):
            full = path + [3] if len(path) < steps else path  # shorter than the run: it ended
            np.testing.assert_allclose(
                beam.log_probs.numpy()[row, rank], sequence_log_prob(TABLE, int(starts[row]), full), rtol=1e-5
            )
            penalty = ((5.0 + len(full)) / 6.0) ** 0.6
            np.testing.assert_allclose(scores[row, rank], beam.log_probs.numpy()[row, rank] / penalty, rtol=1e-5)


def test_length_penalty_prefers_the_longer_hypothesis():
    # From 0: end (id 3) at 0.5 or 1 at 0.5; then 1 -> 2 -> end at 0.9 each.
    table = log_table([[0, 0.5, 0, 0.5], [0.05, 0, 0.9, 0.05], [0.05, 0.05, 0, 0.9], [1, 1, 1, 1]])
    plain = beam_search(bigram_step(table), tf.constant([0]), (), 5, 2, end_id=3)
    assert real_tokens(plain, 0) == []
    penalised = beam_search(bigram_step(table), tf.constant([0]), (), 5, 2, end_id=3, length_penalty=tf.constant(2.0))
    assert real_tokens(penalised, 0) == [1, 2]
    np.testing.assert_allclose(penalised.log_probs.numpy()[0, 0], np.log(0.5 * 0.9 * 0.9), rtol=1e-5)
    np.testing.assert_allclose(penalised.scores.numpy()[0, 0], np.log(0.5 * 0.81) / (8 / 6) ** 2, rtol=1e-5)


def test_stops_early_once_every_row_is_settled():
    # Everything ends within two steps: with max_new_tokens 50 the loop must stop long before.
    table = log_table([[0.1, 0.6, 0.3], [0.8, 0.1, 0.1], [0.9, 0.05, 0.05]])
    beam = beam_search(bigram_step(table), tf.constant([1, 2, 0]), (), tf.constant(50), 3, end_id=0, num_results=2)
    assert beam.tokens.shape[2] < 10
    for row, start in enumerate([1, 2, 0]):
        best, best_lp = best_sequence(table, start, 4, end_id=0)
        np.testing.assert_allclose(beam.log_probs.numpy()[row, 0], best_lp, rtol=1e-5)


@pytest.mark.parametrize("max_new", [0, -2])
def test_no_new_tokens(max_new):
    step = bigram_step(TABLE, with_counter=True)
    beam = beam_search(step, tf.constant([0, 1]), (tf.zeros([2], tf.int32),), max_new, 3, end_id=1, num_results=2)
    assert beam.tokens.shape == (2, 2, 0)
    assert beam.aux["step"].shape == (2, 2, 0)
    np.testing.assert_array_equal(beam.lengths.numpy(), 0)
    np.testing.assert_array_equal(beam.log_probs.numpy(), [[0, -INF], [0, -INF]])


def test_tiny_vocabulary_leaves_extra_results_empty_at_minus_inf():
    table = log_table([[0.5, 0.5], [0.5, 0.5]])
    beam = beam_search(bigram_step(table), tf.constant([0]), (), 1, 4, end_id=-1, num_results=4)
    np.testing.assert_allclose(beam.log_probs.numpy()[0, :2], np.log(0.5))
    np.testing.assert_array_equal(beam.log_probs.numpy()[0, 2:], -INF)
    np.testing.assert_array_equal(beam.lengths.numpy()[0], [1, 1, 0, 0])


def test_aux_follows_each_path_through_the_backpointers():
    step = bigram_step(TABLE, with_counter=True)
    starts = tf.constant([0, 5])
    beam = beam_search(step, starts, (tf.constant([100, 200]),), 5, 3, end_id=1, num_results=3)
    fed, counter = beam.aux["fed"].numpy(), beam.aux["step"].numpy()
    for row in range(2):
        for rank in range(3):
            path = real_tokens(beam, row, rank)
            ran = len(path) + int(len(path) < beam.tokens.shape[2])  # + the step that produced the end
            # The token fed at step t is the path's token t - 1 (the start token at t = 0).
            expected_fed = ([int(starts[row])] + path + [1])[:ran]
            np.testing.assert_array_equal(fed[row, rank, :ran], expected_fed)
            np.testing.assert_array_equal(counter[row, rank, :ran], (row + 1) * 100 + np.arange(ran))
            assert (fed[row, rank, ran:] == 0).all() and (counter[row, rank, ran:] == 0).all()


def test_processor_state_is_tiled_and_reordered_with_the_beams():
    # Self-loops dominate, so an unconstrained search repeats tokens; NoRepeat must hold on every path.
    probs = np.full((4, 4), 0.1) + np.eye(4) * 2.0
    probs[:, 2] += 0.4
    table = log_table(probs)
    starts = tf.constant([0, 3])
    beam = beam_search(bigram_step(table), starts, (), 3, 16, end_id=-1, num_results=4, processor=NoRepeat())
    for row, start in enumerate([0, 3]):
        for rank in range(4):
            path = real_tokens(beam, row, rank)
            assert all(a != b for a, b in zip(path, path[1:])), path
        # Under the processor the model renormalises over the allowed tokens: from step 1
        # on, the fed (= previous) token is masked, i.e. the diagonal of a bigram table.
        masked = np.where(np.eye(4, dtype=bool), -np.inf, table)
        scored = {
            path: sequence_log_prob(table, start, path[:1]) + sequence_log_prob(masked, path[0], path[1:])
            for path in itertools.product(range(4), repeat=3)
            if path[0] != path[1] and path[1] != path[2]
        }
        best = max(scored, key=scored.get)
        assert real_tokens(beam, row) == list(best)
        np.testing.assert_allclose(beam.log_probs.numpy()[row, 0], scored[best], rtol=1e-5)


def test_untouched_states_and_batch_equals_one_by_one():
    # A per-row bias the step hands back untouched (like encoder outputs) is not
    # re-gathered each step; that must match a step that returns a fresh copy.
    bias = tf.constant(RNG.normal(scale=2.0, size=(3, 6)).astype("float32"))
    logits_table = tf.constant(TABLE)

    def untouched(tokens, states):
        (memory,) = states
        return tf.gather(logits_table, tokens) + memory, (memory,), {}

    def copied(tokens, states):
        (memory,) = states
        return tf.gather(logits_table, tokens) + memory, (tf.identity(memory),), {}

    starts = tf.constant([0, 2, 4])
    search = lambda step, s, b: beam_search(step, s, (b,), 5, 3, end_id=1, num_results=2)  # noqa: E731
    batched = tf.function(lambda: search(untouched, starts, bias))()
    reference = tf.function(lambda: search(copied, starts, bias))()
    np.testing.assert_array_equal(batched.tokens.numpy(), reference.tokens.numpy())
    np.testing.assert_allclose(batched.scores.numpy(), reference.scores.numpy(), rtol=1e-6)
    for row in range(3):
        alone = search(untouched, starts[row : row + 1], bias[row : row + 1])
        for rank in range(2):
            assert real_tokens(alone, 0, rank) == real_tokens(batched, row, rank)
        np.testing.assert_allclose(alone.scores.numpy()[0], batched.scores.numpy()[row], rtol=1e-5)


def test_lstm_batch_equals_one_by_one():
    model = LstmStep(seed=3)
    starts = [1, 4, 6]
    batched = beam_search(model, tf.constant(starts), model.initial_states(3), 6, 3, end_id=2, num_results=2)
    for row, start in enumerate(starts):
        alone = beam_search(model, tf.constant([start]), model.initial_states(1), 6, 3, end_id=2, num_results=2)
        for rank in range(2):
            assert real_tokens(alone, 0, rank) == real_tokens(batched, row, rank)
        np.testing.assert_allclose(alone.log_probs.numpy()[0], batched.log_probs.numpy()[row], rtol=1e-5, atol=1e-6)


def test_rejects_bad_widths():
    with pytest.raises(ConfigError, match="beam_width"):
        beam_search(bigram_step(TABLE), tf.constant([0]), (), 3, 0, end_id=1)
    with pytest.raises(ConfigError, match="num_results"):
        beam_search(bigram_step(TABLE), tf.constant([0]), (), 3, 2, end_id=1, num_results=3)


def test_beam_search_is_not_exhaustive_beyond_two_steps():
    """Documents a property of every beam search: it can end below greedy (here K=2, 3 steps).

    From 0 greedy takes 1 (0.40) then 4 (0.34), whose self-loop is nearly certain. The
    beam keeps 2 (0.35) instead of 1 because 2 -> 3 (0.5) and 2 -> 5 (0.45) both look
    better after two steps; 3 and 5 then lead to flat rows.
    """
    probs = np.full((7, 7), 1e-6)
    probs[0, [1, 2, 6]] = [0.40, 0.35, 0.25]
    probs[1, [4, 3, 6]] = [0.34, 0.33, 0.33]
    probs[2, [3, 5]] = [0.5, 0.45]
    probs[3, 1:6] = probs[5, 1:6] = probs[6, 1:6] = 0.2
    probs[4, 4] = 0.99
    table = log_table(probs)
    greedy = sample(bigram_step(table), tf.constant([0]), (), 3, temperature=0.0)
    beam = beam_search(bigram_step(table), tf.constant([0]), (), 3, 2, end_id=-1)
    assert greedy.tokens.numpy().tolist() == [[1, 4, 4]]
    assert beam.log_probs.numpy()[0, 0] < greedy.log_probs.numpy()[0]
    wider = beam_search(bigram_step(table), tf.constant([0]), (), 3, 49, end_id=-1)  # K >= V^(N-1): exhaustive
    assert wider.log_probs.numpy()[0, 0] >= greedy.log_probs.numpy()[0]


# -- property: beam search never scores below greedy where that is a theorem ----------------------
# With <= 2 steps every beam keeps greedy's first token and then ranks all its extensions;
# with K >= V^(N-1) the search is exhaustive. (Beyond that it can lose: see the test above.)

_TABLE_SPEC = tf.TensorSpec([None, None], tf.float32)
_ARGS = [_TABLE_SPEC, tf.TensorSpec([None], tf.int32), tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int32)]
_BEAM_FNS = {}


@tf.function(input_signature=_ARGS)
def _greedy(table, starts, end_id, max_new):
    step = lambda tokens, states: (tf.gather(table, tokens), states, {})  # noqa: E731
    return sample(step, starts, (), max_new, temperature=0.0, stop_ids=tf.reshape(end_id, [1])).log_probs


def _beam(width):
    if width not in _BEAM_FNS:

        @tf.function(input_signature=_ARGS)
        def run(table, starts, end_id, max_new):
            step = lambda tokens, states: (tf.gather(table, tokens), states, {})  # noqa: E731
            return beam_search(step, starts, (), max_new, width, end_id=end_id).log_probs[:, 0]

        _BEAM_FNS[width] = run
    return _BEAM_FNS[width]


@st.composite
def problems(draw):
    vocab = draw(st.integers(2, 4))
    cells = st.floats(-4.0, 4.0, allow_nan=False, width=32)
    table = np.array(draw(st.lists(cells, min_size=vocab * vocab, max_size=vocab * vocab)), "float32")
    end_id = draw(st.integers(-1, vocab - 1))
    if draw(st.booleans()):
        max_new, width = draw(st.integers(1, 2)), draw(st.sampled_from([1, 2, 3]))
    else:
        max_new, width = 3, vocab * vocab
    return table.reshape(vocab, vocab), end_id, max_new, width


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_beam_never_scores_below_greedy(problem):
    table, end_id, max_new, width = problem
    starts = tf.range(len(table), dtype=tf.int32)
    args = (tf.constant(table), starts, tf.constant(end_id), tf.constant(max_new))
    greedy, beam = _greedy(*args).numpy(), _beam(width)(*args).numpy()
    assert (beam >= greedy - 1e-5).all(), (greedy, beam)
    if width == len(table) ** 2:  # exhaustive: the true optimum
        for start in range(len(table)):
            _, best_lp = best_sequence(table, start, max_new, end_id=end_id)
            np.testing.assert_allclose(beam[start], best_lp, rtol=1e-4, atol=1e-4)
