"""Serving functions of the poetry generator: constrained poem generation in the graph.

`poem_serving_fn` returns the function behind both the Python `generate` and the
exported `generate` endpoint, so an export writes the same poems as the app.
"""

import tensorflow as tf

from rnnapps.data.poem_batches import END, START
from rnnapps.data.poems import FORM_ALIASES, FORMS
from rnnapps.decoding import sample
from rnnapps.decoding.limits import DEFAULT_LIMITS, assert_batch_within
from rnnapps.decoding.poetry import PoemConstraints, forced_tokens
from rnnapps.export.generation import loop_step_fn

MAX_FREE_TOKENS = 200  # a free-form poem ends at its end marker or here
MAX_MOOD_TOKENS = 64  # a longer mood keeps its last characters
# Every form name a request may use -> (lines, chars); "free" is (0, 0).
_FORM_NAMES = list(FORMS) + list(FORM_ALIASES)
_FORM_SHAPES = [FORMS[name] for name in FORMS] + [FORMS.get(FORM_ALIASES[name], (0, 0)) for name in FORM_ALIASES]


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
    matches = tf.equal(tf.constant(_FORM_NAMES), form)
    tf.debugging.Assert(
        tf.reduce_any(matches),
        ["unknown poem form", form, "- use one of: wujue, qijue, wulv, qilv, free (or 五绝, 七绝, 五律, 七律)"],
    )
    index = tf.argmax(tf.cast(matches, tf.int32), output_type=tf.int32)
    shape = tf.gather(tf.constant(_FORM_SHAPES, tf.int32), index)
    return shape[0], shape[1]


def poem_serving_fn(vectorizer, models, tables, limits=DEFAULT_LIMITS):
    """Returns `serve(form, acrostic, first_line, mood, rhyme, no_repeat, temperature, top_k, seed)`.

    The batch is one poem per row of `acrostic`, `first_line` and `mood` (equal
    lengths; "" means none). Outputs: `poem` string `[B]` (lines with their
    punctuation, no markers) and `token_ids` int32 `[B, N]`. Defined results for
    odd requests: characters that are unknown or not Han are dropped from acrostics
    and fixed-form first lines, extra ones beyond the form too; an acrostic in the
    free form is ignored; a mood longer than 64 tokens keeps its last 64; temperature
    <= 0 is greedy, top_k <= 0 is off. An unknown form, unequal batch lengths, more than
    `limits.max_batch` rows, or rhyme asked of an export made without rhyme tables fail
    the request with a message.

    Args:
        vectorizer: the char `TextVectorizer` of the poet.
        models: its `LanguageModels` (prefill and token_step are used).
        tables: `PoemTables` of the vocabulary.
        limits: `RequestLimits` (rows per request).

    Example:
        >>> serve = poem_serving_fn(poet.vectorizer, poet.models, poet._tables())  # doctest: +SKIP
    """
    vocabulary = vectorizer.get_vocabulary()
    token_strings = tf.constant(["", ""] + [t if t not in (START, END) else "" for t in vocabulary])
    has_rhymes = tables.has_rhymes

    def prime(mood):
        """States after the mood text (zeros for none): where START is fed next."""
        mood = tf.strings.regex_replace(mood, f"[{START}{END}]", "")
        ids = vectorizer.vectorize(mood)[:, -MAX_MOOD_TOKENS:].to_tensor(0)
        ids = tf.pad(ids, [[0, 0], [0, tf.maximum(0, 1 - tf.shape(ids)[1])]])  # >= 1 step; padding is masked
        return tuple(models.prefill(ids, training=False)[1:])

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
        forced = forced_tokens(vectorizer.vectorize(acrostic), vectorizer.vectorize(first_line), lines, chars, tables, MAX_FREE_TOKENS)
        constraints = PoemConstraints(tables, lines, chars, forced, rhyme=rhyme & (lines > 0), no_repeat=no_repeat)
        max_new = tf.where(lines > 0, lines * (chars + 1) + 1, MAX_FREE_TOKENS)
        result = sample(
            loop_step_fn(models), tf.fill([batch], tf.constant(tables.start_id, tf.int32)), prime(mood), max_new,
            temperature=temperature, top_k=top_k, seed=tf.stack([seed, tf.constant(1, tf.int64)]),
            stop_ids=[tables.end_id], processor=constraints, with_log_probs=False,
        )
        poem = tf.strings.reduce_join(tf.gather(token_strings, result.tokens), axis=1)
        return {"poem": poem, "token_ids": result.tokens}

    return serve
