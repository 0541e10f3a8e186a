"""Poems -> training sequences and `tf.data` batches for a char-level poetry model.

Each poem is one sequence: `title START poem END`, where START (U+0002) and END
(U+0003) are single-character markers that never occur in poems. The title (when
used) only primes the model: its targets are masked, so the loss and perplexity
cover the poem and its end marker. Generation feeds a "mood" text where the title
was, then START, so a mood is a title-like prompt that never appears in the output.

Example:
    >>> poem_sequence(Poem("白日依山尽，黄河入海流。欲穷千里目，更上一层楼。", "登鹳雀楼"))
    '登鹳雀楼\\x02白日依山尽，黄河入海流。欲穷千里目，更上一层楼。\\x03'
"""

import collections
import dataclasses
import itertools
import random

import tensorflow as tf

from rnnapps.data.poems import FORMS, with_membership
from rnnapps.data.source import Source, trap
from rnnapps.errors import DataError
from rnnapps.text.chinese import is_hanzi
from rnnapps.text.vectorizer import CONTROL_MARKERS
from rnnapps.text.vocabulary import build_vocabulary

START, END = CONTROL_MARKERS["start"], CONTROL_MARKERS["end"]
# A title primes the poem but is not scored, and every title position still costs a full
# softmax over the ~5k-character vocabulary: long titles (some Tang titles run to 30
# characters) made batches, which pad to their longest title + poem, ~40% longer than the
# poems alone. Eight characters keep the theme words of nearly every title.
MAX_TITLE_CHARS = 8
MARKS = ("，", "。")
# The tokens every poetry vocabulary starts with (the first ids after padding and <unk>), whatever the corpus.
REQUIRED_TOKENS = (START, END) + MARKS


def check_poem_vocabulary(vocabulary):
    """`DataError` unless `vocabulary` holds the `REQUIRED_TOKENS` and a Han character (what a poem needs)."""
    if any(t not in vocabulary for t in REQUIRED_TOKENS) or not any(is_hanzi(t) for t in vocabulary):
        raise DataError("a poetry vocabulary needs the markers, '，', '。' and at least one Han character")


def poem_sequence(poem, titles=True):
    """The training text of one poem: `title START text END` (no title when `titles` is off).

    The title is cut to its first `MAX_TITLE_CHARS` characters.

    Args:
        poem: a `Poem`.
        titles: put the title in front.

    Example:
        >>> poem_sequence(Poem("白日依山尽，黄河入海流。", "登楼"), titles=False)
        '\\x02白日依山尽，黄河入海流。\\x03'
    """
    title = poem.title.replace(START, "").replace(END, "")[:MAX_TITLE_CHARS] if titles else ""
    return f"{title}{START}{poem.text}{END}"


@dataclasses.dataclass
class PoemStats:
    """What one pass over a poem source found.

    Attributes:
        num_poems: poems kept by the filters.
        num_chars: characters of the kept poems (punctuation included, titles not).
        forms: count of kept poems per form ("free" for irregular ones).
        all_forms: the same over every poem before filters (for error messages).
        vocabulary: tokens by frequency (only when the scan built one).
    """

    num_poems: int
    num_chars: int
    forms: dict
    all_forms: dict
    vocabulary: list = None

    @property
    def main_form(self):
        """The most common regular form of the kept poems, or "free"."""
        regular = {form: count for form, count in self.forms.items() if form in FORMS}
        return max(sorted(regular), key=regular.get) if regular else "free"


class _Reader(Source):
    """The poems read into a dataset by a Python generator (TF can only report its errors as its own)."""

    def __init__(self, description):
        self.description = description
        self.trapped_errors = []


def scan_poems(source, vectorizer=None, titles=True, max_tokens=None, min_count=1, filters=""):
    """Counts the poems of `source` and, with a vectorizer, builds the vocabulary.

    Args:
        source: a `PoemSource` (or its split part) with a `description`.
        vectorizer: a char `TextVectorizer`; when given, its tokeniser splits the
            sequences and the returned vocabulary starts with `REQUIRED_TOKENS`.
        titles: count title characters into the vocabulary too.
        max_tokens, min_count: vocabulary limits (the required tokens are always kept).
        filters: text describing the filters, for the error message.

    Raises:
        DataError: the source holds no poems, or none passes the filters.

    Example:
        >>> scan_poems(poem_source(["白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"])).forms
        {'wujue': 1}
    """
    base = source.root() if hasattr(source, "root") else source  # a split part filters the full source
    kept, all_forms, chars, texts = collections.Counter(), collections.Counter(), 0, []
    for poem, belongs in with_membership(source):
        all_forms[poem.form] += 1
        if belongs and base.keeps(poem):
            kept[poem.form] += 1
            chars += len(poem.text)
            if vectorizer is not None:
                texts.append(poem_sequence(poem, titles))
    if not all_forms:
        raise DataError(f"{source.description} holds no poems: the corpus is empty")
    if not kept:
        found = ", ".join(f"{form} {count}" for form, count in all_forms.most_common())
        what = f"matches the filters ({filters})" if filters else "is left in this part"
        raise DataError(f"none of the {sum(all_forms.values())} poems in {source.description} {what}; forms found: {found}")
    stats = PoemStats(sum(kept.values()), chars, dict(kept), dict(all_forms))
    if vectorizer is not None:
        counted = build_vocabulary(vectorizer.iter_token_batches(texts), min_count=min_count)
        rest = [token for token in counted if token not in REQUIRED_TOKENS]
        stats.vocabulary = list(REQUIRED_TOKENS) + (rest[:max_tokens] if max_tokens else rest)
    return stats


def poem_batches(
    source, vectorizer, batch_size, titles=True, shuffle=False, shuffle_buffer=10_000, seed=None, untitled_share=0.0
):
    """A `tf.data.Dataset` of `(inputs, targets)` int32 `[B, T]` batches, and its reader.

    Inputs are `sequence[:-1]`, targets `sequence[1:]`, right-padded with 0; targets
    up to and including START are 0 too (the title primes, it is not scored).

    Args:
        source: a `PoemSource` or one part of its `split`.
        vectorizer: the char `TextVectorizer` with the poetry vocabulary.
        batch_size: poems per batch.
        titles: put each poem's title in front.
        shuffle, shuffle_buffer, seed: shuffle the poems in a bounded buffer.
        untitled_share: with titles on, this share of the poems (drawn afresh every
            pass, from `seed`) comes without its title, so the model also learns to
            start a poem from START alone, as untitled generation (no mood) does.

    Returns:
        `(dataset, reader)`: iterate the dataset inside `with reader.reading():` so a
        failure while reading files becomes a `DataError`.

    Example:
        >>> batches, reader = poem_batches(source, vectorizer, 32)  # doctest: +SKIP
    """
    reader = _Reader(source.description)
    start_id = vectorizer.token_to_id(START)

    passes = itertools.count()

    def sequences():
        draw = random.Random(None if seed is None else int(seed) * 1_000_003 + next(passes)).random
        try:
            for poem in source:
                yield poem_sequence(poem, titles and not (untitled_share and draw() < untitled_share))
        except DataError as error:
            raise trap(reader.trapped_errors, error)

    def encode(texts):
        ids = vectorizer.vectorize(texts).to_tensor(0)
        inputs, targets = ids[:, :-1], ids[:, 1:]
        starts = tf.argmax(tf.cast(tf.equal(ids, start_id), tf.int32), axis=1, output_type=tf.int32)
        scored = tf.range(tf.shape(targets)[1])[None, :] >= starts[:, None]
        return inputs, tf.where(scored, targets, tf.zeros_like(targets))

    dataset = tf.data.Dataset.from_generator(sequences, output_signature=tf.TensorSpec([], tf.string))
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(int(batch_size)).map(encode, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE), reader
