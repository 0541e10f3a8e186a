"""Logits processors: constraints that the decoding loops apply before choosing a token.

A processor edits the model's logits at every step (typically adding `-inf` where a
token is forbidden) and may carry its own per-row state through the loop, e.g. the
position in a poem's line, the next letter of an acrostic, or the previous token for a
no-repeat rule. Everything runs inside the loop's graph, so only TensorFlow ops.

Contract (what `sample` and `beam_search` call):

- `initial_state(batch_size)` -> a tuple (or any nest) of tensors `[B, ...]`;
  `batch_size` is a scalar int32 tensor.
- `process(logits, step, state)` -> logits `[B, V]` float32; `step` is an int32 scalar,
  0 for the first new token.
- `update(state, tokens, step)` -> the next state, after `tokens` `[B]` were chosen.

Beam search tiles the state to `[B * K, ...]` and reorders it by beam parent every
step, exactly like the model states, so `process`/`update` only ever see rows. Rows
that already finished keep being processed (their tokens are padding from then on);
whatever a processor does to them is discarded.
"""

import numpy as np
import tensorflow as tf


class LogitsProcessor:
    """Base class and the no-op processor: no state, logits unchanged.

    Subclass it and override what you need.

    Example:
        >>> class NoToken3(LogitsProcessor):
        ...     def process(self, logits, step, state):
        ...         return logits + tf.one_hot(3, tf.shape(logits)[-1], on_value=-float("inf"))
    """

    def initial_state(self, batch_size):
        """The state before the first step: a tuple of tensors `[B, ...]`."""
        del batch_size
        return ()

    def process(self, logits, step, state):
        """Returns the constrained logits `[B, V]` for `step`."""
        del step, state
        return logits

    def update(self, state, tokens, step):
        """Returns the state after `tokens` `[B]` were chosen at `step`."""
        del tokens, step
        return state


class BanTokens(LogitsProcessor):
    """Never lets the loops choose any of `ids` (e.g. padding 0 and `<unk>` 1).

    Args:
        ids: a list of token ids or an int tensor `[S]`; ids outside `[0, V)` are ignored.

    Example:
        >>> banned = BanTokens([0, 1])
        >>> banned.process(tf.zeros([1, 4]), 0, ()).numpy().tolist()
        [[-inf, -inf, 0.0, 0.0]]
    """

    def __init__(self, ids):
        # Converted when used, so a processor made outside a tf.function works inside one.
        self.ids = ids

    def process(self, logits, step, state):
        vocab_size = logits.shape[-1]
        if vocab_size is not None and not tf.is_tensor(self.ids):
            # Known ids and vocabulary: one constant 0 / -inf row added per step instead
            # of a comparison grid (this runs at every generated token; an add costs a
            # fifth of a broadcasting select).
            penalty = np.zeros([vocab_size], logits.dtype.as_numpy_dtype)
            ids = np.asarray(self.ids, np.int64).reshape([-1])
            penalty[ids[(ids >= 0) & (ids < vocab_size)]] = -np.inf
            return logits + tf.constant(penalty)[None, :]
        ids = tf.reshape(tf.cast(self.ids, tf.int32), [-1])
        vocab = tf.range(tf.shape(logits)[-1], dtype=tf.int32)
        banned = tf.reduce_any(tf.equal(vocab[:, None], ids[None, :]), axis=1)  # [V]
        return tf.where(banned[None, :], tf.constant(-float("inf"), logits.dtype), logits)


class ProcessorChain(LogitsProcessor):
    """Applies several processors in order; its state is the tuple of their states.

    Args:
        processors: `LogitsProcessor`s (None entries are skipped).

    Example:
        >>> chain = ProcessorChain([BanTokens([0]), BanTokens([1])])
        >>> chain.process(tf.zeros([1, 3]), 0, chain.initial_state(1)).numpy().tolist()
        [[-inf, -inf, 0.0]]
    """

    def __init__(self, processors):
        self.processors = [p for p in processors if p is not None]

    def initial_state(self, batch_size):
        return tuple(p.initial_state(batch_size) for p in self.processors)

    def process(self, logits, step, state):
        for processor, own in zip(self.processors, state):
            logits = processor.process(logits, step, own)
        return logits

    def update(self, state, tokens, step):
        return tuple(p.update(own, tokens, step) for p, own in zip(self.processors, state))
