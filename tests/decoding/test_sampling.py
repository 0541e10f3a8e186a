"""`sample` / `choose_tokens`: greedy chains, stop ids, odd knob values, seeds, distributions, aux."""

import numpy as np
import pytest
import tensorflow as tf

from rnnapps.decoding import (
    CHOICE_MODES,
    BanTokens,
    check_sampling_options,
    choice_mode,
    choose_tokens,
    sample,
    truncate_logits,
)
from rnnapps.errors import ConfigError
from tests.decoding.toys import LstmStep, bigram_step, log_table, sequence_log_prob

RNG = np.random.default_rng(0)
TABLE = RNG.normal(scale=2.0, size=(6, 6)).astype("float32")  # logits, not normalised
STARTS = tf.constant([0, 1, 2, 3, 4, 5])
INF = float("inf")


def in_graph(fn):
    """Runs `fn()` traced in a tf.function (the eager path is covered by the other tests)."""
    return tf.function(fn)()


def argmax_chain(table, start, steps, stop_ids=()):
    tokens, previous = [], start
    for _ in range(steps):
        previous = int(np.argmax(table[previous]))
        if previous in stop_ids:
            return tokens, True
        tokens.append(previous)
    return tokens, False


def rows(result):
    """Per row: the real tokens (up to `lengths`)."""
    return [list(t[:n]) for t, n in zip(result.tokens.numpy(), result.lengths.numpy())]


@pytest.mark.parametrize("graph", [False, True])
def test_greedy_follows_the_argmax_chain_and_scores_it(graph):
    run = lambda: sample(bigram_step(TABLE), STARTS, (), 7, temperature=0.0)  # noqa: E731
    result = in_graph(run) if graph else run()
    assert result.tokens.shape == (6, 7)
    for start, tokens, log_prob in zip(range(6), rows(result), result.log_probs.numpy()):
        assert tokens == argmax_chain(TABLE, start, 7)[0]
        np.testing.assert_allclose(log_prob, sequence_log_prob(TABLE, start, tokens), rtol=1e-5)
    assert not result.finished.numpy().any()
    np.testing.assert_array_equal(result.lengths.numpy(), 7)


def test_stop_ids_end_rows_independently_and_pad_with_zeros():
    # Chains: 1 -> 2 -> 3 -> 0(stop), 4 -> 0(stop), 5 -> 5 -> ... (never stops).
    probs = np.full((6, 6), 0.01)
    for source, target in {1: 2, 2: 3, 3: 0, 4: 0, 5: 5, 0: 1}.items():
        probs[source, target] = 1.0
    table = log_table(probs)
    result = sample(bigram_step(table), tf.constant([1, 4, 5, 3]), (), 5, temperature=0.0, stop_ids=[0])
    np.testing.assert_array_equal(
        result.tokens.numpy(), [[2, 3, 0, 0, 0], [0, 0, 0, 0, 0], [5, 5, 5, 5, 5], [0, 0, 0, 0, 0]]
    )
    np.testing.assert_array_equal(result.lengths.numpy(), [2, 0, 5, 0])
    np.testing.assert_array_equal(result.finished.numpy(), [True, True, False, True])
    # The stop token's log-prob counts: the row 1 -> 2 -> 3 -> 0 scores three tokens.
    np.testing.assert_allclose(result.log_probs.numpy()[0], sequence_log_prob(table, 1, [2, 3, 0]), rtol=1e-5)


def test_stop_ids_as_tensor_several_ids_and_early_exit():
    probs = np.full((5, 5), 0.01)
    for source, target in {1: 2, 2: 3, 3: 4, 4: 4, 0: 0}.items():
        probs[source, target] = 1.0
    step = bigram_step(log_table(probs))
    result = sample(step, tf.constant([1, 2]), (), tf.constant(50), temperature=0.0, stop_ids=tf.constant([3, 4]))
    assert result.tokens.shape == (2, 2)  # every row finished after 2 steps: the loop stopped
    np.testing.assert_array_equal(result.tokens.numpy(), [[2, 0], [0, 0]])
    np.testing.assert_array_equal(result.lengths.numpy(), [1, 0])
    assert result.finished.numpy().all()


@pytest.mark.parametrize("max_new", [0, -3])
def test_no_new_tokens_gives_empty_rows(max_new):
    step = bigram_step(TABLE, with_counter=True)
    states = (tf.zeros([6], tf.int32),)
    for result in (
        sample(step, STARTS, states, max_new, stop_ids=[1]),
        in_graph(lambda: sample(step, STARTS, states, tf.constant(max_new), stop_ids=[1])),
    ):
        assert result.tokens.shape == (6, 0)
        assert result.aux["step"].shape == (6, 0)
        np.testing.assert_array_equal(result.lengths.numpy(), 0)
        np.testing.assert_array_equal(result.log_probs.numpy(), 0.0)
        assert not result.finished.numpy().any()


def test_seed_reproduces_exactly_and_different_seeds_differ():
    step = bigram_step(TABLE)
    starts = tf.zeros([64], tf.int32)
    run = lambda seed: sample(step, starts, (), 12, seed=seed).tokens.numpy()  # noqa: E731
    first = run((3, 4))
    np.testing.assert_array_equal(first, run(tf.constant([3, 4], tf.int64)))
    assert (first != run((3, 5))).any()
    assert (first != run((4, 4))).any()
    assert len({tuple(row) for row in first}) > 1  # rows draw independently


def test_step_t_draws_with_the_seed_folded_with_t():
    # The documented recipe, step by step in Python: the loop hoists the part of
    # `stateless_fold_in` that does not depend on t, so the draws must be the same.
    step, seed, temperature = bigram_step(TABLE), tf.constant([7, 11], tf.int64), 0.7
    result = sample(step, STARTS, (), 9, temperature=temperature, seed=seed)
    tokens, expected = STARTS, []
    for t in range(9):
        logits, _, _ = step(tokens, ())
        scaled = (logits - tf.reduce_max(logits, axis=-1, keepdims=True)) / temperature
        step_seed = tf.random.experimental.stateless_fold_in(seed, t)
        tokens = tf.random.stateless_categorical(scaled, 1, step_seed, dtype=tf.int32)[:, 0]
        expected.append(tokens.numpy())
    np.testing.assert_array_equal(result.tokens.numpy(), np.stack(expected, axis=1))


@pytest.mark.parametrize("knobs", [{"temperature": 0.0}, {"temperature": 1.3}, {"top_k": 3}])
def test_without_log_probs_the_tokens_are_the_same_and_no_score_is_made(knobs):
    probs = np.full((6, 6), 0.05)
    for source, target in {1: 2, 2: 3, 3: 0, 4: 0, 5: 5, 0: 1}.items():
        probs[source, target] = 1.0
    step, starts = bigram_step(log_table(probs)), tf.constant([1, 4, 5, 3] * 8)
    scored = in_graph(lambda: sample(step, starts, (), 6, seed=(2, 9), stop_ids=[0], **knobs))
    unscored = in_graph(lambda: sample(step, starts, (), 6, seed=(2, 9), stop_ids=[0], with_log_probs=False, **knobs))
    assert unscored.log_probs is None
    for name in ("tokens", "lengths", "finished"):
        np.testing.assert_array_equal(getattr(unscored, name).numpy(), getattr(scored, name).numpy())
    assert scored.finished.numpy().any() and not scored.finished.numpy().all()


def test_tiny_temperature_is_greedy_and_extreme_values_stay_defined():
    step = bigram_step(TABLE)
    greedy = sample(step, STARTS, (), 6, temperature=0.0).tokens.numpy()
    for temperature in (1e-6, 1e-38, -1.0, float("nan")):
        np.testing.assert_array_equal(sample(step, STARTS, (), 6, temperature=temperature).tokens.numpy(), greedy)
    hot = sample(step, STARTS, (), 6, temperature=INF, seed=(1, 1))
    assert ((hot.tokens.numpy() >= 0) & (hot.tokens.numpy() < 6)).all()
    assert np.isfinite(hot.log_probs.numpy()).all()


def test_top_k_and_top_p_edge_values():
    step = bigram_step(TABLE)
    run = lambda **knobs: sample(step, STARTS, (), 6, seed=(7, 8), **knobs).tokens.numpy()  # noqa: E731
    greedy = run(temperature=0.0)
    np.testing.assert_array_equal(run(top_k=1), greedy)
    np.testing.assert_array_equal(run(top_p=1e-6), greedy)
    np.testing.assert_array_equal(run(top_p=0.0), greedy)
    np.testing.assert_array_equal(run(top_p=-2.0), greedy)
    np.testing.assert_array_equal(run(top_k=99), run(top_k=6))  # clamped to V
    plain = run()
    np.testing.assert_array_equal(run(top_p=1.0), plain)
    np.testing.assert_array_equal(run(top_p=1.5), plain)
    np.testing.assert_array_equal(run(top_p=float("nan")), plain)
    np.testing.assert_array_equal(run(top_k=0), plain)
    np.testing.assert_array_equal(run(top_k=-4), plain)


def expected_distribution(logits, temperature=1.0, top_k=0, top_p=1.0):
    """Numpy reference of the candidate distribution (temperature, then top-k, then top-p)."""
    scaled = np.asarray(logits, "float64") / temperature
    probs = np.exp(scaled - scaled.max())
    probs /= probs.sum()
    order = np.argsort(-probs, kind="stable")
    keep = np.zeros_like(probs, dtype=bool)
    keep[order[: top_k if top_k > 0 else len(probs)]] = True
    probs = np.where(keep, probs, 0.0) / probs[keep].sum()
    mass_before = np.cumsum(probs[order]) - probs[order]
    keep_p = np.zeros_like(keep)
    keep_p[order[(mass_before < top_p) | (np.arange(len(probs)) == 0)]] = True
    probs = np.where(keep_p, probs, 0.0)
    return probs / probs.sum()


@pytest.mark.parametrize(
    "knobs",
    [
        {},
        {"temperature": 0.5},
        {"temperature": 2.0},
        {"top_k": 3},
        {"top_p": 0.7},
        {"temperature": 0.8, "top_k": 4, "top_p": 0.9},
    ],
)
def test_sampled_frequencies_match_the_distribution(knobs):
    logits = np.array([0.5, -1.0, 2.0, 0.0, 1.0, -0.5], "float32")
    draws = 40_000
    tokens = choose_tokens(tf.tile(logits[None], [draws, 1]), seed=(11, 12), **knobs).numpy()
    frequencies = np.bincount(tokens, minlength=6) / draws
    expected = expected_distribution(logits, **knobs)
    # Binomial standard error <= 0.0025 here: 0.012 is ~5 sigma.
    np.testing.assert_allclose(frequencies, expected, atol=0.012)
    assert (frequencies[expected == 0] == 0).all()
    values, ids = truncate_logits(logits[None], **knobs)
    truncated = np.zeros(6)
    truncated[ids.numpy()[0]] = tf.nn.softmax(values).numpy()[0]
    np.testing.assert_allclose(truncated, expected, atol=1e-5)


@pytest.mark.parametrize("scale", [4.0, 0.1])  # peaked: settled in the first 64 candidates; flat: full sort
def test_top_p_over_a_large_vocabulary_keeps_the_exact_nucleus(scale):
    logits = np.random.default_rng(2).normal(scale=scale, size=(3, 300)).astype("float32")
    values, ids = truncate_logits(logits, temperature=0.9, top_p=0.8)
    for row in range(3):
        expected = expected_distribution(logits[row], temperature=0.9, top_p=0.8)
        kept = ids.numpy()[row][np.isfinite(values.numpy()[row])]
        assert set(kept.tolist()) == set(np.flatnonzero(expected).tolist())
    assert (ids.shape[1] == 64) == (scale == 4.0)


def test_truncate_logits_sorts_and_masks():
    values, ids = truncate_logits(tf.constant([[0.0, 2.0, 1.0, -1.0]]), top_k=3, top_p=0.7)
    np.testing.assert_array_equal(ids.numpy(), [[1, 2, 0]])
    assert values.numpy()[0, 0] == 0.0 and np.isfinite(values.numpy()[0, 1])  # the first holds 0.67
    assert values.numpy()[0, 2] == -INF
    _, greedy_ids = truncate_logits(tf.constant([[0.0, 2.0, 1.0]]), temperature=0.0)
    np.testing.assert_array_equal(greedy_ids.numpy(), [[1]])


def test_rows_with_every_token_forbidden_get_token_zero():
    logits = tf.constant([[-INF, -INF, -INF], [0.0, -INF, 1.0]])
    for knobs in ({}, {"top_k": 2}, {"temperature": 0.0}):
        tokens = choose_tokens(logits, seed=(1, 2), **knobs).numpy()
        assert tokens[0] == 0 and tokens[1] in (0, 2)


def test_aux_is_stacked_per_step_and_zeroed_after_the_stop():
    probs = np.full((4, 4), 0.01)
    for source, target in {1: 2, 2: 3, 3: 0, 0: 1}.items():
        probs[source, target] = 1.0
    step = bigram_step(log_table(probs), with_counter=True)
    result = sample(step, tf.constant([1, 3]), (tf.constant([10, 20]),), 4, temperature=0.0, stop_ids=[0])
    # Row 0: 1 -> 2 -> 3 -> 0(stop) at step 2; row 1: 3 -> 0(stop) at step 0.
    np.testing.assert_array_equal(result.aux["step"].numpy(), [[10, 11, 12], [20, 0, 0]])
    np.testing.assert_array_equal(result.aux["fed"].numpy(), [[1, 2, 3], [3, 0, 0]])
    assert result.aux["fed"].dtype == tf.int32


def test_ban_tokens_is_obeyed_and_scored_with_the_mask():
    step = bigram_step(TABLE)
    starts = tf.zeros([200], tf.int32)
    result = sample(step, starts, (), 10, temperature=3.0, seed=(5, 5), processor=BanTokens([0, 1]))
    assert not np.isin(result.tokens.numpy(), [0, 1]).any()
    masked = TABLE.copy()
    masked[:, :2] = -INF
    for tokens, log_prob in list(zip(rows(result), result.log_probs.numpy()))[:5]:
        np.testing.assert_allclose(log_prob, sequence_log_prob(masked, 0, tokens), rtol=1e-5)


def test_lstm_states_carry_and_batch_equals_one_by_one():
    model = LstmStep()
    starts = [0, 3, 5, 6]
    expected = model.python_greedy(starts, 8, stop_ids=(2,))
    batched = in_graph(
        lambda: sample(model, tf.constant(starts), model.initial_states(4), 8, temperature=0.0, stop_ids=[2])
    )
    for index, (tokens, total) in enumerate(expected):
        assert rows(batched)[index] == tokens
        np.testing.assert_allclose(batched.log_probs.numpy()[index], total, rtol=1e-4, atol=1e-5)
        alone = sample(model, tf.constant([starts[index]]), model.initial_states(1), 8, temperature=0.0, stop_ids=[2])
        assert rows(alone)[0] == tokens
        steps = alone.tokens.shape[1]
        hidden = batched.aux["hidden"].numpy()[index, :steps]
        np.testing.assert_allclose(alone.aux["hidden"].numpy()[0], hidden, atol=1e-5)


def test_knobs_as_tensors_in_a_signature_with_dynamic_batch():
    step = bigram_step(TABLE)

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([], tf.int32),
            tf.TensorSpec([], tf.float32),
            tf.TensorSpec([], tf.int32),
            tf.TensorSpec([], tf.float32),
            tf.TensorSpec([2], tf.int64),
            tf.TensorSpec([None], tf.int32),
        ]
    )
    def generate(starts, max_new, temperature, top_k, top_p, seed, stop_ids):
        knobs = dict(temperature=temperature, top_k=top_k, top_p=top_p, seed=seed, stop_ids=stop_ids)
        return sample(step, starts, (), max_new, **knobs)._asdict()

    knobs = dict(temperature=0.9, top_k=4, top_p=0.95, seed=(2, 3))
    graph = generate(STARTS, 5, 0.9, 4, 0.95, tf.constant([2, 3], tf.int64), tf.constant([4]))
    eager = sample(step, STARTS, (), 5, stop_ids=[4], **knobs)
    np.testing.assert_array_equal(graph["tokens"].numpy(), eager.tokens.numpy())
    np.testing.assert_allclose(graph["log_probs"].numpy(), eager.log_probs.numpy(), rtol=1e-6)
    small = generate(STARTS[:2], 0, 0.0, 0, 1.0, tf.constant([0, 0], tf.int64), tf.constant([], tf.int32))
    assert small["tokens"].shape == (2, 0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"max_new_tokens": -1}, "max_new_tokens"),
        ({"max_new_tokens": 11}, "<= 10"),
        ({"max_new_tokens": 2.5}, "max_new_tokens"),
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"top_k": -1}, "top_k"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_p": 1.01}, "top_p"),
        ({"vocab_size": 0}, "vocab_size"),
    ],
)
def test_check_sampling_options_rejects_mistakes(kwargs, message):
    options = dict(max_new_tokens=5, temperature=1.0, top_k=0, top_p=1.0, vocab_size=6, limit=10)
    options.update(kwargs)
    with pytest.raises(ConfigError, match=message):
        check_sampling_options(**options)


def test_check_sampling_options_accepts_edge_values():
    check_sampling_options(0, 0.0, 0, 1.0, 6, 10)
    check_sampling_options(10, 5.0, 100, 0.01, 6, 10)  # top_k above V is allowed: it means all
    check_sampling_options(3)


@pytest.mark.parametrize(
    "knobs",
    [
        dict(temperature=0.0),
        dict(temperature=0.8),
        dict(temperature=0.8, top_k=3),
        dict(temperature=1.2, top_p=0.7),
        dict(temperature=1.0, top_k=100, top_p=1.0),  # top_k above the vocabulary: plain
    ],
)
def test_a_fixed_mode_gives_the_tokens_the_knobs_choose_in_the_graph(knobs):
    mode = choice_mode(knobs.get("temperature", 1.0), knobs.get("top_k", 0), knobs.get("top_p", 1.0), 6)
    common = dict(seed=(4, 2), stop_ids=[5], processor=BanTokens([0]), **knobs)
    general = in_graph(lambda: sample(bigram_step(TABLE), STARTS, (), 9, **common))
    fixed = in_graph(lambda: sample(bigram_step(TABLE), STARTS, (), 9, mode=mode, **common))
    for name in ("tokens", "lengths", "finished", "log_probs"):
        np.testing.assert_array_equal(getattr(fixed, name).numpy(), getattr(general, name).numpy(), err_msg=name)


def test_a_fixed_mode_traces_one_loop_and_the_default_traces_all_three():
    def loops(mode):
        traced = tf.function(lambda: sample(bigram_step(TABLE), STARTS, (), 3, temperature=0.5, mode=mode))
        graph = traced.get_concrete_function().graph
        bodies = [f for f in graph.as_graph_def().library.function if "body" in f.signature.name]
        return len(bodies)

    assert loops(None) == 3
    assert loops("plain") == 1


def test_choice_mode_follows_the_graph_rule():
    from rnnapps.decoding.sampling import _choice_mode

    for temperature in (0.0, -1.0, 0.5, 2.0):
        for top_k in (0, 1, 5, 6, 50):
            for top_p in (0.0, 0.5, 1.0, 3.0):
                index = int(_choice_mode(tf.constant(temperature), tf.constant(top_k), tf.constant(top_p), 6))
                assert choice_mode(temperature, top_k, top_p, 6) == CHOICE_MODES[index], (temperature, top_k, top_p)


def test_an_unknown_mode_is_a_config_error():
    with pytest.raises(ConfigError, match="mode must be"):
        sample(bigram_step(TABLE), STARTS, (), 3, mode="nucleus")
