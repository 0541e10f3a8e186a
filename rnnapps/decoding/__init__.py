"""In-graph generation loops shared by the language model, the translator and the poet.

Everything here is core TensorFlow inside `tf.while_loop`s, so it can be traced into a
`tf.function` with a dynamic batch and per-request knobs as tensors, and exported to
a SavedModel that stock TF Serving runs.

- `sample`: greedy / temperature / top-k / top-p sampling with stop ids.
- `beam_search`: beam search with GNMT length penalty.
- `choose_tokens`, `truncate_logits`: the token choice of `sample`, on its own;
  `choice_mode`: which of its loops Python-side knobs ask for (`sample(mode=...)`).
- `LogitsProcessor`, `BanTokens`, `ProcessorChain`: constraints applied to the logits.
- `check_sampling_options`: Python-side validation with clear `ConfigError`s.

A step function has the signature
`step_fn(tokens int32 [B], states) -> (logits [B, V], new_states, aux dict of [B, ...])`.

Example:
    >>> table = tf.math.log(tf.constant([[0.1, 0.9], [0.8, 0.2]]))  # doctest: +SKIP
    >>> step = lambda tokens, states: (tf.gather(table, tokens), states, {})  # doctest: +SKIP
    >>> sample(step, tf.constant([0]), (), 5, temperature=0.7, seed=(1, 2)).tokens  # doctest: +SKIP
"""

from rnnapps.decoding.beam_search import BeamResult, beam_search, tile_beams
from rnnapps.decoding.processors import BanTokens, LogitsProcessor, ProcessorChain
from rnnapps.decoding.sampling import (
    CHOICE_MODES,
    SampleResult,
    check_sampling_options,
    choice_mode,
    choose_tokens,
    sample,
    truncate_logits,
)

__all__ = [
    "CHOICE_MODES",
    "BanTokens",
    "BeamResult",
    "LogitsProcessor",
    "ProcessorChain",
    "SampleResult",
    "beam_search",
    "check_sampling_options",
    "choice_mode",
    "choose_tokens",
    "sample",
    "tile_beams",
    "truncate_logits",
]
