"""In-graph beam search over a step function, with GNMT length penalty and processors.

One `tf.while_loop` keeps K hypotheses per batch row. Each step scores every
(hypothesis, next token) pair, keeps the K best, and reorders the step function's states
(and the processor's) by parent. A finished hypothesis stays in the beam unchanged:
its only candidate is itself, with its final score, so it competes with the growing
ones until something better pushes it out. Tokens, parents and aux outputs go into
TensorArrays; the paths are recovered after the loop by walking the parents back.
"""

import collections

import tensorflow as tf

from rnnapps.decoding.loop_utils import (
    as_scalar,
    conform,
    mask_steps,
    shape_invariants,
    write_step,
)
from rnnapps.decoding.processors import LogitsProcessor
from rnnapps.errors import ConfigError

BeamResult = collections.namedtuple("BeamResult", "tokens lengths scores log_probs aux")
BeamResult.__doc__ = """Output of `beam_search` (all tensors; R = num_results, best first).

tokens: int32 `[B, R, N]`; end token excluded; 0 after the end.
lengths: int32 `[B, R]`, real tokens (end token excluded).
scores: float32 `[B, R]`, `log_probs / ((5 + n) / 6) ** length_penalty`, n = lengths
    plus 1 when the end token was produced.
log_probs: float32 `[B, R]`, raw sum of log-probabilities (end token included).
aux: dict of `[B, R, N, ...]`, the step function's aux along each chosen path; kept for
    every step of the hypothesis (including the one producing the end token), 0 after.
"""

_NEG_INF = -float("inf")


def _length_penalty(length, alpha):
    """GNMT's `((5 + length) / 6) ** alpha` (exactly 1 for alpha = 0)."""
    return tf.pow((5.0 + tf.cast(length, tf.float32)) / 6.0, alpha)


def tile_beams(value, beam_width):
    """`[B, ...]` -> `[B * K, ...]`, every row repeated K times in a row (b-major)."""
    return tf.repeat(value, beam_width, axis=0)


def beam_search(
    step_fn,
    start_tokens,
    states,
    max_new_tokens,
    beam_width,
    *,
    end_id,
    length_penalty=0.0,
    num_results=1,
    processor=None,
):
    """Finds the K most likely continuations per row with an in-graph beam search.

    Args:
        step_fn: `(tokens int32 [B*K], states) -> (logits [B*K, V], new_states, aux dict)`,
            as for `sample`.
        start_tokens: int `[B]`, the token fed at the first step.
        states: the initial states, a tuple (or any nest) of tensors `[B, ...]`; tiled to
            `[B*K, ...]`. A state the step function returns unchanged (the very same
            tensor, e.g. encoder outputs) is not re-gathered each step.
        max_new_tokens: int scalar (Python or tensor); `<= 0` gives N = 0, lengths 0,
            scores/log_probs 0 for the first result and -inf for the others.
        beam_width: Python int K >= 1; 1 gives exactly the greedy result of `sample`.
        end_id: int scalar (Python or tensor); a hypothesis ends after producing it. An id
            outside the vocabulary (e.g. -1) means no end token: all run `max_new_tokens`.
        length_penalty: float scalar alpha (Python or tensor); 0 ranks by the plain sum.
        num_results: Python int R, 1 <= R <= K.
        processor: optional `LogitsProcessor`; its state is tiled and reordered like the states.

    Returns:
        `BeamResult(tokens, lengths, scores, log_probs, aux)`, results best first. When
        the beam holds fewer than R real hypotheses (tiny vocabularies, or a processor
        forbidding most tokens), the extra results have score and log_probs -inf, length 0
        and no tokens.

    The loop stops at `max_new_tokens`, or once in every row the R best hypotheses are
    finished and no unfinished one can still beat them (checked with the best score it
    could reach, whatever the sign of alpha). Note: like any beam search this is not
    exhaustive; beyond two steps it can, rarely, end below the greedy path's log-prob.

    Example:
        >>> table = tf.math.log(tf.constant([[0.1, 0.5, 0.4], [0.9, 0.05, 0.05], [0.0, 0.0, 1.0]]))
        >>> step = lambda tokens, states: (tf.gather(table, tokens), states, {})
        >>> beam_search(step, tf.constant([1]), (), 3, 2, end_id=0).lengths.numpy().tolist()
        [[0]]
    """
    beam_width = int(beam_width)
    num_results = int(num_results)
    if beam_width < 1:
        raise ConfigError(f"beam_width must be >= 1, got {beam_width}")
    if not 1 <= num_results <= beam_width:
        raise ConfigError(f"num_results must be in [1, beam_width={beam_width}], got {num_results}")
    start_tokens = tf.cast(start_tokens, tf.int32)
    max_new = as_scalar(max_new_tokens, tf.int32)
    end_id = as_scalar(end_id, tf.int32)
    alpha = as_scalar(length_penalty, tf.float32)
    processor = processor if processor is not None else LogitsProcessor()
    batch = tf.shape(start_tokens)[0]
    width = beam_width
    # Row b's beams sit at b*K .. b*K+K-1; `offsets` turns a parent slot into a flat index.
    offsets = tf.range(batch)[:, None] * width

    def tile(nest):
        return tf.nest.map_structure(lambda t: tile_beams(tf.convert_to_tensor(t), width), nest)

    def reorder(old, new, flat_parents):
        # A state the step handed back untouched still holds K equal copies per row
        # (the initial tiling), so gathering it would only copy memory.
        return tf.nest.map_structure(
            lambda o, n: n if n is o else tf.gather(n, flat_parents), old, conform(old, new)
        )

    def body(step, tokens, states, proc_state, log_probs, lengths, finished, done, arrays):
        logits, new_states, aux = step_fn(tokens, states)
        logits = processor.process(tf.cast(logits, tf.float32), step, proc_state)
        vocab = tf.shape(logits)[-1]
        token_log_probs = tf.reshape(tf.nn.log_softmax(logits), [batch, width, vocab])
        # A running beam's candidates add the token's log-prob and one to the length; a
        # finished beam's only candidate is itself (token 0, +0) at its final length.
        # Built in three passes over [B, K, V]: this is the hot part of the loop.
        only_self = tf.where(tf.equal(tf.range(vocab), 0), 0.0, _NEG_INF)[None, None, :]
        sums = log_probs[:, :, None] + tf.where(finished[:, :, None], only_self, token_log_probs)
        penalty = tf.where(finished, _length_penalty(lengths + 1, alpha), _length_penalty(step + 1, alpha))
        scores = sums / penalty[:, :, None]
        # top_k breaks ties toward the lower flat index: earlier beam, then lower id,
        # which is what makes beam_width 1 pick exactly the argmax.
        best_scores, best = tf.math.top_k(tf.reshape(scores, [batch, width * vocab]), k=width)
        parents = best // vocab
        chosen = best % vocab
        new_log_probs = tf.gather(tf.reshape(sums, [batch, width * vocab]), best, batch_dims=1)
        parent_finished = tf.gather(finished, parents, batch_dims=1)
        parent_lengths = tf.gather(lengths, parents, batch_dims=1)
        # `step < max_new` is only False in the peeled first step when max_new <= 0.
        growing = tf.logical_not(parent_finished) & (step < max_new)
        ended = growing & tf.equal(chosen, end_id)
        new_lengths = parent_lengths + tf.cast(growing & tf.logical_not(ended), tf.int32)
        new_finished = parent_finished | ended

        flat_parents = tf.reshape(parents + offsets, [-1])
        flat_chosen = tf.reshape(chosen, [-1])
        states = reorder(states, new_states, flat_parents)
        proc_state = tf.nest.map_structure(lambda s: tf.gather(s, flat_parents), proc_state)
        proc_state = conform(proc_state, processor.update(proc_state, flat_chosen, step))
        aux = tf.nest.map_structure(
            lambda a: tf.reshape(a, tf.concat([[batch, width], tf.shape(a)[1:]], axis=0)), dict(aux or {})
        )
        # The aux of step t belongs to the parent slot: stored as is, gathered after the loop.
        arrays = write_step(arrays, step, (chosen, parents, aux))

        # Stop early when, in every row, the R best are finished and no running beam
        # can still reach their score: its sum can only fall, and its penalty is
        # monotonic in the length, so the best reachable is at one end of the range.
        running = tf.logical_not(new_finished)
        reachable = tf.maximum(
            new_log_probs / _length_penalty(step + 2, alpha),
            new_log_probs / _length_penalty(tf.maximum(max_new, step + 2), alpha),
        )
        best_reachable = tf.reduce_max(tf.where(running, reachable, _NEG_INF), axis=1)
        top_done = tf.reduce_all(new_finished[:, :num_results], axis=1)
        row_done = top_done & (best_reachable <= best_scores[:, num_results - 1])
        done = tf.reduce_all(row_done)
        return (
            step + 1, flat_chosen, states, proc_state, new_log_probs, new_lengths, new_finished, done, arrays,
        )

    # Only the first beam of each row starts alive, so step 0 does not fill the beam
    # with K copies of the same extension.
    first_beam = tf.one_hot(tf.zeros([batch], tf.int32), width, on_value=0.0, off_value=_NEG_INF)
    initial = (
        tf.constant(0),
        tile_beams(start_tokens, width),
        tile(states),
        tile(processor.initial_state(batch)),
        first_beam,
        tf.zeros([batch, width], tf.int32),
        tf.zeros([batch, width], tf.bool),
        tf.constant(False),
        None,
    )
    loop_vars = body(*initial)

    def keep_going(step, tokens, states, proc_state, log_probs, lengths, finished, done, arrays):
        return (step < max_new) & tf.logical_not(done)

    step, _, _, _, log_probs, lengths, finished, _, arrays = tf.while_loop(
        keep_going, body, loop_vars, shape_invariants=shape_invariants(loop_vars)
    )
    steps = tf.minimum(step, tf.maximum(max_new, 0))
    token_array, parent_array, aux_arrays = arrays
    # With max_new <= 0 the peeled step counted for nothing: report the initial beam.
    ran = steps > 0
    log_probs = tf.where(ran, log_probs, first_beam)[:, :num_results]
    lengths = tf.where(ran, lengths, 0)[:, :num_results]
    finished = tf.where(ran, finished, False)[:, :num_results]
    # Results that are not real hypotheses (score -inf) report no tokens.
    real = log_probs > _NEG_INF
    lengths = tf.where(real, lengths, 0)
    finished = finished & real

    # Walk the parents back from the final slots 0..R-1 (beams are sorted by score).
    all_parents = parent_array.stack()  # [T, B, K]

    def back(slots, parents_t):
        return tf.gather(parents_t, slots, batch_dims=1)

    final_slots = tf.tile(tf.range(num_results)[None, :], [batch, 1])
    parent_slots = tf.scan(back, all_parents, initializer=final_slots, reverse=True)  # [T, B, R]
    # Slot after step t = the parent slot found at step t + 1 (the final slots for the last step).
    slots = tf.concat([parent_slots[1:], final_slots[None]], axis=0)
    tokens = tf.gather(token_array.stack(), slots, batch_dims=2)  # [T, B, R]
    tokens = tf.transpose(tokens, [1, 2, 0])[:, :, :steps]
    tokens = mask_steps(tokens, tf.sequence_mask(lengths, steps))
    alive_steps = tf.sequence_mask(lengths + tf.cast(finished, tf.int32), steps)
    aux = {}
    for name, array in aux_arrays.items():
        # Step t's aux was computed on the parent slots: [T, B, K, ...] -> [T, B, R, ...].
        per_step = tf.gather(array.stack(), parent_slots, batch_dims=2)
        perm = tf.concat([[1, 2, 0], tf.range(3, tf.rank(per_step))], axis=0)
        aux[name] = mask_steps(tf.transpose(per_step, perm)[:, :, :steps], alive_steps)
    scores = log_probs / _length_penalty(lengths + tf.cast(finished, tf.int32), alpha)
    return BeamResult(tokens, lengths, scores, log_probs, aux)
