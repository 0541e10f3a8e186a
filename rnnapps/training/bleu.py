"""Corpus BLEU on detokenized text (sacreBLEU's definition), and a callback that logs it.

BLEU (Papineni et al., 2002) compares n-grams of the hypotheses with those of the
references over the whole corpus: n-gram counts clipped by the reference counts are
summed over all sentences, the geometric mean of the 1..4-gram precisions is taken, and
a brevity penalty `exp(1 - r / c)` punishes a corpus shorter (c tokens) than its
references (r tokens). Scores are comparable to sacreBLEU's default because the
text is tokenised the same way ("13a", the WMT `mteval-v13a` rules) after detokenizing,
instead of reusing the model's own tokens, which would flatter a model whose tokeniser
splits more.

Example:
    >>> corpus_bleu(["the cat sat on the mat"], ["the cat sat on the mat"]).score
    100.0
"""

import collections
import dataclasses
import math
import re

import keras
import numpy as np
import tensorflow as tf

from rnnapps.checks import check_texts
from rnnapps.errors import ConfigError, DataError

TOKENIZERS = ("13a", "none")


# -- tokenisation -------------------------------------------------------------------
_ENTITIES = (("&quot;", '"'), ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">"))
# The 13a rules, applied in this order to the text padded with a space on each side:
_13A_RULES = [
    # ASCII symbols are always tokens: { | } ~ [ \ ] ^ _ ` ! " # $ % & ( ) * + : ; < = > ? @ /
    # (not the apostrophe, hyphen, period or comma, handled below or kept in words).
    (re.compile(r"([{|}~\[\\\]^_`!\"#$%&()*+:;<=>?@/])"), r" \1 "),
    # Periods and commas split off unless they sit between digits ("3.5", "1,000" stay whole).
    (re.compile(r"([^0-9])([.,])"), r"\1 \2 "),
    (re.compile(r"([.,])([^0-9])"), r" \1 \2"),
    # A hyphen after a digit splits ("2021-03" -> "2021 - 03"); "well-known" stays whole.
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),
]


def tokenize_13a(text):
    """Splits a detokenized sentence into BLEU tokens with the `mteval-v13a` rules.

    Example:
        >>> tokenize_13a("It costs $3.50, isn't it?")
        ['It', 'costs', '$', '3.50', ',', "isn't", 'it', '?']
    """
    text = text.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in text:
        for entity, char in _ENTITIES:
            text = text.replace(entity, char)
    text = f" {text} "
    for pattern, replacement in _13A_RULES:
        text = pattern.sub(replacement, text)
    return text.split()


def _tokens(text, lowercase, tokenize):
    if isinstance(text, (bytes, np.bytes_)):
        text = bytes(text).decode("utf-8", errors="replace")
    if not isinstance(text, str):
        raise DataError(f"BLEU needs strings, got {type(text).__name__}")
    if lowercase:
        text = text.lower()
    return tokenize_13a(text) if tokenize == "13a" else text.split()


def _ngrams(tokens, max_order):
    counts = collections.Counter()
    for order in range(1, max_order + 1):
        for start in range(len(tokens) - order + 1):
            counts[tuple(tokens[start : start + order])] += 1
    return counts


# -- corpus BLEU --------------------------------------------------------------------
@dataclasses.dataclass
class BleuScore:
    """A corpus BLEU score and its parts.

    Attributes:
        score: BLEU in 0..100.
        precisions: the n-gram precisions in percent, n = 1..max_order.
        brevity_penalty: `exp(1 - r / c)` when c < r, else 1 (0 for an empty corpus).
        hypothesis_length, reference_length: c and r, in tokens.
        matches, totals: clipped matching and total n-gram counts per order.
    """

    score: float
    precisions: list
    brevity_penalty: float
    hypothesis_length: int
    reference_length: int
    matches: list = dataclasses.field(default_factory=list)
    totals: list = dataclasses.field(default_factory=list)

    def __str__(self):
        precisions = "/".join(f"{p:.1f}" for p in self.precisions)
        ratio = self.hypothesis_length / self.reference_length if self.reference_length else 0.0
        return (
            f"BLEU = {self.score:.2f} {precisions} (BP = {self.brevity_penalty:.3f} ratio = {ratio:.3f} "
            f"hyp_len = {self.hypothesis_length} ref_len = {self.reference_length})"
        )


def _reference_lists(references, count):
    references = list(references)
    if len(references) != count:
        raise DataError(f"BLEU needs one reference (or list of references) per hypothesis: got {count} hypotheses and {len(references)} references")
    lists = []
    for index, reference in enumerate(references):
        if isinstance(reference, (str, bytes, np.str_, np.bytes_)):
            lists.append([reference])
        elif isinstance(reference, (list, tuple, np.ndarray)) and len(reference) > 0:
            lists.append(list(reference))
        else:
            raise DataError(f"reference {index} must be a string or a non-empty list of strings, got {reference!r}")
    return lists


def corpus_bleu(references, hypotheses, max_order=4, smooth=False, lowercase=True, tokenize="13a"):
    """Corpus-level BLEU of detokenized hypotheses against references.

    Args:
        references: per hypothesis, one reference string or a list of them (for
            several references: n-gram counts are clipped by their maximum over the
            references; the reference length is that of the reference closest in length
            to the hypothesis, the shorter on a tie).
        hypotheses: the system's outputs, one string per sentence.
        max_order: longest n-gram (4 for BLEU-4).
        smooth: add one to the matches and totals of every order (Lin and Och, 2004, as
            `keras_hub.metrics.Bleu` does), so one missing order does not zero the score.
        lowercase: compare case-insensitively.
        tokenize: "13a" (sacreBLEU's default) or "none" (split on whitespace, for
            pre-tokenised text).

    Returns:
        `BleuScore`; an empty corpus, or one whose hypotheses are all empty, scores 0.0.

    Example:
        >>> round(corpus_bleu(["The cat sat on the mat."], ["the cat sat on a mat."]).score, 1)
        48.9
    """
    if tokenize not in TOKENIZERS:
        raise ConfigError(f"tokenize must be one of {TOKENIZERS}, got {tokenize!r}")
    if int(max_order) < 1:
        raise ConfigError(f"max_order must be >= 1, got {max_order}")
    if isinstance(hypotheses, (str, bytes)):
        raise DataError("hypotheses must be a list of strings, not a single string")
    hypotheses = list(hypotheses)
    reference_lists = _reference_lists(references, len(hypotheses))
    matches, totals = [0] * max_order, [0] * max_order
    hypothesis_length = reference_length = 0
    for hypothesis, candidates in zip(hypotheses, reference_lists):
        hypothesis = _tokens(hypothesis, lowercase, tokenize)
        candidates = [_tokens(reference, lowercase, tokenize) for reference in candidates]
        length = len(hypothesis)
        hypothesis_length += length
        reference_length += min((len(c) for c in candidates), key=lambda r: (abs(r - length), r))
        allowed = collections.Counter()
        for candidate in candidates:
            allowed |= _ngrams(candidate, max_order)  # | keeps each n-gram's maximum count
        for ngram, count in _ngrams(hypothesis, max_order).items():
            matches[len(ngram) - 1] += min(count, allowed[ngram])
        for order in range(1, max_order + 1):
            totals[order - 1] += max(0, length - order + 1)
    if smooth:
        precisions = [(m + 1) / (t + 1) for m, t in zip(matches, totals)]
    else:
        precisions = [m / t if t else 0.0 for m, t in zip(matches, totals)]
    if hypothesis_length == 0:
        brevity_penalty = 0.0
    elif hypothesis_length < reference_length:
        brevity_penalty = math.exp(1.0 - reference_length / hypothesis_length)
    else:
        brevity_penalty = 1.0
    if min(precisions) > 0 and brevity_penalty > 0:
        score = 100.0 * brevity_penalty * math.exp(sum(math.log(p) for p in precisions) / max_order)
    else:
        score = 0.0
    return BleuScore(
        score=score,
        precisions=[100.0 * p for p in precisions],
        brevity_penalty=brevity_penalty,
        hypothesis_length=hypothesis_length,
        reference_length=reference_length,
        matches=matches,
        totals=totals,
    )


# -- callback -----------------------------------------------------------------------
class BleuCallback(keras.callbacks.Callback):
    """Translates a validation sample at the end of every `every` epochs and logs `val_bleu`.

    `val_bleu` (0..100) goes into the epoch logs, so `History`, `EarlyStopping(monitor=
    "val_bleu", mode="max")` and `SaveBestApp` placed after this callback see it. Epochs
    that are skipped log nothing.

    Args:
        translate_fn: list of source strings -> list of translated strings
            (e.g. `translator.translate`).
        sources: validation source texts (keep it small: decoding is the slow part).
        references: one reference string, or a list of them, per source.
        every: evaluate every this many epochs.
        verbose: print the score.
        **bleu_options: passed to `corpus_bleu` (`lowercase`, `tokenize`, `smooth`, ...).

    Example:
        >>> callback = BleuCallback(translator.translate, val_sources, val_targets)  # doctest: +SKIP
    """

    def __init__(self, translate_fn, sources, references, every=1, verbose=1, **bleu_options):
        super().__init__()
        if not callable(translate_fn):
            raise ConfigError("translate_fn must be callable: list of sources -> list of translations")
        if int(every) < 1:
            raise ConfigError(f"every must be >= 1, got {every}")
        self.translate_fn = translate_fn
        self.sources = list(sources)
        self.references = _reference_lists(references, len(self.sources))
        self.every = int(every)
        self.verbose = verbose
        self.bleu_options = bleu_options
        self.last_score = None

    @classmethod
    def on_pairs(cls, translate_fn, pairs, every=1, verbose=1):
        """The callback over `(source, reference)` pairs (e.g. `held_out_batches`' sample)."""
        return cls(translate_fn, [s for s, _ in pairs], [t for _, t in pairs], every=every, verbose=verbose)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        hypotheses = list(self.translate_fn(self.sources))
        self.last_score = corpus_bleu(self.references, hypotheses, **self.bleu_options)
        if logs is not None:
            logs["val_bleu"] = self.last_score.score
        if self.verbose:
            print(f"Epoch {epoch + 1}: val_bleu = {self.last_score.score:.2f}")


@dataclasses.dataclass
class TranslationReport:
    """Scores of a translator on held-out pairs.

    Attributes:
        bleu: corpus BLEU-4 (0-100, sacreBLEU-style on detokenized lowercase text).
        exact_match: share of translations equal to their reference (same lowercase tokens).
        num_pairs: pairs scored.
        precisions: the 1- to 4-gram precisions (0-100).
        brevity_penalty: BLEU's brevity penalty.
        beam_width: the decoding used.
        examples: a few `(source, reference, translation)` triples.
    """

    bleu: float
    exact_match: float
    num_pairs: int
    precisions: list
    brevity_penalty: float
    beam_width: int = 1
    examples: list = dataclasses.field(default_factory=list)

    def to_dict(self):
        return dataclasses.asdict(self)

    def __str__(self):
        precisions = "/".join(f"{p:.1f}" for p in self.precisions)
        lines = [
            f"BLEU {self.bleu:.2f} ({precisions}, brevity penalty {self.brevity_penalty:.3f}), "
            f"exact match {self.exact_match:.1%} over {self.num_pairs} pairs (beam width {self.beam_width})"
        ]
        for source, reference, translation in self.examples:
            lines.append(f"  {source}\n    reference:   {reference}\n    translation: {translation}")
        return "\n".join(lines)


def translation_report(sources, references, hypotheses, match_keys, beam_width=1, num_examples=3):
    """A `TranslationReport` of `hypotheses` against `references`; `match_keys(texts)` gives
    the token tuples exact match compares (the translator's target tokenization)."""
    bleu = corpus_bleu(references, hypotheses)
    matches = np.mean([a == b for a, b in zip(match_keys(hypotheses), match_keys(references))])
    return TranslationReport(
        bleu=float(bleu.score),
        exact_match=float(matches),
        num_pairs=len(references),
        precisions=[float(p) for p in bleu.precisions],
        brevity_penalty=float(bleu.brevity_penalty),
        beam_width=int(beam_width),
        examples=list(zip(sources, references, hypotheses))[: max(0, int(num_examples))],
    )


def token_match_keys(vectorizer):
    """`keys(texts)`: each text as the tuple of its lowercase tokens, as `vectorizer` (a
    translator's target side) tokenizes it: what exact match compares."""

    def keys(texts):
        tokens = vectorizer.tokenize(tf.strings.lower(tf.constant(check_texts(texts)), encoding="utf-8"))
        return [tuple(row) for row in tokens.to_list()]

    return keys


def pairs_report(pairs, translate_fn, match_keys, beam_width=1, num_examples=3):
    """The `translation_report` of `translate_fn(sources)` on `(source, reference)` pairs
    (`Translator.evaluate`); `DataError` when there are none."""
    if not pairs:
        raise DataError("the evaluation data is empty: it yielded no pairs")
    sources = [s for s, _ in pairs]
    references = [t for _, t in pairs]
    return translation_report(sources, references, translate_fn(sources), match_keys, beam_width, num_examples)
