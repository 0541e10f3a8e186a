"""In-graph sampling: greedy, temperature, top-k and top-p (nucleus) in one `tf.while_loop`.

`choose_tokens` picks one token per row from logits (testable on its own);
`sample` runs a step function in a loop, carrying its states as the cache, until
`max_new_tokens` or until every row produced a stop id. Every knob may be a tensor,
so the loop can sit behind a serving signature; any value a request can send has a
defined result (listed in `sample`). Python callers should validate first with
`check_sampling_options`, which raises `ConfigError` for values that are surely mistakes.
"""

import collections
import math
import numbers

import tensorflow as tf

from rnnapps.decoding.loop_utils import (
    as_scalar,
    conform,
    mask_steps,
    shape_invariants,
    stack_steps,
    write_step,
)
from rnnapps.decoding.processors import LogitsProcessor
from rnnapps.errors import ConfigError

SampleResult = collections.namedtuple("SampleResult", "tokens lengths finished log_probs aux")
SampleResult.__doc__ = """Output of `sample` (all tensors).

tokens: int32 `[B, N]`, N = steps run; stop token excluded; 0 after a row ended.
lengths: int32 `[B]`, real tokens per row.
finished: bool `[B]`, True when the row produced a stop id.
log_probs: float32 `[B]`, sum of the model's log-probabilities of the chosen tokens
    (stop token included), see `sample`.
aux: dict of `[B, N, ...]`, the step function's aux outputs per step; kept for every
    step the row was still running (including the step that produced its stop id), 0 after.
"""

_NEG_INF = -float("inf")
# A larger temperature gives the same (uniform over the allowed tokens) distribution
# and keeps `-inf / temperature` from turning into NaN when the request says `inf`.
_MAX_TEMPERATURE = 1e30
# Top-p without top-k first looks at this many candidates before sorting the vocabulary.
_FIRST_CANDIDATES = 64


def check_sampling_options(max_new_tokens, temperature=1.0, top_k=0, top_p=1.0, vocab_size=None, limit=None):
    """Raises `ConfigError` for sampling options a Python caller surely did not mean.

    The in-graph loop accepts anything (see `sample` for what odd values do); this
    check is for Python entry points, where a clear message beats a silent clamp.
    `top_k` above the vocabulary size is allowed (it simply means "all tokens").

    Args:
        max_new_tokens: int >= 0 (and <= `limit` when given).
        temperature: float >= 0 (0 means greedy).
        top_k: int >= 0 (0 means off).
        top_p: float in (0, 1] (1 means off).
        vocab_size: the model's vocabulary size, when known (must be >= 1).
        limit: optional upper bound of `max_new_tokens`.

    Example:
        >>> check_sampling_options(100, temperature=0.8, top_k=40, top_p=0.95, vocab_size=80)
        >>> check_sampling_options(100, temperature=-1)
        Traceback (most recent call last):
        ...
        rnnapps.errors.ConfigError: temperature must be >= 0 (0 means greedy), got -1
    """
    if not _is_int(max_new_tokens) or max_new_tokens < 0:
        raise ConfigError(f"max_new_tokens must be an integer >= 0, got {max_new_tokens!r}")
    if limit is not None and max_new_tokens > limit:
        raise ConfigError(f"max_new_tokens must be <= {limit}, got {max_new_tokens}")
    if not _is_real(temperature) or not temperature >= 0 or math.isinf(temperature):
        raise ConfigError(f"temperature must be >= 0 (0 means greedy), got {temperature!r}")
    if not _is_int(top_k) or not 0 <= top_k <= 2**31 - 1:
        raise ConfigError(f"top_k must be an integer in [0, 2147483647] (0 means off), got {top_k!r}")
    if not _is_real(top_p) or not 0.0 < top_p <= 1.0:
        raise ConfigError(f"top_p must be in (0, 1] (1 means off), got {top_p!r}")
    if vocab_size is not None and (not _is_int(vocab_size) or vocab_size < 1):
        raise ConfigError(f"vocab_size must be an integer >= 1, got {vocab_size!r}")


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _inverse_temperature(temperature):
    """`1 / temperature`, computed once per call rather than once per token."""
    return 1.0 / tf.minimum(temperature, _MAX_TEMPERATURE)


def _temper(logits, inverse_temperature, row_max=None):
    """`logits * inverse_temperature`, shifted so the row maximum is 0 (no overflow for tiny temperatures).

    A row of only `-inf` stays `-inf` (its maximum is clamped to the lowest float, not
    subtracted as `-inf`, which would give NaN).
    """
    if row_max is None:
        row_max = tf.reduce_max(logits, axis=-1, keepdims=True)
    return (logits - tf.maximum(row_max, logits.dtype.min)) * inverse_temperature


def _top_candidates(scaled, top_k, top_p):
    """The top-k tokens of tempered logits, sorted, with the top-p tail set to -inf."""
    vocab = tf.shape(scaled)[-1]
    k = tf.where(top_k > 0, tf.minimum(top_k, vocab), vocab)

    def nucleus(values, ids, log_norm):
        mass_before = tf.math.cumsum(tf.exp(values - log_norm), axis=-1, exclusive=True)
        # `top_p < 1` is False for NaN too: both mean "off". The first token always stays.
        keep = (mass_before < top_p) | tf.logical_not(top_p < 1.0) | (tf.range(tf.shape(values)[-1]) == 0)[None, :]
        return tf.where(keep, values, _NEG_INF), ids

    def full():
        values, ids = tf.math.top_k(scaled, k=k, sorted=True)  # ties: the lower id first, like argmax
        return nucleus(values, ids, tf.reduce_logsumexp(values, axis=-1, keepdims=True))

    def staged():
        # Sorting a whole vocabulary costs ~5 ms per step at [64, 2000] on CPU; a peaked
        # distribution usually reaches top_p within its first few dozen tokens. When every
        # row does, those candidates give exactly the same set.
        values, ids = tf.math.top_k(scaled, k=tf.minimum(_FIRST_CANDIDATES, vocab), sorted=True)
        log_norm = tf.reduce_logsumexp(scaled, axis=-1, keepdims=True)  # top-k is off: all tokens
        covered = tf.reduce_all(tf.reduce_sum(tf.exp(values - log_norm), axis=-1) >= top_p)
        return tf.cond(covered, lambda: nucleus(values, ids, log_norm), full)

    return tf.cond((k == vocab) & (vocab > _FIRST_CANDIDATES) & (top_p < 1.0), staged, full)


def truncate_logits(logits, temperature=1.0, top_k=0, top_p=1.0):
    """The candidates `choose_tokens` draws from, as `(candidate_logits, candidate_ids)`.

    Temperature scales first; top-k keeps the k largest; top-p then keeps the smallest
    prefix of those (by probability after temperature and top-k) whose mass reaches
    `top_p`, never fewer than one token. Dropped candidates get `-inf`.

    Args:
        logits: float `[B, V]`.
        temperature, top_k, top_p: scalars (Python or tensors), see `sample`.

    Returns:
        `candidate_logits` float32 `[B, C]` (sorted, largest first, max 0) and
        `candidate_ids` int32 `[B, C]`: C is the effective top_k (V when off, 1 for
        greedy), or 64 when top-p alone is settled within the 64 most likely tokens.

    Example:
        >>> values, ids = truncate_logits(tf.constant([[0.0, 2.0, 1.0]]), top_k=2)
        >>> ids.numpy().tolist()
        [[1, 2]]
    """
    logits = tf.cast(logits, tf.float32)
    temperature = as_scalar(temperature, tf.float32)
    greedy = tf.logical_not(temperature > 0)
    top_k = tf.where(greedy, 1, as_scalar(top_k, tf.int32))
    scaled = _temper(logits, _inverse_temperature(tf.where(greedy, 1.0, temperature)))
    return _top_candidates(scaled, top_k, as_scalar(top_p, tf.float32))


CHOICE_MODES = ("greedy", "plain", "truncated")


def _choice_mode(temperature, top_k, top_p, vocab):
    """0 = greedy, 1 = plain draw, 2 = draw after top-k/top-p (what the knobs ask for)."""
    truncating = ((top_k > 0) & (top_k < vocab)) | (top_p < 1.0)
    return tf.where(temperature > 0, tf.where(truncating, 2, 1), 0)


def choice_mode(temperature, top_k, top_p, vocab_size):
    """Which of `CHOICE_MODES` the knobs ask for, in Python (the in-graph rule of `sample`).

    A Python caller that knows its knobs passes this as `sample(..., mode=...)`, so the
    graph holds that one loop instead of all three behind a switch (a third of the
    tracing and graph-optimisation time of a first call, for the same tokens).

    Example:
        >>> choice_mode(0.8, 0, 1.0, 65), choice_mode(0.0, 40, 0.9, 65), choice_mode(1.0, 40, 1.0, 65)
        ('plain', 'greedy', 'truncated')
    """
    if not temperature > 0:  # NaN too, as in the graph
        return "greedy"
    truncating = 0 < top_k < vocab_size or top_p < 1.0
    return "truncated" if truncating else "plain"


def _choosers(temperature, top_k, top_p):
    """The three ways to pick a token, as `(logits, seed) -> int32 [B]`, indexed by `_choice_mode`.

    A row whose logits are all `-inf` gets token 0 from every one (argmax's answer):
    `stateless_categorical` would return an out-of-range id there. These run once per
    generated token, so everything that does not depend on the logits is computed here,
    once, and each chooser keeps to a handful of ops.
    """
    inverse_temperature = _inverse_temperature(temperature)

    def greedy(logits, seed):
        del seed
        return tf.argmax(logits, axis=-1, output_type=tf.int32)

    def allowed_or_zero(row_max, picked):
        return tf.where(row_max[:, 0] > _NEG_INF, picked, 0)

    def plain(logits, seed):
        scaled = _temper(logits, inverse_temperature)
        picked = tf.random.stateless_categorical(scaled, 1, seed, dtype=tf.int32)[:, 0]
        # The draw skips non-finite logits and answers V for a row with none left; the
        # modulo maps exactly that answer to 0 in one op (the most frequent chooser).
        return tf.math.floormod(picked, tf.shape(logits, out_type=tf.int32)[-1])

    def truncated(logits, seed):  # sorts (a top-k over the vocabulary): only paid when asked for
        row_max = tf.reduce_max(logits, axis=-1, keepdims=True)
        values, ids = _top_candidates(_temper(logits, inverse_temperature, row_max), top_k, top_p)
        picks = tf.random.stateless_categorical(values, 1, seed, dtype=tf.int32)[:, 0]
        return allowed_or_zero(row_max, tf.gather(ids, tf.minimum(picks, tf.shape(ids)[-1] - 1), batch_dims=1))

    return greedy, plain, truncated


def choose_tokens(logits, seed, temperature=1.0, top_k=0, top_p=1.0):
    """Picks one token per row: greedy, or a draw after temperature, top-k and top-p.

    Args:
        logits: float `[B, V]` (`-inf` marks forbidden tokens).
        seed: int pair or int tensor `[2]` for `tf.random.stateless_categorical`.
        temperature, top_k, top_p: scalars (Python or tensors); defined results for any
            value are listed in `sample`.

    Returns:
        int32 `[B]`. A row whose logits are all `-inf` gets its argmax, token 0.

    Example:
        >>> choose_tokens(tf.constant([[0.0, 3.0, 1.0]]), seed=(1, 2), temperature=0.0).numpy().tolist()
        [1]
    """
    logits = tf.cast(logits, tf.float32)
    temperature = as_scalar(temperature, tf.float32)
    top_k = as_scalar(top_k, tf.int32)
    top_p = as_scalar(top_p, tf.float32)
    seed = tf.cast(seed, tf.int64)
    mode = _choice_mode(temperature, top_k, top_p, tf.shape(logits)[-1])
    return tf.switch_case(mode, [lambda c=c: c(logits, seed) for c in _choosers(temperature, top_k, top_p)])


def sample(
    step_fn,
    start_tokens,
    states,
    max_new_tokens,
    *,
    temperature=1.0,
    top_k=0,
    top_p=1.0,
    seed=(0, 0),
    stop_ids=(),
    processor=None,
    with_log_probs=True,
    mode=None,
):
    """Generates up to `max_new_tokens` tokens per row in one in-graph `tf.while_loop`.

    Args:
        step_fn: `(tokens int32 [B], states) -> (logits [B, V], new_states, aux dict)`;
            `new_states` has the structure of `states`, `aux` maps names to `[B, ...]`.
        start_tokens: int `[B]`, the token fed at the first step.
        states: the initial states, a tuple (or any nest) of tensors `[B, ...]`.
        max_new_tokens: int scalar (Python or tensor).
        temperature, top_k, top_p: scalars (Python or tensors), see below.
        seed: int pair or int64 tensor `[2]`; equal seeds reproduce exactly (for the same
            batch). Step t draws with `stateless_fold_in(seed, t)`.
        stop_ids: int list or int tensor `[S]`; a row finishes after producing one.
        processor: optional `LogitsProcessor`; its masks apply to both the choice and
            `log_probs`.
        with_log_probs: False skips the per-token log-softmax when no caller reads the
            score (`log_probs` is then None): a few percent of a token at batch 1.
        mode: None (default: the knobs choose greedy, plain or truncated sampling in the
            graph, so they may be request tensors) or one of `CHOICE_MODES`, fixed when
            tracing: the graph then holds only that loop. It must be what `choice_mode`
            says for the knobs (the caller knows them in Python); the tokens are the same.

    Defined results for any knob value (what a serving request may send):
        - `max_new_tokens <= 0`: N = 0, empty rows, lengths 0, log_probs 0, finished False.
        - `temperature <= 0` or NaN: greedy (argmax; ties -> lowest id), top_k/top_p unused.
          `inf` (or > 1e30): uniform over the tokens top-k/top-p/processor allow.
        - `top_k <= 0` or `top_k >= V`: off (all tokens).
        - `top_p >= 1` or NaN: off; `top_p <= 0`: only the most likely token (greedy).
        - a row whose every token the processor forbids gets token 0.

    Returns:
        `SampleResult(tokens, lengths, finished, log_probs, aux)`. `log_probs` sums
        `log_softmax(logits)` at the chosen tokens (stop token included), with the
        processor's masks but no temperature/top-k/top-p: the model's own score, the
        same definition `beam_search` uses.

    Example:
        >>> table = tf.math.log(tf.constant([[0.1, 0.9], [0.8, 0.2]]))
        >>> step = lambda tokens, states: (tf.gather(table, tokens), states, {})
        >>> sample(step, tf.constant([0]), (), 3, temperature=0.0).tokens.numpy().tolist()
        [[1, 0, 1]]
    """
    if mode is not None and mode not in CHOICE_MODES:
        raise ConfigError(f"mode must be None or one of {CHOICE_MODES}, got {mode!r}")
    start_tokens = tf.cast(start_tokens, tf.int32)
    max_new = as_scalar(max_new_tokens, tf.int32)
    temperature = as_scalar(temperature, tf.float32)
    top_k = as_scalar(top_k, tf.int32)
    top_p = as_scalar(top_p, tf.float32)
    seed = tf.reshape(tf.cast(seed, tf.int64), [2])
    # `stateless_fold_in(seed, step)` is `[draw(seed), step]`: the draw does not depend
    # on the step, so it is made once here and each step only packs its index beside it.
    seed_draw = tf.random.stateless_uniform([], seed, minval=None, maxval=None, dtype=tf.int32)
    stop_ids = tf.reshape(tf.cast(stop_ids, tf.int32), [-1])
    processor = processor if processor is not None else LogitsProcessor()
    batch = tf.shape(start_tokens)[0]

    # Filled by the peeled first step, outside the loop: the vocabulary size and a
    # `[V]` "is a stop id" table, so the loop body checks a stop with one gather.
    seen = {}

    def stop_table(vocab):
        return tf.reduce_any(tf.equal(tf.range(vocab)[:, None], stop_ids[None, :]), axis=1)

    def make_body(choose):
        # The body does only what must happen per token: step, choose, note a stop,
        # store the choice. Lengths, `finished` per row, masking and the log-prob sums
        # are all read off the stored tokens after the loop (every op here costs
        # ~1.5-3 us per generated token at batch 1, as much as the LSTM's matmul).
        def body(step, tokens, states, proc_state, finished, arrays):
            logits, new_states, aux = step_fn(tokens, states)
            logits = processor.process(tf.cast(logits, tf.float32), step, proc_state)
            if not seen:
                seen["vocab"] = tf.shape(logits)[-1]
                seen["is_stop"] = stop_table(seen["vocab"])
            chosen = choose(logits, tf.stack([seed_draw, step]))
            finished |= tf.gather(seen["is_stop"], chosen)
            written = {"tokens": chosen, "aux": dict(aux or {})}
            if with_log_probs:
                written["log_probs"] = tf.gather(tf.nn.log_softmax(logits), chosen, batch_dims=1)
            arrays = write_step(arrays, step, written)
            proc_state = conform(proc_state, processor.update(proc_state, chosen, step))
            return step + 1, chosen, conform(states, new_states), proc_state, finished, arrays

        return body

    choosers = _choosers(temperature, top_k, top_p)

    def any_choice(logits, step_seed):
        return choose_tokens(logits, step_seed, temperature, top_k, top_p)

    first_choice = any_choice if mode is None else choosers[CHOICE_MODES.index(mode)]
    loop_vars = make_body(first_choice)(
        tf.constant(0),
        start_tokens,
        states,
        processor.initial_state(batch),
        tf.zeros([batch], tf.bool),
        None,
    )

    def keep_going(step, tokens, states, proc_state, finished, arrays):
        return (step < max_new) & tf.logical_not(tf.reduce_all(finished))

    def loop_with(choose):
        # The knobs pick one specialised loop per call, so no token pays for deciding
        # between greedy, plain and truncated sampling again (~40% of a step at batch 1).
        def run():
            step, _, _, _, _, arrays = tf.while_loop(
                keep_going, make_body(choose), loop_vars, shape_invariants=shape_invariants(loop_vars)
            )
            # `step` counts the peeled step too, which counts for nothing when max_new <= 0.
            steps = tf.minimum(step, tf.maximum(max_new, 0))
            raw_tokens = stack_steps(arrays["tokens"], steps)
            # A row's length is the index of its first stop (or `steps` when it has none):
            # the first True of its stop marks followed by one extra True.
            stops = tf.gather(seen["is_stop"], raw_tokens)
            lengths = tf.argmax(tf.concat([stops, tf.ones([batch, 1], tf.bool)], axis=1), axis=1, output_type=tf.int32)
            finished = lengths < steps
            tokens = mask_steps(raw_tokens, tf.sequence_mask(lengths, steps))
            ran = tf.sequence_mask(lengths + tf.cast(finished, tf.int32), steps)  # the stop step included
            aux = {name: mask_steps(stack_steps(array, steps), ran) for name, array in arrays["aux"].items()}
            outputs = [tokens, lengths, finished, aux]
            if with_log_probs:
                outputs.append(tf.reduce_sum(mask_steps(stack_steps(arrays["log_probs"], steps), ran), axis=1))
            return tuple(outputs)

        return run

    if mode is None:
        index = _choice_mode(temperature, top_k, top_p, seen["vocab"])
        outputs = tf.switch_case(index, [loop_with(choose) for choose in choosers])
    else:
        outputs = loop_with(choosers[CHOICE_MODES.index(mode)])()
    tokens, lengths, finished, aux = outputs[:4]
    return SampleResult(tokens, lengths, finished, outputs[4] if with_log_probs else None, aux)
