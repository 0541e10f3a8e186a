"""Serving functions of the translator: raw source strings in, translations out, all in-graph.

`Translator.translate` runs exactly these functions (as `tf.function`s), and
`Translator.export` puts them behind the SavedModel signatures, so an export answers
like the Python object. Only core TF ops: the vectorizer's regex tokeniser and
`StringLookup`, the Keras encoder and decoder-step models, and the `tf.while_loop`s of
`rnnapps.decoding`.

Defined results for any request:
- an empty or whitespace-only source translates to "" (score 0, no tokens);
- a source of unknown words only is translated like any other (each is `<unk>`);
- a source longer than the vectorizer's `max_length` is truncated (its start is kept);
- invalid UTF-8 bytes are repaired to U+FFFD by the vectorizer;
- `max_length` is clipped to `[0, limit]`; 0 gives empty translations;
- a request of more than `limits.max_batch` sources fails with a message.
"""

import dataclasses
import math
import numbers

import numpy as np
import tensorflow as tf

from rnnapps.builders.seq2seq import decoder_step_fn
from rnnapps.data.parallel import END_ID, START_ID
from rnnapps.decoding import BanTokens, beam_search, sample
from rnnapps.decoding.limits import DEFAULT_LIMITS, RequestLimits, assert_batch_within, run_by_length
from rnnapps.errors import ConfigError
from rnnapps.export import text_signature
from rnnapps.text import detokenize_graph
from rnnapps.text.vectorizer import OOV_ID, PADDING_ID, id_table
MAX_TRANSLATION_LENGTH = 1000  # longest output a request may ask for (tokens)
# source_tokens label the attention matrix's columns (a heatmap needs them); added after the
# first exports, so clients must not require it.
PUBLIC_OUTPUTS = ("translations", "scores", "attention", "tokens", "source_tokens")


def translation_signature():
    """Request signature of the `translate` and `greedy` endpoints."""
    return [
        tf.TensorSpec([None], tf.string, name="source"),
        tf.TensorSpec([], tf.int32, name="max_length"),
    ]


def _length_penalty(length, alpha):
    """GNMT's `((5 + n) / 6) ** alpha`, the normalisation `beam_search` scores with."""
    return tf.pow((5.0 + tf.cast(length, tf.float32)) / 6.0, alpha)


def translation_fn(
    source_vectorizer,
    target_vocabulary,
    models,
    target_level,
    beam_width=1,
    num_results=1,
    length_penalty=0.0,
    replace_unknown=True,
    limit=MAX_TRANSLATION_LENGTH,
    search="auto",
    limits=DEFAULT_LIMITS,
):
    """Returns `run(source: string[B], max_length: int32[], length_penalty=None) -> dict`.

    `run` is traceable (not wrapped in a `tf.function`); `length_penalty` overrides the
    one given here (a float or a float32 scalar tensor).

    Outputs (R = num_results, best first; T = output steps; S = source tokens):
        translations: string `[B, R]`, detokenized.
        scores: float32 `[B, R]`, sum of log-probabilities (END included) divided by
            `((5 + n) / 6) ** length_penalty`, n = tokens + 1 once END was produced.
        attention: float32 `[B, T, S]`, the best result's attention weights per output
            token (zeros without attention, past its end and for empty sources).
        tokens: string `[B, T]`, the best result's output tokens ("" after its end).
        lengths: int32 `[B, R]`; source_tokens: string `[B, S]`; source_lengths: int32 `[B]`.

    `search="auto"` decodes greedily with `rnnapps.decoding.sample` when `beam_width=1`
    and `num_results=1` (beam search of width 1 gives the same tokens; greedy is
    cheaper), with `beam_search` otherwise; `search="beam"` always uses beam search.

    With `replace_unknown`, an output `<unk>` is replaced by the source token it attends
    to most (Luong et al., 2015), which copies names and numbers the vocabulary lacks.
    Padding and the start token are never produced.
    """
    beam_width, num_results = int(beam_width), int(num_results)
    if search not in ("auto", "beam"):
        raise ConfigError(f"search must be 'auto' or 'beam', got {search!r}")
    greedy = search == "auto" and beam_width == 1 and num_results == 1
    default_length_penalty = length_penalty
    step_fn, initial_states_fn = decoder_step_fn(models)
    has_attention = models.spec.attention != "none"
    # Id i prints as table[i]: padding "", <unk> (replaced below when it can be), then the
    # vocabulary (whose first entries are the start and end tokens, never printed).
    table = tf.constant(id_table(target_vocabulary))
    banned = BanTokens([PADDING_ID, START_ID])

    def encode(source):
        source = tf.reshape(tf.convert_to_tensor(source, tf.string), [-1])
        with tf.control_dependencies([assert_batch_within(tf.size(source), limits, "sources")]):
            source = tf.identity(source)
        ids = source_vectorizer.vectorize(source, ensure_nonempty=True).to_tensor(0)
        ids = tf.pad(ids, [[0, 0], [0, tf.maximum(0, 1 - tf.shape(ids)[1])]])  # >= 1 step for empty batches
        tokens = source_vectorizer.tokenize(source)
        if source_vectorizer.max_length is not None:
            tokens = tokens[:, : source_vectorizer.max_length]
        source_lengths = tf.cast(tokens.row_lengths(), tf.int32)
        tokens = tokens.to_tensor("", shape=tf.cast(tf.shape(ids), tf.int64))
        return ids, tokens, source_lengths

    def strings(ids, attention, source_tokens):
        """Output ids `[B, ..., T]` -> token strings, `<unk>` copied from the source when asked."""
        pieces = tf.gather(table, ids)
        if replace_unknown and has_attention:
            attended = tf.argmax(attention, axis=-1, output_type=tf.int32)
            pieces = tf.where(tf.equal(ids, OOV_ID), tf.gather(source_tokens, attended, batch_dims=1), pieces)
        return pieces

    def run(source, max_length, length_penalty=None):
        ids, source_tokens, source_lengths = encode(source)
        batch, source_steps = tf.shape(ids)[0], tf.shape(ids)[1]
        max_new = tf.clip_by_value(tf.cast(max_length, tf.int32), 0, int(limit))
        start = tf.fill([batch], tf.constant(START_ID, tf.int32))
        states = initial_states_fn(ids)
        alpha = tf.cast(default_length_penalty if length_penalty is None else length_penalty, tf.float32)
        if greedy:
            result = sample(step_fn, start, states, max_new, temperature=0.0, stop_ids=[END_ID], processor=banned)
            tokens = result.tokens[:, None]
            lengths = result.lengths[:, None]
            scores = result.log_probs / _length_penalty(result.lengths + tf.cast(result.finished, tf.int32), alpha)
            scores = scores[:, None]
            attention = result.aux.get("attention")
            attention = attention[:, None] if attention is not None else None
        else:
            result = beam_search(
                step_fn, start, states, max_new, beam_width,
                end_id=END_ID, length_penalty=alpha, num_results=num_results, processor=banned,
            )
            tokens, lengths, scores = result.tokens, result.lengths, result.scores
            attention = result.aux.get("attention")
        steps = tf.shape(tokens)[2]
        if attention is None:
            attention = tf.zeros([batch, tf.shape(tokens)[1], steps, source_steps], tf.float32)
        # An empty source has nothing to translate: "" with score 0, whatever the model said.
        empty = tf.equal(source_lengths, 0)
        lengths = tf.where(empty[:, None], 0, lengths)
        scores = tf.where(empty[:, None], 0.0, scores)
        alive = tf.sequence_mask(lengths, steps)  # [B, R, T]
        tokens = tf.where(alive, tokens, 0)
        attention = tf.where(alive[..., None], attention, 0.0)
        pieces = tf.where(alive, strings(tokens, attention, source_tokens), "")
        flat = tf.reshape(pieces, [-1, steps])
        flat_lengths = tf.reshape(lengths, [-1])
        translations = detokenize_graph(tf.RaggedTensor.from_tensor(flat, lengths=flat_lengths), target_level)
        translations = tf.reshape(translations, tf.shape(lengths))
        return {
            "translations": translations,
            "scores": scores,
            "attention": attention[:, 0],
            "tokens": pieces[:, 0],
            "lengths": lengths,
            "source_tokens": source_tokens,
            "source_lengths": source_lengths,
        }

    return run


def public_outputs(outputs):
    """The outputs a SavedModel endpoint returns (the rest is for the Python API)."""
    return {key: outputs[key] for key in PUBLIC_OUTPUTS}


@dataclasses.dataclass
class Translation:
    """One source sentence's translation, with what the model did to get it.

    Attributes:
        source: the source text.
        translation: the best translation.
        translations: the `num_results` best translations, best first.
        scores: their scores (log-probability, length-normalised when asked).
        attention: `[T_out, T_src]` attention weights of the best translation: row i is
            how output token i spread its attention over the source tokens.
        output_tokens: the best translation's tokens (rows of `attention`).
        source_tokens: the source tokens the model saw (columns of `attention`).
    """

    source: str
    translation: str
    translations: list
    scores: list
    attention: np.ndarray
    output_tokens: list
    source_tokens: list

    @property
    def score(self):
        return self.scores[0]


def _text(value):
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def translation_details(text, row):
    """The `Translation` of one source from its row of `translation_fn` outputs (numpy)."""
    length = int(row["lengths"][0])
    source_length = int(row["source_lengths"])
    return Translation(
        source=_text(text),
        translation=_text(row["translations"][0]),
        translations=[_text(t) for t in row["translations"]],
        scores=[float(s) for s in row["scores"]],
        attention=np.asarray(row["attention"][:length, :source_length], dtype="float32"),
        output_tokens=[_text(t) for t in row["tokens"][:length]],
        source_tokens=[_text(t) for t in row["source_tokens"][:source_length]],
    )


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_decoding_options(beam_width, num_results, max_length, length_penalty, limits=None):
    """`ConfigError` unless the options of one translate/evaluate/export call are valid under `limits`."""
    limits = RequestLimits.of(limits)
    if not _is_int(beam_width) or not 1 <= beam_width <= limits.max_beam_width:
        raise ConfigError(f"beam_width must be an integer in [1, {limits.max_beam_width}], got {beam_width!r}")
    if not _is_int(num_results) or not 1 <= num_results <= beam_width:
        raise ConfigError(f"num_results must be an integer in [1, beam_width={beam_width}], got {num_results!r}")
    if max_length is not None and (not _is_int(max_length) or not 0 <= max_length <= MAX_TRANSLATION_LENGTH):
        raise ConfigError(f"max_length must be an integer in [0, {MAX_TRANSLATION_LENGTH}] or None, got {max_length!r}")
    if isinstance(length_penalty, bool) or not isinstance(length_penalty, numbers.Real) or not math.isfinite(length_penalty):
        raise ConfigError(f"length_penalty must be a finite number, got {length_penalty!r}")


def decoding_facts(beam_width, num_results, length_penalty, default_length):
    """What an export's metadata says about its decoding (`rnnapps.json`'s "decoding")."""
    return {
        "beam_width": beam_width, "num_results": num_results, "length_penalty": float(length_penalty),
        "default_max_length": default_length, "max_length_limit": MAX_TRANSLATION_LENGTH,
    }


def translation_graph(options, beam_width=1, num_results=1):
    """The `tf.function` `(source, max_length, length_penalty) -> outputs` that
    `Translator.translate` runs (`options`: `translation_fn`'s keyword arguments other
    than the beam's and the length penalty, a request input here)."""
    run = translation_fn(**options, beam_width=beam_width, num_results=num_results)
    signature = translation_signature() + [tf.TensorSpec([], tf.float32, name="length_penalty")]
    return tf.function(run, input_signature=signature, reduce_retracing=True)


def run_translation_graph(graph, texts, max_length, length_penalty, batch_size):
    """Runs a `translation_graph` on byte strings in length-sorted chunks of `batch_size`
    (`rnnapps.decoding.limits.run_by_length`); returns one row of numpy outputs per text."""
    length, penalty = tf.constant(max_length, tf.int32), tf.constant(float(length_penalty), tf.float32)
    return run_by_length(texts, batch_size, lambda chunk: graph(chunk, length, penalty))


def translation_endpoints(options, beam_width, num_results, default_length):
    """The SavedModel endpoints of a translator (`Translator.export`); `options` are
    `translation_fn`'s keyword arguments other than the beam's.

    - `serving_default(source: string[None])` -> `translation: string[None]` (greedy, at
      most `default_length` tokens).
    - `translate(source: string[None], max_length: int32[])` -> beam search of
      `beam_width`, `num_results` kept: `translations: string[None, R]`, `scores:
      float32[None, R]`, the best result's `attention: float32[None, T_out, T_src]` and
      `tokens: string[None, T_out]`, and `source_tokens: string[None, T_src]` (the
      attention's columns).
    - `greedy(source, max_length)` -> the same outputs, greedy (R = 1).
    A request's `max_length` is clipped to [0, `MAX_TRANSLATION_LENGTH`]; a request of
    more than `limits.max_batch` sources fails.
    """
    greedy_run = translation_fn(**options)
    beam_run = translation_fn(**options, beam_width=beam_width, num_results=num_results)

    def serving_default(source):
        return {"translation": greedy_run(source, tf.constant(default_length, tf.int32))["translations"][:, 0]}

    def translate(source, max_length):
        return public_outputs(beam_run(source, max_length))

    def greedy(source, max_length):
        return public_outputs(greedy_run(source, max_length))

    return [
        ("serving_default", serving_default, text_signature("source")),
        ("translate", translate, translation_signature()),
        ("greedy", greedy, translation_signature()),
    ]


def translation_results(texts, rows, num_results=1, details=False):
    """What `Translator.translate` returns for each source from its row of `translation_fn`
    outputs (numpy): its `Translation` (`details`), else its translation (a string), or its
    `num_results` best translations (a list) when that is more than 1."""
    if details:
        return [translation_details(text, row) for text, row in zip(texts, rows)]
    results = [[_text(t) for t in row["translations"]] for row in rows]
    return [r[0] for r in results] if num_results == 1 else results
