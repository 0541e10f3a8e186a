"""Fuzzing every public entry point: arbitrary unicode and bytes, empty and huge inputs,
odd numbers (NaN, inf, negatives, huge) must give a defined result or an rnnapps error,
never a crash inside TensorFlow, and never a hang (hypothesis' per-example deadline).

The apps are tiny and untrained (or the shared trained classifier): what is tested is
the handling of input, not the quality of answers. Small `max_examples` keep the suite fast.
"""

import datetime
import json
import math
import os

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import rnnapps
from rnnapps.cli import main
from rnnapps.errors import ModelFileError, RnnappsError

FUZZ = settings(
    max_examples=20,
    deadline=datetime.timedelta(seconds=20),  # a hang fails the example
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same examples on every run: a failure is reproducible
)

# Text with everything hypothesis can draw: lone surrogates, controls, combining marks, CJK, emoji.
TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from(list("春夏秋冬\u0301\u200d\U0001F600 \n\t\ud800\x00aé")), max_size=40),
    st.binary(max_size=40),
    st.just("x" * 5000),
)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 2**31, 2**63, float("nan"), float("inf"), True, None, "3"]),
)



def mostly(valid):
    """Values from `valid` half of the time, odd numbers otherwise (so both paths get exercised)."""
    return st.one_of(valid, NUMBERS)


LENGTH = mostly(st.integers(0, 30))
TEMPERATURE = mostly(st.floats(0.0, 3.0))
TOP_K = mostly(st.integers(0, 10))
TOP_P = mostly(st.floats(0.01, 1.0))
SEED = mostly(st.integers(0, 2**31))
COUNT = mostly(st.integers(1, 3))
BATCH = mostly(st.integers(1, 8))
CALLS = {"ok": 0, "refused": 0}


def defined(call):
    """Runs `call`: an rnnapps error is a defined answer; anything else propagates (a failure)."""
    try:
        result = call()
    except RnnappsError:
        CALLS["refused"] += 1
        return None
    CALLS["ok"] += 1
    return result


@pytest.fixture(scope="module")
def apps(trained_classifier):
    generator = rnnapps.TextGenerator.from_vocabulary(list("abc \n"), units=4, depth=1, embedding_dim=4)
    poet = rnnapps.PoetryGenerator.from_vocabulary("春夏秋冬山水花月", units=4, depth=1, embedding_dim=4)
    translator = rnnapps.Translator.from_vocabularies(["one", "two"], ["uno", "dos"], units=4)
    generator.generate("a", max_length=1)  # trace once, outside the deadlines
    poet.generate(form="wujue", seed=0)
    translator.translate("one", max_length=1)
    return {"classifier": trained_classifier, "generator": generator, "poet": poet, "translator": translator}


@FUZZ
@given(texts=st.lists(TEXT, max_size=6), batch_size=BATCH)
def test_predict(apps, texts, batch_size):
    clf = apps["classifier"]
    result = defined(lambda: clf.predict(texts, batch_size=batch_size))
    if result is not None:
        assert len(result.labels) == len(texts) and np.all(np.isfinite(result.probabilities))
        assert all(label in clf.label_names for label in result.labels)


@FUZZ
@given(prompts=st.one_of(TEXT, st.lists(TEXT, max_size=4)), max_length=LENGTH, temperature=TEMPERATURE,
       top_k=TOP_K, top_p=TOP_P, seed=SEED, num_samples=COUNT, stop=st.one_of(st.none(), TEXT))
def test_generate(apps, prompts, max_length, temperature, top_k, top_p, seed, num_samples, stop):
    generator = apps["generator"]
    assume(not (isinstance(max_length, int) and max_length > 200))  # bounded by limits; keep examples fast
    result = defined(lambda: generator.generate(
        prompts, max_length=max_length, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed,
        num_samples=num_samples, stop=stop if not isinstance(stop, bytes) else None,
    ))
    if result is not None:
        assert isinstance(result, (str, list))


@FUZZ
@given(sources=st.one_of(TEXT, st.lists(TEXT, max_size=4)), beam_width=COUNT, num_results=COUNT,
       max_length=LENGTH, length_penalty=mostly(st.floats(0.0, 1.0)))
def test_translate(apps, sources, beam_width, num_results, max_length, length_penalty):
    translator = apps["translator"]
    assume(not (isinstance(beam_width, int) and beam_width > 3))  # each width is one more traced graph
    assume(not (isinstance(max_length, int) and max_length > 20))
    result = defined(lambda: translator.translate(
        sources, beam_width=beam_width, num_results=num_results, max_length=max_length, length_penalty=length_penalty,
    ))
    if result is not None:
        assert isinstance(result, (str, list))


@FUZZ
@given(form=st.one_of(st.sampled_from(["wujue", "qijue", "free", "五言绝句"]), TEXT), acrostic=st.one_of(st.none(), TEXT),
       first_line=st.one_of(st.none(), TEXT), mood=st.one_of(st.none(), TEXT), temperature=TEMPERATURE, top_k=TOP_K,
       seed=SEED, num_poems=COUNT)
def test_poetry_generate(apps, form, acrostic, first_line, mood, temperature, top_k, seed, num_poems):
    poet = apps["poet"]
    assume(not (isinstance(num_poems, int) and num_poems > 8))
    result = defined(lambda: poet.generate(
        form=form, acrostic=acrostic, first_line=first_line, mood=mood, temperature=temperature, top_k=top_k,
        seed=seed, num_poems=num_poems,
    ))
    if result is not None:
        assert isinstance(result, (str, list))


@settings(FUZZ, max_examples=10)  # each language-model evaluation traces its scorer
@given(texts=st.lists(TEXT, min_size=0, max_size=5), labels=st.lists(st.one_of(TEXT, NUMBERS), max_size=5),
       corpus=TEXT, batch_size=BATCH)
def test_evaluate(apps, texts, labels, corpus, batch_size):
    defined(lambda: apps["classifier"].evaluate(texts, labels, batch_size=batch_size))
    if isinstance(corpus, str) and "\n" not in corpus:
        corpus = [corpus]  # a one-line str would be taken for a file name (see README): a list is text
    defined(lambda: apps["generator"].evaluate(corpus, batch_size=batch_size))


def test_the_fuzzing_reached_both_answers():
    """Runs after the app fuzz tests above (same file, same worker): both paths were taken."""
    assert CALLS["ok"] >= 15 and CALLS["refused"] >= 15, CALLS


@pytest.fixture(scope="module")
def saved(apps, tmp_path_factory):
    return apps["classifier"].save(tmp_path_factory.mktemp("fuzz") / "clf")


@FUZZ
@given(name=st.sampled_from(["config.json", "vocabulary.json", "history.json", "model.keras"]),
       content=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode),
                         st.dictionaries(st.text(max_size=8), st.one_of(st.integers(), st.text(max_size=8), st.none()),
                                         max_size=4).map(lambda d: json.dumps(d).encode())))
def test_load_of_damaged_files(saved, tmp_path_factory, name, content):
    import shutil

    copy = tmp_path_factory.mktemp("damaged") / "clf"
    shutil.copytree(saved, copy)
    (copy / name).write_bytes(content)
    try:
        app = rnnapps.load(copy)
    except ModelFileError:
        return
    # A damaged history file is tolerated (with a warning): everything else must have failed.
    assert name == "history.json" and app.predict(["x"]).labels


@pytest.fixture(scope="module")
def served(apps, tmp_path_factory):
    base = tmp_path_factory.mktemp("fuzz_exports")
    generator = tf.saved_model.load(apps["generator"].export(base, "lm", limits={"max_batch": 8, "max_new_tokens": 50}))
    translator = tf.saved_model.load(apps["translator"].export(base, "tr", beam_width=2))
    return generator.signatures["generate"], translator.signatures["translate"]


def tensor_text(values):
    return tf.constant([v if isinstance(v, bytes) else v.encode("utf-8", "replace") for v in values], tf.string)


INT32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)
FLOAT32 = st.floats(width=32, allow_nan=True, allow_infinity=True)


@FUZZ
@given(prompts=st.lists(TEXT, max_size=10), max_length=INT32, temperature=FLOAT32, top_k=INT32, top_p=FLOAT32,
       seed=st.integers(min_value=-(2**63), max_value=2**63 - 1), sources=st.lists(TEXT, max_size=5), source_length=INT32)
def test_export_requests(served, prompts, max_length, temperature, top_k, top_p, seed, sources, source_length):
    generate, translate = served
    try:
        out = generate(prompt=tensor_text(prompts), max_length=tf.constant(max_length), temperature=tf.constant(temperature),
                       top_k=tf.constant(top_k), top_p=tf.constant(top_p), seed=tf.constant(seed, tf.int64))
    except tf.errors.InvalidArgumentError as error:
        assert len(prompts) > 8 and "at most 8 prompts" in error.message  # the only refusal: the batch limit
    else:
        assert out["text"].shape[0] == len(prompts) and out["token_ids"].shape[-1] <= 50
    out = translate(source=tensor_text(sources), max_length=tf.constant(source_length))
    assert out["translations"].shape[0] == len(sources)
    assert np.all(np.isfinite(out["scores"].numpy())) or not sources


@settings(FUZZ, max_examples=12)
@given(args=st.lists(st.one_of(st.sampled_from(["--batch-size", "--json", "-1", "0", "nan", "1e309", ""]), st.text(max_size=10)),
                     max_size=4))
def test_cli(saved, capsys, args):
    try:
        status = main(["classify", "predict", str(saved)] + [a for a in args if "\x00" not in a])
    except SystemExit as exit:  # argparse: usage errors print usage and exit 2
        status = exit.code
    err = capsys.readouterr().err
    assert status in (0, 2), err
    assert "Traceback" not in err
    if status == 2 and "usage:" not in err:
        assert err.strip().splitlines()[-1].startswith("rnnapps: error: ")
