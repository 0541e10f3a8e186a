"""Toy step functions for the decoding tests: bigram tables and a tiny LSTM.

A bigram step ignores everything but the fed token (`logits = log(table[token])`),
so the model's best sequences can be worked out by hand or by brute force.
"""

import itertools

import keras
import numpy as np
import tensorflow as tf

from rnnapps.decoding import LogitsProcessor


def bigram_step(table, with_counter=False):
    """`step_fn` over a `[V, V]` probability (or log-probability) table.

    With `with_counter`, the state is `(counter int32 [B],)`, incremented every step,
    and aux holds `step` (the counter before the step) and `fed` (the input token).
    """
    log_table = tf.convert_to_tensor(table, tf.float32)

    def step_fn(tokens, states):
        logits = tf.gather(log_table, tokens)
        if not with_counter:
            return logits, states, {}
        (counter,) = states
        return logits, (counter + 1,), {"step": counter, "fed": tokens}

    return step_fn


def log_table(probs):
    """Row-normalised log-probabilities of a nonnegative table (0 -> -inf)."""
    probs = np.asarray(probs, dtype="float64")
    with np.errstate(divide="ignore"):
        return np.log(probs / probs.sum(axis=1, keepdims=True)).astype("float32")


def sequence_log_prob(logits_table, start, tokens):
    """Sum of log-softmax(table[previous])[token] along `tokens` (a bigram model)."""
    table = np.asarray(logits_table, dtype="float64")
    top = table.max(axis=1, keepdims=True)
    log_probs = table - (top + np.log(np.exp(table - top).sum(axis=1, keepdims=True)))
    total, previous = 0.0, start
    for token in tokens:
        total += log_probs[previous, token]
        previous = token
    return total


def best_sequence(logits_table, start, length, end_id=-1, allowed=None):
    """Brute force: the most likely hypothesis of at most `length` tokens (ending at `end_id`).

    `allowed(tokens)` may reject sequences (a constraint); returns `(tokens, log_prob)`.
    """
    vocab = len(logits_table)
    best, best_lp = None, -np.inf
    for n in range(1, length + 1):
        for tokens in itertools.product(range(vocab), repeat=n):
            ended = [i for i, t in enumerate(tokens) if t == end_id]
            if ended and ended[0] != n - 1:
                continue  # a hypothesis ends at its first end token
            if not ended and n < length:
                continue  # an unfinished one runs to the limit
            if allowed is not None and not allowed(tokens):
                continue
            lp = sequence_log_prob(logits_table, start, tokens)
            if lp > best_lp:
                best, best_lp = tokens, lp
    return best, best_lp


class LstmStep:
    """A tiny LSTM language-model step: embedding -> LSTMCell -> dense logits."""

    def __init__(self, vocab=7, units=8, seed=0):
        keras.utils.set_random_seed(seed)
        self.vocab, self.units = vocab, units
        self.embedding = keras.layers.Embedding(vocab, 5)
        self.cell = keras.layers.LSTMCell(units)
        # Large output weights: peaked distributions, so greedy paths are not near-ties.
        self.dense = keras.layers.Dense(vocab, kernel_initializer=keras.initializers.RandomNormal(stddev=3.0))
        self(tf.zeros([1], tf.int32), self.initial_states(1))  # build the weights eagerly

    def initial_states(self, batch):
        return (tf.zeros([batch, self.units]), tf.zeros([batch, self.units]))

    def __call__(self, tokens, states):
        output, new_states = self.cell(self.embedding(tokens), list(states))
        return self.dense(output), tuple(new_states), {"hidden": output}

    def python_greedy(self, start_tokens, steps, stop_ids=()):
        """Reference: a Python loop carrying the states, one row at a time."""
        rows = []
        for start in start_tokens:
            states, token, tokens, total = self.initial_states(1), int(start), [], 0.0
            for _ in range(steps):
                logits, states, _ = self(tf.constant([token]), states)
                log_probs = tf.nn.log_softmax(logits)[0].numpy()
                token = int(np.argmax(logits[0].numpy()))
                total += float(log_probs[token])
                if token in stop_ids:
                    break
                tokens.append(token)
            rows.append((tokens, total))
        return rows


class NoRepeat(LogitsProcessor):
    """Forbids choosing the token chosen at the previous step (state: that token, -1 at first)."""

    def initial_state(self, batch_size):
        return (tf.fill([batch_size], -1),)

    def process(self, logits, step, state):
        (previous,) = state
        same = tf.equal(tf.range(tf.shape(logits)[-1])[None, :], previous[:, None])
        return tf.where(same, -np.inf, logits)

    def update(self, state, tokens, step):
        return (tokens,)
