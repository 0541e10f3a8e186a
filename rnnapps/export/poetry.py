"""Serving functions of the poetry generator: constrained poem generation in the graph.

`poem_serving_fn` returns the function behind both the Python `generate` and the
exported `generate` endpoint, so an export writes the same poems as the app.
"""

import tensorflow as tf

from rnnapps.data.poem_batches import END, START
from rnnapps.decoding import sample
from rnnapps.decoding.limits import DEFAULT_LIMITS, assert_batch_within
from rnnapps.decoding.poetry import PoemConstraints, forced_tokens
from rnnapps.export.generation import loop_step_fn, prefill_states
from rnnapps.text.poem_forms import MAX_FREE_TOKENS, MAX_MOOD_CHARS, REQUEST_FORMS  # noqa: F401 (MAX_FREE_TOKENS re-exported)


def poem_signature():
    """Request signature of the `generate` endpoint (its `TensorSpec` names are the request keys).

    Example:
        >>> [spec.name for spec in poem_signature()][:3]
        ['form', 'acrostic', 'first_line']
    """
    return [
        tf.TensorSpec([], tf.string, name="form"),
        tf.TensorSpec([None], tf.string, name="acrostic"),
        tf.TensorSpec([None], tf.string, name="first_line"),
        tf.TensorSpec([None], tf.string, name="mood"),
        tf.TensorSpec([], tf.bool, name="rhyme"),
        tf.TensorSpec([], tf.bool, name="no_repeat"),
        tf.TensorSpec([], tf.float32, name="temperature"),
        tf.TensorSpec([], tf.int32, name="top_k"),
        tf.TensorSpec([], tf.int64, name="seed"),
    ]


def form_shape(form):
    """`(lines, chars)` int32 scalars of a form name tensor; an unknown name fails the request.

    Args:
        form: string scalar tensor ("wujue", ..., "free" or a Chinese alias).

    Example:
        >>> [int(x) for x in form_shape(tf.constant("qilv"))]
        [8, 7]
    """
    matches = tf.equal(tf.constant(list(REQUEST_FORMS)), form)
    tf.debugging.Assert(
        tf.reduce_any(matches),
        ["unknown poem form", form, "- use one of: wujue, qijue, wulv, qilv, free (or 五绝, 七绝, 五律, 七律)"],
    )
    index = tf.argmax(tf.cast(matches, tf.int32), output_type=tf.int32)
    shape = tf.gather(tf.constant(list(REQUEST_FORMS.values()), tf.int32), index)
    return shape[0], shape[1]


def poem_serving_fn(vectorizer, models, tables, limits=DEFAULT_LIMITS):
    """Returns `serve(form, acrostic, first_line, mood, rhyme, no_repeat, temperature, top_k, seed)`.

    The batch is one poem per row of `acrostic`, `first_line` and `mood` (equal
    lengths; "" means none). Outputs: `poem` string `[B]` (lines with their
    punctuation, no markers) and `token_ids` int32 `[B, N]`. Defined results for
    odd requests: characters that are unknown or not Han are dropped from acrostics
    and fixed-form first lines, extra ones beyond the form too; an acrostic in the
    free form is ignored; a mood longer than `MAX_MOOD_CHARS` (64) characters keeps its
    last 64 (the app refuses such a mood); temperature
    <= 0 is greedy, top_k <= 0 is off. An unknown form, unequal batch lengths, more than
    `limits.max_batch` rows, or rhyme asked of an export made without rhyme tables fail
    the request with a message.

    Args:
        vectorizer: the char `TextVectorizer` of the poet.
        models: its `LanguageModels` (token_step and state_sizes are used).
        tables: `PoemTables` of the vocabulary.
        limits: `RequestLimits` (rows per request).

    Example:
        >>> serve = poem_serving_fn(poet.vectorizer, poet.models, poet._tables())  # doctest: +SKIP
    """
    token_strings = tf.constant(vectorizer.tokens_by_id(printable=True))  # padding, <unk> and markers print ""
    has_rhymes = tables.has_rhymes

    def prime(mood, token_step):
        """States after the mood text (zeros for none): where START is fed next.

        A loop of the generation step rather than the functional prefill model: a Keras
        recurrent layer draws dropout masks from its seed state even at inference, and
        that write to a mirrored variable cannot be saved in an export made under a
        MirroredStrategy."""
        mood = tf.strings.regex_replace(mood, f"[{START}{END}]", "")
        ragged = vectorizer.vectorize(mood)[:, -MAX_MOOD_CHARS:]
        lengths = tf.cast(ragged.row_lengths(), tf.int32)
        return prefill_states(token_step, ragged.to_tensor(0), lengths, models.state_sizes)

    def serve(form, acrostic, first_line, mood, rhyme, no_repeat, temperature, top_k, seed):
        batch = tf.shape(acrostic)[0]
        tf.debugging.Assert(
            tf.equal(tf.shape(first_line)[0], batch) & tf.equal(tf.shape(mood)[0], batch),
            ["acrostic, first_line and mood must have one entry per poem (equal lengths)"],
        )
        assert_batch_within(batch, limits, "poems")
        if not has_rhymes:
            tf.debugging.Assert(tf.logical_not(rhyme), ["this export has no rhyme table (pypinyin was missing when it was made)"])
        lines, chars = form_shape(form)
        token_step = models.token_step()  # inside the graph: its projection table is made once per call
        forced = forced_tokens(vectorizer.vectorize(acrostic), vectorizer.vectorize(first_line), lines, chars, tables, MAX_FREE_TOKENS)
        constraints = PoemConstraints(tables, lines, chars, forced, rhyme=rhyme & (lines > 0), no_repeat=no_repeat)
        max_new = tf.where(lines > 0, lines * (chars + 1) + 1, MAX_FREE_TOKENS)
        result = sample(
            loop_step_fn(models, token_step), tf.fill([batch], tf.constant(tables.start_id, tf.int32)), prime(mood, token_step), max_new,
            temperature=temperature, top_k=top_k, seed=tf.stack([seed, tf.constant(1, tf.int64)]),
            stop_ids=[tables.end_id], processor=constraints, with_log_probs=False,
        )
        poem = tf.strings.reduce_join(tf.gather(token_strings, result.tokens), axis=1)
        return {"poem": poem, "token_ids": result.tokens}

    return serve


def poem_request(form, rows, rhyme, no_repeat, temperature, top_k, seed):
    """The tensors of one call of a `poem_serving_fn` (its `generate` signature), by name;
    `rows`: one `{"acrostic", "first_line", "mood"}` dict per poem (`poem_requests`)."""
    return dict(
        form=tf.constant(form),
        acrostic=tf.constant([r["acrostic"] for r in rows], tf.string),
        first_line=tf.constant([r["first_line"] for r in rows], tf.string),
        mood=tf.constant([r["mood"] for r in rows], tf.string),
        rhyme=tf.constant(bool(rhyme)),
        no_repeat=tf.constant(bool(no_repeat)),
        temperature=tf.constant(float(temperature), tf.float32),
        top_k=tf.constant(int(top_k), tf.int32),
        seed=tf.constant(seed, tf.int64),
    )


def poem_endpoints(serve):
    """The endpoints `(name, fn, signature)` of a poet's export (`PoetryGenerator.export`):
    `serving_default(prompt)`, a free-form poem opening with each prompt (temperature 0.8,
    seed 0), and `generate`, the traced `tf.function` `serve` itself (its own signature)."""

    def serving_default(prompt):
        empty = tf.fill(tf.shape(prompt), "")
        return serve(
            tf.constant("free"), empty, prompt, empty, tf.constant(False), tf.constant(False),
            tf.constant(0.8), tf.constant(0, tf.int32), tf.constant(0, tf.int64),
        )

    return [
        ("serving_default", serving_default, [tf.TensorSpec([None], tf.string, name="prompt")]),
        ("generate", serve, None),
    ]
