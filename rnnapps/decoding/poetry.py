"""Poem constraints as logit masks: exact forms, acrostics, first lines, no-repeat, rhyme.

`PoemConstraints` is a `LogitsProcessor`: at every step of the in-graph sampling loop
it lets only the tokens that keep the poem well formed through, so the form is exact
for any model, trained or not, and the same masks run inside an exported SavedModel.

With a fixed form of `lines` x `chars` (`chars` Han characters, then one mark), step
`t` of the poem is position `t % (chars + 1)` of line `t // (chars + 1)`:

- inside a line: only Han characters (never punctuation, markers, padding or `<unk>`);
  a forced token (acrostic letter, first line) is the only choice at its step;
- at a line end: "，" after odd lines (1st, 3rd, ...) and "。" after even lines;
- after the last line: only the end marker.

Options, all tensors so a serving request can set them:

- `no_repeat`: a Han character appears at most once per poem; the forced characters
  are reserved from the start, so a free step never takes one a later line needs.
- `rhyme`: the last character of line 2 must have a rhyme group (>= 0) and fixes it;
  the last characters of lines 4, 6, 8 must share it.

When the rules leave nothing to choose (a rhyme group whose characters no-repeat has
used up), they are relaxed in a fixed order rather than leaving an all `-inf` row:
first no-repeat (a rhyming character is used again), then the rhyme. A forced token always wins. The free form
(`lines == 0`) bans only padding, `<unk>` and the start marker (and the end marker at
the first step), plus used Han characters with `no_repeat`.

Example:
    >>> tables = PoemTables.from_tokens(["", "[UNK]", "\\x02", "\\x03", "，", "。", "山", "水"])
    >>> constraints = PoemConstraints(tables, lines=4, chars=5, forced=tf.zeros([1, 0], tf.int32))
    >>> masked = constraints.process(tf.zeros([1, 8]), 5, constraints.initial_state(1))
    >>> int(tf.argmax(masked[0]))  # step 5 ends line 1: only "，"
    4
"""

import dataclasses

import numpy as np
import tensorflow as tf

from rnnapps.decoding.processors import LogitsProcessor
from rnnapps.errors import ConfigError
from rnnapps.text.vectorizer import CONTROL_MARKERS, FIRST_TOKEN_ID, OOV_ID, PADDING_ID

_NEG_INF = -float("inf")


@dataclasses.dataclass
class PoemTables:
    """Per-token facts the constraints need, computed once from the vocabulary.

    Attributes:
        is_hanzi: bool numpy `[V]`, the token is one Han character.
        rhyme_groups: int32 numpy `[V]`, rhyme group id or -1 (all -1: no rhyme table);
            may be replaced by an int32 tensor `[V]` (e.g. a function argument).
        comma_id, period_id, start_id, end_id: ids of "，", "。" and the markers.
        banned_ids: ids never generated (padding, `<unk>`, the start marker).
    """

    is_hanzi: np.ndarray
    rhyme_groups: np.ndarray
    comma_id: int
    period_id: int
    start_id: int
    end_id: int
    banned_ids: tuple = (PADDING_ID, OOV_ID)

    @classmethod
    def of_vocabulary(cls, tokens, start=CONTROL_MARKERS["start"], end=CONTROL_MARKERS["end"], need_rhyme=False):
        """`from_tokens` with the rhyme groups of `tokens` when pypinyin is installed; without
        it, tables without rhymes, or (`need_rhyme`) the `ConfigError` naming the install."""
        from rnnapps.text.chinese import rhyme_group_ids

        try:
            groups = rhyme_group_ids(tokens)
        except ConfigError:
            if need_rhyme:
                raise
            groups = None
        return cls.from_tokens(tokens, groups, start=start, end=end)

    @classmethod
    def from_tokens(cls, tokens, rhyme_groups=None, start=CONTROL_MARKERS["start"], end=CONTROL_MARKERS["end"]):
        """Tables for `tokens` (the token string of every id, padding and `<unk>` first).

        Args:
            tokens: list of str, index = id; must contain "，", "。", `start` and `end`.
            rhyme_groups: optional list of int per id (see `rnnapps.text.chinese`).
        """
        from rnnapps.text.chinese import is_hanzi

        tokens = list(tokens)
        hanzi = np.array([index >= FIRST_TOKEN_ID and is_hanzi(t) for index, t in enumerate(tokens)], bool)
        groups = np.full([len(tokens)], -1, np.int32) if rhyme_groups is None else np.asarray(rhyme_groups, np.int32)
        groups = np.where(hanzi, groups, -1).astype(np.int32)
        ids = {t: i for i, t in enumerate(tokens) if i >= FIRST_TOKEN_ID}
        return cls(hanzi, groups, ids["，"], ids["。"], ids[start], ids[end], (PADDING_ID, OOV_ID, ids[start]))

    @property
    def has_rhymes(self):
        return bool((self.rhyme_groups >= 0).any())


def _one_hot(ids, vocab):
    return tf.one_hot(ids, vocab, on_value=True, off_value=False, dtype=tf.bool)


class PoemConstraints(LogitsProcessor):
    """Masks that make sampled poems exactly of a form (see the module docstring).

    Args:
        tables: `PoemTables` of the vocabulary.
        lines, chars: int scalars (Python or tensors); 0 lines is the free form.
        forced: int32 `[B, P]`: `forced[b, t] > 0` is the only token row b may take
            at step t (0: no constraint); see `forced_tokens`.
        rhyme, no_repeat: bool scalars.

    Example:
        >>> constraints = PoemConstraints(tables, 4, 7, forced, rhyme=True)  # doctest: +SKIP
        >>> sample(step_fn, start, states, 33, processor=constraints, stop_ids=[tables.end_id])  # doctest: +SKIP
    """

    def __init__(self, tables, lines, chars, forced, rhyme=False, no_repeat=False):
        self.tables = tables
        self.lines = tf.cast(lines, tf.int32)
        self.chars = tf.cast(chars, tf.int32)
        self.forced = tf.cast(forced, tf.int32)
        self.rhyme = tf.cast(rhyme, tf.bool)
        self.no_repeat = tf.cast(no_repeat, tf.bool)

    # The tables become graph constants where they are used, so a processor made
    # outside a tf.function also works inside one (tensors are taken as they are).
    def _hanzi(self):
        return tf.convert_to_tensor(self.tables.is_hanzi, tf.bool)

    def _groups(self):
        return tf.convert_to_tensor(self.tables.rhyme_groups, tf.int32)

    def _vocab(self):
        return int(self.tables.is_hanzi.shape[0])

    def initial_state(self, batch_size):
        vocab = self._vocab()
        # Forced characters count as used from the start (no-repeat keeps them free).
        reserved = tf.reduce_any(_one_hot(self.forced, vocab), axis=1) & self._hanzi()[None, :]
        reserved = tf.reshape(reserved, [-1, vocab])  # rows of `forced`: one per poem
        target = tf.fill([batch_size], tf.constant(-1, tf.int32))
        return reserved, target

    def _position(self, step):
        period = self.chars + 1
        return step // period, step % period

    def process(self, logits, step, state):
        used, target = state
        vocab = self._vocab()
        batch = tf.shape(logits)[0]
        step = tf.cast(step, tf.int32)
        hanzi = tf.broadcast_to(self._hanzi()[None, :], [batch, vocab])
        groups = self._groups()[None, :]
        fresh = hanzi & tf.logical_not(used & self.no_repeat)
        line, col = self._position(step)
        fixed = self.lines > 0
        total = self.lines * (self.chars + 1)

        # Inside a line: Han characters, fresh ones first, the rhyme group at rhyme positions.
        rhyme_here = self.rhyme & (col == self.chars - 1) & (line % 2 == 1)
        rhymes = tf.where(target[:, None] >= 0, tf.equal(groups, target[:, None]), groups >= 0)
        rhymes = rhymes | tf.logical_not(rhyme_here)
        in_line = _first_non_empty([fresh & rhymes, hanzi & rhymes, fresh, hanzi])

        mark = tf.where(line % 2 == 0, self.tables.comma_id, self.tables.period_id)
        at_mark = tf.broadcast_to(_one_hot(mark, vocab)[None, :], [batch, vocab])
        at_end = tf.broadcast_to(_one_hot(self.tables.end_id, vocab)[None, :], [batch, vocab])
        fixed_allowed = tf.where(step >= total, at_end, tf.where(col == self.chars, at_mark, in_line))

        banned = tf.reduce_any(_one_hot(tf.constant(self.tables.banned_ids, tf.int32), vocab), axis=0)
        end_first = (step == 0) & tf.equal(tf.range(vocab), self.tables.end_id)
        free_allowed = tf.logical_not(banned | end_first)[None, :] & tf.logical_not(used & self.no_repeat & hanzi)
        allowed = tf.where(fixed, fixed_allowed, tf.broadcast_to(free_allowed, [batch, vocab]))

        width = tf.shape(self.forced)[1]
        forced = tf.cond(
            step < width,
            lambda: tf.gather(self.forced, tf.minimum(step, width - 1), axis=1),
            lambda: tf.zeros([batch], tf.int32),
        )
        forced = tf.broadcast_to(forced, [batch])
        allowed = tf.where((forced > 0)[:, None], _one_hot(forced, vocab), allowed)
        return tf.where(allowed, logits, tf.constant(_NEG_INF, logits.dtype))

    def update(self, state, tokens, step):
        used, target = state
        vocab = self._vocab()
        step = tf.cast(step, tf.int32)
        used = used | _one_hot(tokens, vocab)
        line, col = self._position(step)
        # The first rhyme position with a rhyming character fixes the group.
        sets_group = (self.lines > 0) & (col == self.chars - 1) & (line % 2 == 1) & (target < 0)
        target = tf.where(sets_group, tf.gather(self._groups(), tokens), target)
        return used, target


def _first_non_empty(masks):
    """The first of the `[B, V]` bool masks with any True per row (the last one otherwise)."""
    chosen = masks[-1]
    for mask in reversed(masks[:-1]):
        chosen = tf.where(tf.reduce_any(mask, axis=1, keepdims=True), mask, chosen)
    return chosen


def forced_tokens(acrostic_ids, first_line_ids, lines, chars, tables, max_free_steps):
    """The `forced` matrix of `PoemConstraints` from acrostic and first-line ids.

    Fixed forms: the i-th acrostic character is forced at the start of line i, the
    first line's characters at its positions (they win over an acrostic's first
    letter); only Han characters count and extra ones are dropped (an acrostic longer
    than the poem, a first line longer than a line). The free form forces the first
    line's tokens (not markers, padding or `<unk>`) as the poem's opening; it has no
    lines to start, so an acrostic is ignored there.

    Args:
        acrostic_ids, first_line_ids: ragged int32 `[B, None]` token ids.
        lines, chars: int32 scalars (0 lines: free form).
        tables: `PoemTables`.
        max_free_steps: int, the free form's step budget.

    Returns:
        int32 `[B, P]` (0: no constraint at that step).

    Example:
        >>> forced_tokens(tf.ragged.constant([[6, 7]]), tf.ragged.constant([[]], tf.int32), 4, 5, tables, 64)  # doctest: +SKIP
    """
    hanzi = tf.convert_to_tensor(tables.is_hanzi, tf.bool)
    lines = tf.cast(lines, tf.int32)
    chars = tf.cast(chars, tf.int32)
    batch = acrostic_ids.nrows(out_type=tf.int32)

    def keep(ids, mask):
        ids = tf.cast(ids, tf.int32)
        valid = tf.gather(mask, tf.clip_by_value(ids.values, 0, mask.shape[0] - 1)) & (ids.values >= 0) & (ids.values < mask.shape[0])
        return tf.ragged.boolean_mask(ids, ids.with_flat_values(valid))

    def fixed():
        acrostic = keep(acrostic_ids, hanzi)[:, :lines].to_tensor(0, shape=tf.stack([batch, lines]))
        starts = tf.pad(acrostic[:, :, None], [[0, 0], [0, 0], [0, chars]])
        starts = tf.reshape(starts, [batch, lines * (chars + 1)])
        first = keep(first_line_ids, hanzi)[:, :chars].to_tensor(0, shape=tf.stack([batch, chars]))
        first = tf.pad(first, [[0, 0], [0, lines * (chars + 1) - chars]])
        return tf.where(first > 0, first, starts)

    def free():
        allowed = tf.logical_not(tf.reduce_any(
            _one_hot(tf.constant(list(tables.banned_ids) + [tables.end_id], tf.int32), hanzi.shape[0]), axis=0))
        return keep(first_line_ids, allowed)[:, :max_free_steps].to_tensor(0)

    return tf.cond(lines > 0, fixed, free)
