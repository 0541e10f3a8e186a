"""Serving functions of the language model: in-graph generation from raw prompts."""

import tensorflow as tf

from rnnapps.decoding import BanTokens, beam_search, sample
from rnnapps.decoding.limits import DEFAULT_LIMITS, assert_batch_within, last_tokens
from rnnapps.text.detokenize import detokenize_graph

_REGEX_SPECIAL = r"([\\.^$|?*+()\[\]{}])"


def generation_signature(with_stop=False):
    """Request signature of the `generate` endpoint (scalar knobs, a batch of prompts)."""
    signature = [
        tf.TensorSpec([None], tf.string, name="prompt"),
        tf.TensorSpec([], tf.int32, name="max_length"),
        tf.TensorSpec([], tf.float32, name="temperature"),
        tf.TensorSpec([], tf.int32, name="top_k"),
        tf.TensorSpec([], tf.float32, name="top_p"),
        tf.TensorSpec([], tf.int64, name="seed"),
    ]
    if with_stop:
        signature.append(tf.TensorSpec([None], tf.string, name="stop"))
    return signature


def loop_step_fn(models):
    """The sampling / beam-search step function `(tokens, states) -> (logits, states, {})` of a language model.

    Call it inside each generation graph: `LanguageModels.token_step` may compute a
    per-call input-projection table there, once, outside the loop.
    """
    token_step = models.token_step()
    return lambda tokens, states: token_step(tokens, states) + ({},)


def _language_model_parts(vectorizer, models, level, limits=DEFAULT_LIMITS):
    """What every generation graph needs besides its step: prompt prefill, stop ids, joining the output.

    A request of more than `limits.max_batch` prompts fails; the model reads the last
    `limits.max_prompt_tokens` tokens of a longer prompt."""
    vocabulary = vectorizer.get_vocabulary()
    token_strings = tf.constant(["", ""] + vocabulary)  # padding and <unk> never print
    # An empty prompt starts from a line break (char level) or the most frequent token.
    start_id = vocabulary.index("\n") + 2 if level == "char" and "\n" in vocabulary else 2

    def prefill(prompt):
        """Prompts [B] -> (the last prompt id [B], the states after all ids before it)."""
        with tf.control_dependencies([assert_batch_within(tf.size(prompt), limits, "prompts")]):
            ids = last_tokens(vectorizer.vectorize(prompt), limits)
        empty = tf.cast(ids.row_lengths() == 0, tf.int64)
        starts = tf.RaggedTensor.from_row_lengths(tf.fill([tf.reduce_sum(empty)], tf.constant(start_id, tf.int32)), empty)
        ids = tf.concat([starts, ids], axis=1)
        last = tf.gather(ids.values, ids.row_limits() - 1)
        before = ids[:, :-1].to_tensor(0)
        before = tf.pad(before, [[0, 0], [0, tf.maximum(0, 1 - tf.shape(before)[1])]])  # >= 1 step
        outputs = models.prefill(before, training=False)
        return last, tuple(outputs[1:])

    def stop_ids(stop):
        """The ids of stop strings that are exactly one token (they end the loop early)."""
        ids = vectorizer.vectorize(stop)
        single = tf.boolean_mask(ids.row_starts(), ids.row_lengths() == 1)
        return tf.gather(ids.values, single)

    def join(tokens, lengths, prompt, stop):
        pieces = tf.RaggedTensor.from_tensor(tf.gather(token_strings, tokens), lengths=lengths)
        generated = detokenize_graph(pieces, level)
        escaped = tf.strings.regex_replace(stop, _REGEX_SPECIAL, r"\\\1")
        pattern = tf.strings.join(["(?s)(", tf.strings.reduce_join(escaped, separator="|"), ").*"])
        generated = tf.cond(
            tf.size(stop) > 0,
            lambda: tf.strings.regex_replace(generated, pattern, ""),
            lambda: generated,
        )
        if level == "char":
            text = tf.strings.join([prompt, generated])
        else:  # words: one space between a non-empty prompt and a non-empty continuation
            both = (tf.strings.length(prompt) > 0) & (tf.strings.length(generated) > 0)
            text = tf.strings.join([prompt, tf.where(both, " ", ""), generated])
        return text, generated

    return prefill, stop_ids, join


def generation_serving_fn(vectorizer, models, level, limits=DEFAULT_LIMITS):
    """Returns `serve(prompt, max_length, temperature, top_k, top_p, seed, stop)` -> dict.

    Outputs: `text` (prompt + continuation), `generated` (continuation only) and
    `token_ids` `int32[B, N]` (0 after a row ends). Sampling runs as one in-graph
    `tf.while_loop` over the step model (the RNN state is the cache), with stateless
    RNG seeded by `seed`, padding and `<unk>` never generated, and `stop` strings
    ending a text (one-token stops end its loop early). Any knob value gives a defined
    result: `max_length` is clipped to `[0, limits.max_new_tokens]`, temperature <= 0
    is greedy, top_k <= 0 and top_p >= 1 are off; a prompt is read by its last
    `limits.max_prompt_tokens` tokens; more than `limits.max_batch` prompts fail the
    request (see `rnnapps.decoding.limits`).

    Example:
        >>> serve = generation_serving_fn(gen.vectorizer, gen.models, "char")  # doctest: +SKIP
    """
    prefill, stop_ids, join = _language_model_parts(vectorizer, models, level, limits)
    banned = BanTokens([0, 1])
    max_new_tokens = limits.max_new_tokens

    def serve(prompt, max_length, temperature, top_k, top_p, seed, stop):
        last, states = prefill(prompt)
        result = sample(
            loop_step_fn(models), last, states, tf.clip_by_value(max_length, 0, max_new_tokens),
            temperature=temperature, top_k=top_k, top_p=top_p,
            seed=tf.stack([seed, tf.constant(0, tf.int64)]), stop_ids=stop_ids(stop), processor=banned, with_log_probs=False,
        )
        text, generated = join(result.tokens, result.lengths, prompt, stop)
        return {"text": text, "generated": generated, "token_ids": result.tokens}

    return serve


def beam_generation_fn(vectorizer, models, level, beam_width, limits=DEFAULT_LIMITS):
    """Like `generation_serving_fn`, with beam search (the most likely continuation).

    Returns a `tf.function` `(prompt, max_length, stop) -> dict`. The first one-token
    stop string is the beam's end token.
    """
    prefill, stop_ids, join = _language_model_parts(vectorizer, models, level, limits)
    banned = BanTokens([0, 1])

    @tf.function(reduce_retracing=True)
    def run(prompt, max_length, stop):
        last, states = prefill(prompt)
        ends = tf.concat([stop_ids(stop), [-1]], axis=0)
        result = beam_search(loop_step_fn(models), last, states, tf.clip_by_value(max_length, 0, limits.max_new_tokens), beam_width, end_id=ends[0], processor=banned)
        text, generated = join(result.tokens[:, 0], result.lengths[:, 0], prompt, stop)
        return {"text": text, "generated": generated, "token_ids": result.tokens[:, 0]}

    return run
