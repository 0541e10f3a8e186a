"""Poem constraints: exact forms from random logits, acrostics, first lines, no-repeat, rhyme, fallbacks."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from rnnapps.data.poems import FORMS, poem_form, poem_lines
from rnnapps.decoding import sample
from rnnapps.decoding.poetry import PoemConstraints, PoemTables, forced_tokens
from rnnapps.text.chinese import rhyme_group_ids

# Markers, marks, distractors the masks must keep out (latin, "？", a Han char with a variation selector),
# and Han characters of several rhyme groups.
HAN = "山水花月风云光霜乡流楼天年人春秋江南北东西長門鳥飛"
TOKENS = ["", "[UNK]", "\x02", "\x03", "，", "。", "a", "？", "\u845b\U000E0100"] + list(HAN)
TABLES = PoemTables.from_tokens(TOKENS, rhyme_group_ids(TOKENS))
V = len(TOKENS)
IDS = {t: i for i, t in enumerate(TOKENS)}


def random_step(tokens, states):
    """An 'untrained model': random logits that favour the forbidden tokens."""
    (key,) = states
    logits = tf.random.stateless_normal([tf.shape(tokens)[0], V], seed=tf.stack([key[0], tf.cast(tokens[0], tf.int64)])) * 4.0
    bias = tf.constant([9.0, 9.0, 9.0, 6.0, 2.0, 2.0, 9.0, 9.0, 9.0] + [0.0] * len(HAN))
    return logits + bias, (key + 1,), {}


SIGNATURE = [
    tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int32),
    tf.RaggedTensorSpec([None, None], tf.int32, 1), tf.RaggedTensorSpec([None, None], tf.int32, 1),
    tf.TensorSpec([], tf.bool), tf.TensorSpec([], tf.bool), tf.TensorSpec([], tf.int64), tf.TensorSpec([V], tf.int32),
]


@tf.function(input_signature=SIGNATURE)  # one trace for every test; rhyme groups are an argument
def run(lines, chars, acrostic, first_line, rhyme, no_repeat, seed, groups):
    tables = dataclasses.replace(TABLES, rhyme_groups=groups)
    forced = forced_tokens(acrostic, first_line, lines, chars, tables, 40)
    constraints = PoemConstraints(tables, lines, chars, forced, rhyme=rhyme, no_repeat=no_repeat)
    batch = acrostic.nrows(out_type=tf.int32)
    result = sample(
        random_step, tf.fill([batch], TABLES.start_id), (tf.fill([2], seed),), tf.where(lines > 0, lines * (chars + 1) + 1, 40),
        temperature=1.0, seed=tf.stack([seed, 0]), stop_ids=[TABLES.end_id], processor=constraints,
    )
    return result.tokens, result.lengths, result.finished


def poems(form, acrostic=(), first_line="", rhyme=False, no_repeat=False, seed=0, batch=8, groups=TABLES.rhyme_groups):
    lines, chars = FORMS.get(form, (0, 0))
    acrostic_ids = tf.ragged.constant([[IDS[c] for c in acrostic]] * batch, tf.int32, ragged_rank=1) if acrostic else tf.ragged.constant([[]] * batch, tf.int32)
    first_ids = tf.ragged.constant([[IDS.get(c, 1) for c in first_line]] * batch, tf.int32) if first_line else tf.ragged.constant([[]] * batch, tf.int32)
    tokens, lengths, finished = run(
        tf.constant(lines), tf.constant(chars), acrostic_ids, first_ids, tf.constant(rhyme), tf.constant(no_repeat),
        tf.constant(seed, tf.int64), tf.constant(groups, tf.int32),
    )
    texts = ["".join(TOKENS[i] for i in row[:n]) for row, n in zip(tokens.numpy(), lengths.numpy())]
    return texts, finished.numpy()


@pytest.mark.parametrize("form", list(FORMS))
def test_every_sample_of_an_untrained_model_has_the_exact_form(form):
    for seed in range(6):
        for acrostic in ((), tuple("春秋江南北东西山")[: FORMS[form][0]], ("月",)):
            texts, finished = poems(form, acrostic, seed=seed)
            assert finished.all()
            for text in texts:
                assert poem_form(text, strict=True) == form, text
                for line, letter in zip(poem_lines(text), acrostic):
                    assert line[0] == letter, (text, acrostic)


def test_first_line_is_kept_and_acrostic_then_starts_the_other_lines():
    for seed in range(6):
        texts, _ = poems("qijue", acrostic=("春", "秋", "江"), first_line="春水花月风云光", seed=seed)
        for text in texts:
            lines = poem_lines(text)
            assert lines[0] == "春水花月风云光" and lines[1][0] == "秋" and lines[2][0] == "江"
            assert poem_form(text, strict=True) == "qijue"


def test_extra_acrostic_and_first_line_characters_are_dropped_in_the_graph():
    texts, _ = poems("wujue", acrostic=tuple("春秋江南北"), first_line="山水花月风云光", seed=3)
    for text in texts:
        assert poem_form(text, strict=True) == "wujue"
        assert [line[0] for line in poem_lines(text)] == ["山", "秋", "江", "南"]
        assert poem_lines(text)[0] == "山水花月风"


def test_no_repeat_uses_each_character_once_until_the_vocabulary_runs_out():
    for seed in range(8):
        texts, _ = poems("wujue", acrostic=("春", "秋"), no_repeat=True, seed=seed)
        for text in texts:
            han = [c for c in text if c not in "，。"]
            assert len(han) == len(set(han)) == 20, text
    # 8 x 7 = 56 characters from 27: repeats are unavoidable, the form still holds.
    texts, _ = poems("qilv", no_repeat=True, seed=1)
    assert all(poem_form(t, strict=True) == "qilv" for t in texts)
    assert all(len(set(t)) == len(HAN) + 2 for t in texts)  # every Han character used before any repeats


def test_rhyme_puts_even_line_endings_in_one_group():
    groups = dict(zip(TOKENS, TABLES.rhyme_groups.tolist()))
    for form in ("wujue", "qilv"):
        for seed in range(10):
            texts, _ = poems(form, rhyme=True, seed=seed)
            for text in texts:
                endings = [line[-1] for index, line in enumerate(poem_lines(text)) if index % 2 == 1]
                assert len({groups[c] for c in endings}) == 1 and groups[endings[0]] >= 0, (text, endings)
                assert poem_form(text, strict=True) == form


def test_rhyme_with_no_repeat_falls_back_to_a_rhyming_repeat_not_an_empty_row():
    # Only 光 has a rhyme group: line 2 must end in it, and so must line 4, although
    # no-repeat has used it up by then (no-repeat gives way, the rhyme holds).
    groups = np.full([V], -1, np.int32)
    groups[IDS["光"]] = 0
    for seed in range(10):
        texts, finished = poems("wujue", rhyme=True, no_repeat=True, seed=seed, groups=groups)
        assert finished.all()
        for text in texts:
            lines = poem_lines(text)
            assert lines[1][-1] == lines[3][-1] == "光" and poem_form(text, strict=True) == "wujue", text
            others = [c for c in text if c not in "，。光"]
            assert len(others) == len(set(others)) >= 17  # no-repeat still holds everywhere else


def test_free_form_bans_only_markers_padding_and_unknown():
    texts, finished = poems("free", first_line="山，水", seed=0, batch=16)
    for text in texts:
        assert text.startswith("山，水") and "\x02" not in text and "[UNK]" not in text and text
    for seed in range(4):
        texts, _ = poems("free", seed=seed, batch=16)
        assert all(0 < len(t.replace("\U000E0100", "")) <= 40 and "\x02" not in t for t in texts)  # tokens, not code points
    assert any("a" in t or "？" in t for t in texts)  # anything but the banned ids may appear


def test_processor_works_in_eager_mode_and_masks_line_ends():
    constraints = PoemConstraints(TABLES, 4, 5, tf.zeros([2, 0], tf.int32), rhyme=True)
    state = constraints.initial_state(tf.constant(2))
    logits = tf.zeros([2, V])
    for step, expected in ((5, "，"), (11, "。"), (17, "，"), (23, "。"), (24, "\x03"), (30, "\x03")):
        allowed = np.isfinite(constraints.process(logits, step, state).numpy())
        assert allowed.sum(axis=1).tolist() == [1, 1] and allowed[:, IDS[expected]].all()
    allowed = np.isfinite(constraints.process(logits, 0, state).numpy())[0]
    assert {TOKENS[i] for i in np.flatnonzero(allowed)} == set(HAN)  # no latin, "？", or the variation sequence
