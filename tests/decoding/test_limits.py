"""Request limits (rnnapps/decoding/limits.py): no generation, poetry or translation request
can exhaust memory or run for minutes, in Python or through an export."""

import time

import numpy as np
import pytest
import tensorflow as tf

import rnnapps
from rnnapps.decoding.limits import RequestLimits, chunks
from rnnapps.errors import ConfigError
from rnnapps.serving.limits import ServerLimits

HUGE_PROMPT = "ab " * 66_667  # 200,001 characters


@pytest.fixture(scope="module")
def generator():
    return rnnapps.TextGenerator.from_vocabulary(list("abc \n"), units=8, depth=1, embedding_dim=8)


def test_limits_validate_their_fields():
    assert RequestLimits.of({"max_batch": 4}).max_batch == 4
    with pytest.raises(ConfigError, match="max_batch must be an integer >= 1"):
        RequestLimits(max_batch=0)
    with pytest.raises(ConfigError, match="unknown request limits"):
        RequestLimits.of({"rows": 3})
    for bad in (True, 2.0, "4", None):
        with pytest.raises(ConfigError, match="max_new_tokens must be an integer >= 1"):
            RequestLimits(max_new_tokens=bad)
    numpy_count = RequestLimits(max_batch=np.int64(8)).max_batch
    assert type(numpy_count) is int and numpy_count == 8  # stored as a Python int: the export writes it as JSON
    with pytest.raises(ConfigError, match="max_rows must be an integer >= 1"):
        ServerLimits(max_rows=-1)
    assert list(chunks([1, 2, 3], 2)) == [[1, 2], [3]]


def test_a_200000_character_prompt_is_read_by_its_last_tokens(generator):
    start = time.perf_counter()
    text = generator.generate(HUGE_PROMPT, max_length=4, temperature=0.0)
    assert time.perf_counter() - start < 60
    assert text.startswith(HUGE_PROMPT) and len(text) == len(HUGE_PROMPT) + 4
    # Only the last max_prompt_tokens count: the same continuation as the prompt's tail.
    tail = HUGE_PROMPT[-RequestLimits().max_prompt_tokens:]
    assert text[len(HUGE_PROMPT):] == generator.generate(tail, max_length=4, temperature=0.0)[len(tail):]


def test_a_1000_row_request_is_chunked_and_equals_row_by_row(generator):
    generator.limits = RequestLimits(max_batch=300)
    try:
        prompts = ["a", "b c", "", "ca"] * 250
        texts = generator.generate(prompts, max_length=3, temperature=0.0)
    finally:
        generator.limits = RequestLimits()
    assert len(texts) == 1000
    alone = {p: generator.generate(p, max_length=3, temperature=0.0) for p in set(prompts)}
    assert texts == [alone[p] for p in prompts]


@pytest.mark.parametrize(
    "knobs, message",
    [
        (dict(max_length=10_001), r"max_length must be an integer in \[0, 10000\]"),
        (dict(num_samples=65), r"num_samples must be an integer in \[1, 64\]"),
        (dict(beam_width=17), r"beam_width must be an integer in \[1, 16\]"),
        (dict(seed=2**70), "seed must be an integer"),
    ],
)
def test_python_generation_refuses_requests_beyond_the_limits(generator, knobs, message):
    with pytest.raises(ConfigError, match=message):
        generator.generate("a", **knobs)


def test_an_export_refuses_too_many_rows_and_bounds_prompts_and_lengths(generator, tmp_path):
    path = generator.export(tmp_path, "lm", limits={"max_batch": 8, "max_prompt_tokens": 64, "max_new_tokens": 20})
    served = tf.saved_model.load(path).signatures["generate"]

    def request(prompts, max_length):
        return served(
            prompt=tf.constant(prompts), max_length=tf.constant(max_length, tf.int32),
            temperature=tf.constant(0.0), top_k=tf.constant(0, tf.int32), top_p=tf.constant(1.0),
            seed=tf.constant(0, tf.int64),
        )

    with pytest.raises(tf.errors.InvalidArgumentError, match="at most 8 prompts per request"):
        request(["a"] * 1000, 3)
    start = time.perf_counter()
    out = request([HUGE_PROMPT, "a"], 1_000_000)
    assert time.perf_counter() - start < 60
    assert out["token_ids"].shape[1] <= 20  # max_length clipped to max_new_tokens


def test_poetry_and_translation_requests_are_chunked_and_bounded():
    poet = rnnapps.PoetryGenerator.from_vocabulary("春夏秋冬山水花月", units=8, depth=1, embedding_dim=8)
    poet.limits = RequestLimits(max_batch=7)
    poems = poet.generate(form="wujue", num_poems=20, seed=3, temperature=0.0)
    assert len(poems) == 20 and len(set(poems)) == 1  # greedy: chunking changes nothing
    translator = rnnapps.Translator.from_vocabularies(["one", "two"], ["uno", "dos"], units=8)
    translator.limits = RequestLimits(max_batch=16)
    sources = ["one two", "two", ""] * 334
    translations = translator.translate(sources, max_length=3, batch_size=10_000)
    assert len(translations) == 1002
    assert translations[:3] == [translator.translate(s, max_length=3) for s in sources[:3]]
    with pytest.raises(ConfigError, match=r"beam_width must be an integer in \[1, 16\]"):
        translator.translate("one", beam_width=10_000)
