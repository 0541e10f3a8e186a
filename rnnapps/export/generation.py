"""Serving functions of the language model: in-graph generation from raw prompts."""

import tensorflow as tf

from rnnapps.decoding import BanTokens, beam_search, sample
from rnnapps.decoding.limits import DEFAULT_LIMITS, assert_batch_within, last_tokens
from rnnapps.decoding.loop_utils import shape_invariants
from rnnapps.text.detokenize import detokenize_graph
from rnnapps.text.vectorizer import FIRST_TOKEN_ID, OOV_ID, PADDING_ID

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


def loop_step_fn(models, token_step=None):
    """The sampling / beam-search step function `(tokens, states) -> (logits, states, {})` of a language model.

    Call it inside each generation graph: `LanguageModels.token_step` may compute a
    per-call input-projection table there, once, outside the loop (pass the
    `token_step` the graph already made to share that table).
    """
    token_step = token_step or models.token_step()
    return lambda tokens, states: token_step(tokens, states) + ({},)


def prefill_states(token_step, ids, lengths, state_sizes):
    """The states after the first `lengths[b]` ids of each row: a loop of `token_step`.

    The generation loop's own step run over the prompts (rows that are done keep their
    states), rather than the functional prefill model: the same maths (see
    `LanguageModels.token_step`), with a fraction of the ops to trace and start up,
    which is what a first generation call pays for. It runs `max(lengths)` steps.

    Args:
        token_step: `(tokens int32 [B], states tuple) -> (logits, states tuple)`.
        ids: int32 `[B, T]`, right-padded; `lengths`: int32 `[B]` (each <= T).
        state_sizes: the width of each state (`LanguageModels.state_sizes`).
    """
    batch = tf.shape(ids)[0]
    states = tuple(tf.zeros([batch, int(size)], tf.float32) for size in state_sizes)

    def body(t, states):
        _, new_states = token_step(ids[:, t], states)
        running = (t < lengths)[:, None]
        return t + 1, tuple(tf.where(running, tf.cast(new, old.dtype), old) for new, old in zip(new_states, states))

    loop_vars = (tf.constant(0), states)
    _, states = tf.while_loop(
        lambda t, states: t < tf.reduce_max(lengths), body, loop_vars, shape_invariants=shape_invariants(loop_vars)
    )
    return states


def _language_model_parts(vectorizer, models, level, limits=DEFAULT_LIMITS):
    """What every generation graph needs besides its step: prompt prefill, stop ids, joining the output.

    A request of more than `limits.max_batch` prompts fails; the model reads the last
    `limits.max_prompt_tokens` tokens of a longer prompt."""
    token_strings = tf.constant(vectorizer.tokens_by_id(printable=True))  # padding and <unk> never print
    # An empty prompt starts from a line break (char level) or the most frequent token.
    start_id = vectorizer.token_to_id("\n") if level == "char" else OOV_ID
    start_id = FIRST_TOKEN_ID if start_id == OOV_ID else start_id

    def prefill(prompt, token_step):
        """Prompts [B] -> (the last prompt id [B], the states after all ids before it)."""
        # Dense ops only: the ragged ones (and their shape checks) were a third of the
        # tracing and start-up time of a first generation call, for a few ids.
        with tf.control_dependencies([assert_batch_within(tf.size(prompt), limits, "prompts")]):
            ids = last_tokens(vectorizer.vectorize(prompt), limits)
        lengths = tf.cast(ids.row_lengths(), tf.int32)
        ids = tf.pad(ids.to_tensor(0), [[0, 0], [0, 1]])  # >= 1 column
        positions = tf.range(tf.shape(ids)[1])[None, :]
        ids = tf.where((lengths[:, None] == 0) & (positions == 0), start_id, ids)  # empty prompt: the start id
        lengths = tf.maximum(lengths, 1)
        last = tf.gather(ids, lengths - 1, batch_dims=1)
        return last, prefill_states(token_step, ids, lengths - 1, models.state_sizes)

    def stop_ids(stop):
        """The ids of stop strings that are exactly one token (they end the loop early)."""
        ids = vectorizer.vectorize(stop)
        single = tf.boolean_mask(ids.row_starts(), ids.row_lengths() == 1)
        return tf.gather(ids.values, single)

    def join(tokens, lengths, prompt, stop):
        """Output strings; `stop` None: no stop strings (nothing traced for them)."""
        if level == "char":
            # Characters join without separators, and padding / <unk> print as "": one
            # dense reduce_join (the ragged route traces ~200 ops for the same strings).
            real = tf.sequence_mask(lengths, tf.shape(tokens)[1])
            generated = tf.strings.reduce_join(tf.gather(token_strings, tf.where(real, tokens, 0)), axis=1)
        else:
            pieces = tf.RaggedTensor.from_tensor(tf.gather(token_strings, tokens), lengths=lengths)
            generated = detokenize_graph(pieces, level)
        if stop is not None:
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


def generation_serving_fn(vectorizer, models, level, limits=DEFAULT_LIMITS, mode=None):
    """Returns `serve(prompt, max_length, temperature, top_k, top_p, seed, stop=None)` -> dict.

    Outputs: `text` (prompt + continuation), `generated` (continuation only) and
    `token_ids` `int32[B, N]` (0 after a row ends). Sampling runs as one in-graph
    `tf.while_loop` over the step model (the RNN state is the cache), with stateless
    RNG seeded by `seed`, padding and `<unk>` never generated, and `stop` strings
    ending a text (one-token stops end its loop early). Any knob value gives a defined
    result: `max_length` is clipped to `[0, limits.max_new_tokens]`, temperature <= 0
    is greedy, top_k <= 0 and top_p >= 1 are off; a prompt is read by its last
    `limits.max_prompt_tokens` tokens; more than `limits.max_batch` prompts fail the
    request (see `rnnapps.decoding.limits`).

    Tracing less, for a fast first call from Python (`TextGenerator.generate`): `mode`
    (see `rnnapps.decoding.choice_mode`) fixes greedy / plain / truncated sampling when
    the knobs are known, so the graph holds one loop instead of three, and `stop=None`
    (not an empty tensor) leaves the stop-string handling out of the graph. A serving
    signature keeps `mode=None`: its knobs are request tensors.

    Example:
        >>> serve = generation_serving_fn(gen.vectorizer, gen.models, "char")  # doctest: +SKIP
    """
    prefill, stop_ids, join = _language_model_parts(vectorizer, models, level, limits)
    banned = BanTokens([PADDING_ID, OOV_ID])
    max_new_tokens = limits.max_new_tokens

    def serve(prompt, max_length, temperature, top_k, top_p, seed, stop=None):
        token_step = models.token_step()
        last, states = prefill(prompt, token_step)
        result = sample(
            loop_step_fn(models, token_step), last, states, tf.clip_by_value(max_length, 0, max_new_tokens),
            temperature=temperature, top_k=top_k, top_p=top_p, seed=tf.stack([seed, tf.constant(0, tf.int64)]),
            stop_ids=() if stop is None else stop_ids(stop), processor=banned, with_log_probs=False, mode=mode,
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
    banned = BanTokens([PADDING_ID, OOV_ID])

    @tf.function(reduce_retracing=True, autograph=False)  # explicit loops: AutoGraph would only add tracing time
    def run(prompt, max_length, stop):
        token_step = models.token_step()
        last, states = prefill(prompt, token_step)
        ends = tf.concat([stop_ids(stop), [-1]], axis=0)
        result = beam_search(loop_step_fn(models, token_step), last, states, tf.clip_by_value(max_length, 0, limits.max_new_tokens), beam_width, end_id=ends[0], processor=banned)
        text, generated = join(result.tokens[:, 0], result.lengths[:, 0], prompt, stop)
        return {"text": text, "generated": generated, "token_ids": result.tokens[:, 0]}

    return run


def generation_request(prompts, max_length, temperature, top_k, top_p, seed, stops=()):
    """The tensors of one call of a `generation_serving_fn` (its `generate` signature), by
    name; `stop` only when there are stop strings (`generation_signature(with_stop=True)`)."""
    request = dict(
        prompt=tf.constant(prompts, tf.string),
        max_length=tf.constant(max_length, tf.int32),
        temperature=tf.constant(float(temperature), tf.float32),
        top_k=tf.constant(int(top_k), tf.int32),
        top_p=tf.constant(float(top_p), tf.float32),
        seed=tf.constant(seed, tf.int64),
    )
    if stops:
        request["stop"] = tf.constant(stops, tf.string, shape=[len(stops)])
    return request


def generation_results(outputs):
    """A generation graph's outputs as Python lists: texts, generated texts, token ids (no padding)."""
    return (
        [t.decode("utf-8") for t in outputs["text"].numpy()],
        [t.decode("utf-8") for t in outputs["generated"].numpy()],
        [row[row > 0].tolist() for row in outputs["token_ids"].numpy()],
    )


def generation_endpoints(vectorizer, models, level, limits=DEFAULT_LIMITS):
    """The endpoints `(name, fn, signature)` of a language model's export (`TextGenerator.export`):
    `serving_default(prompt)` (200 new tokens, temperature 1, seed 0) and `generate` with
    every knob per request."""
    serve = generation_serving_fn(vectorizer, models, level, limits)

    def generate(prompt, max_length, temperature, top_k, top_p, seed):
        return serve(prompt, max_length, temperature, top_k, top_p, seed)

    def serving_default(prompt):
        return generate(
            prompt, tf.constant(200, tf.int32), tf.constant(1.0), tf.constant(0, tf.int32),
            tf.constant(1.0), tf.constant(0, tf.int64),
        )

    return [
        ("serving_default", serving_default, [tf.TensorSpec([None], tf.string, name="prompt")]),
        ("generate", generate, generation_signature(with_stop=False)),
    ]
