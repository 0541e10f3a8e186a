"""TextGenerator end to end: fit, memorise, generate, evaluate, save/load, export, bad input."""

import json
import math
import os
import shutil
import subprocess

import numpy as np
import pytest
import tensorflow as tf

import rnnapps
from rnnapps.errors import ConfigError, DataError
from tests.helpers import run_app_test, run_python

MEMO = "the cat sat on the mat.\n"
# A window length that is not a multiple of the line length, so windows start at every phase.
SMALL = dict(cell="gru", units=32, depth=1, embedding_dim=16, sequence_length=19)


@pytest.fixture(scope="module")
def memorised():
    """A char LM trained until it has memorised a short repeated line."""
    import keras

    keras.utils.set_random_seed(3)
    generator = rnnapps.TextGenerator(level="char", learning_rate=1e-2, **SMALL)
    generator.fit(MEMO * 40, epochs=25, batch_size=8, validation_split=0.0, early_stopping_patience=None, seed=0, verbose=0)
    return generator


def test_greedy_generation_reproduces_the_memorised_text(memorised):
    text = memorised.generate("the cat", max_length=len(MEMO) * 2 - 7, temperature=0.0)
    assert text == (MEMO * 2)[:-1] or text.startswith("the cat sat on the mat.\nthe cat")
    assert text.startswith("the cat sat on the mat.\n")
    assert memorised.history.history["loss"][-1] < 0.2
    assert {"perplexity", "bits_per_char", "grad_norm"} <= set(memorised.history.history)


def test_batched_ragged_prompts_give_the_same_greedy_output_as_one_by_one(memorised):
    prompts = ["the", "sat on the m", "", "x\u00e9\U0001F600"]
    batched = memorised.generate(prompts, max_length=12, temperature=0.0)
    alone = [memorised.generate(p, max_length=12, temperature=0.0) for p in prompts]
    assert batched == alone
    assert [t.startswith(p) for t, p in zip(batched, prompts)] == [True] * 4


def test_a_seed_reproduces_sampling_and_another_seed_differs(memorised):
    first = memorised.generate(["the", "mat"], max_length=40, temperature=1.5, seed=11)
    again = memorised.generate(["the", "mat"], max_length=40, temperature=1.5, seed=11)
    other = memorised.generate(["the", "mat"], max_length=40, temperature=1.5, seed=12)
    assert first == again and first != other


def test_num_samples_top_k_top_p_and_details(memorised):
    texts = memorised.generate(["the", "on"], max_length=10, num_samples=3, seed=1, top_k=3, top_p=0.9)
    assert len(texts) == 6 and all(t.startswith("the") for t in texts[:3]) and all(t.startswith("on") for t in texts[3:])
    details = memorised.generate(["the"], max_length=5, temperature=0.0, return_details=True)
    assert details["text"][0] == "the" + details["generated"][0]
    assert len(details["token_ids"][0]) == 5 and 0 not in details["token_ids"][0] and 1 not in details["token_ids"][0]
    # top_k=1 is greedy; top_k beyond the vocabulary is all tokens.
    assert memorised.generate("the", max_length=10, top_k=1, seed=4) == memorised.generate("the", max_length=10, temperature=0.0)
    assert len(memorised.generate("the", max_length=10, top_k=10_000, seed=4)) == 13


def test_stop_strings_end_the_text(memorised):
    text = memorised.generate("the cat", max_length=60, temperature=0.0, stop="\n")
    assert text == "the cat sat on the mat."
    text = memorised.generate("the cat", max_length=60, temperature=0.0, stop=["on the"])
    assert text == "the cat sat "


def test_beam_search_finds_the_memorised_continuation(memorised):
    assert memorised.generate("the cat", max_length=16, beam_width=3).startswith("the cat sat on the mat")
    assert memorised.generate("the cat", max_length=16, beam_width=1) == memorised.generate("the cat", max_length=16, temperature=0.0)


@pytest.mark.parametrize(
    "knobs,message",
    [
        ({"max_length": -1}, "max_length"),
        ({"max_length": 10**7}, "max_length"),
        ({"temperature": -0.5}, "temperature"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
        ({"top_k": -1}, "top_k"),
        ({"num_samples": 0}, "num_samples"),
        ({"stop": [""]}, "stop"),
    ],
)
def test_bad_generation_options_get_clear_errors(memorised, knobs, message):
    with pytest.raises(ConfigError, match=message):
        memorised.generate("the", **knobs)


def test_defined_results_for_odd_prompts_and_lengths(memorised):
    assert memorised.generate("the", max_length=0) == "the"
    assert memorised.generate([]) == []
    unknown = memorised.generate("\u4e2d\u6587", max_length=5, temperature=0.0)  # only unknown characters
    assert unknown.startswith("\u4e2d\u6587") and len(unknown) == 7
    empty = memorised.generate("", max_length=8, temperature=0.0)
    assert len(empty) == 8 and "\ufffd" not in empty
    assert memorised.generate(b"the \xff", max_length=3, temperature=0.0).startswith("the \ufffd")


def test_uniform_model_has_perplexity_equal_to_the_vocabulary_size(tmp_path):
    generator = rnnapps.TextGenerator.from_vocabulary(list("abc\n"), **SMALL)
    for weight in generator.models.train.weights:
        weight.assign(np.zeros(weight.shape, weight.dtype))
    report = generator.evaluate("abcabc\nbca\n" * 20, batch_size=4)
    assert report.perplexity == pytest.approx(generator.vectorizer.vocabulary_size, rel=1e-4)
    assert report.bits_per_char == pytest.approx(math.log2(6), rel=1e-4)
    assert report.num_chars == 220


def test_evaluate_scores_the_whole_text(memorised, tmp_path):
    path = tmp_path / "held_out.txt"
    path.write_text(MEMO * 5, encoding="utf-8")
    report = memorised.evaluate(str(path), batch_size=2)
    assert report.perplexity < 1.5 and report.num_chars == len(MEMO) * 5
    assert len(MEMO) * 5 - 2 <= report.num_tokens <= len(MEMO) * 5 - 1
    assert "bits/char" in str(report)
    with pytest.raises(DataError, match="fewer than 2 tokens"):
        memorised.evaluate("a")


def test_word_level_unknown_words_and_detokenized_output():
    text = "the dog runs . the cat runs . a dog sleeps , the cat sleeps .\n" * 8 + "zebra quokka\n"
    generator = rnnapps.TextGenerator(level="word", min_count=2, **SMALL)
    generator.fit(text, epochs=3, batch_size=4, validation_split=0.0, seed=0, verbose=0)
    vocabulary = generator.vectorizer.get_vocabulary()
    assert "zebra" not in vocabulary and "dog" in vocabulary
    ids = generator.vectorizer.vectorize(tf.constant(["zebra dog"])).to_list()[0]
    assert ids[0] == 1  # <unk>
    out = generator.generate("zebra dog", max_length=20, seed=2, return_details=True)
    assert 1 not in out["token_ids"][0]  # <unk> is never generated
    assert out["text"][0].startswith("zebra dog ")
    assert " ." not in out["generated"][0] and " ," not in out["generated"][0]  # punctuation attached
    assert generator.evaluate("zebra dog runs .").num_tokens == 3


def test_stateful_training_carries_state_and_learns():
    generator = rnnapps.TextGenerator(level="char", learning_rate=1e-2, **SMALL)
    generator.fit(MEMO * 30, epochs=4, batch_size=4, stateful=True, validation_split=0.0, seed=0, verbose=0)
    losses = generator.history.history["loss"]
    assert len(losses) == 4 and losses[-1] < losses[0]
    assert generator.generate("the", max_length=5, seed=0).startswith("the")


def test_validation_split_and_data_report_validation_figures(tmp_path):
    lines = "".join(f"line {i} of the text.\n" for i in range(200))
    generator = rnnapps.TextGenerator(level="char", **SMALL)
    generator.fit(lines, epochs=1, batch_size=8, validation_split=0.1, seed=0, verbose=0)
    assert {"val_loss", "val_perplexity", "val_bits_per_char"} <= set(generator.history.history)
    generator.fit(lines, validation_data="line 7 of the text.\n" * 3, epochs=1, batch_size=8, verbose=0)
    assert "val_perplexity" in generator.history.history


def test_save_and_load_generate_the_same_text(memorised, tmp_path):
    path = memorised.save(tmp_path / "lm")
    loaded = rnnapps.load(path)
    assert isinstance(loaded, rnnapps.TextGenerator)
    assert loaded.generate(["the", "mat"], max_length=30, seed=5) == memorised.generate(["the", "mat"], max_length=30, seed=5)
    config = json.loads((tmp_path / "lm" / "config.json").read_text())
    assert config["config"]["level"] == "char" and config["state"]["chars_per_token"] == pytest.approx(1.0)


def test_empty_corpus_and_missing_file_errors(tmp_path):
    generator = rnnapps.TextGenerator(level="char", **SMALL)
    with pytest.raises(DataError):
        generator.fit("", epochs=1, verbose=0)
    with pytest.raises(DataError, match="no such file|not found|does not exist"):
        generator.fit(str(tmp_path / "missing.txt"), epochs=1, verbose=0)


@pytest.fixture(scope="module")
def exported(memorised, tmp_path_factory):
    return memorised.export(tmp_path_factory.mktemp("exports"), "lm")


def test_export_answers_in_a_fresh_process_like_the_python_object(memorised, exported):
    prompts = ["the cat", "", "mat"]
    code = f"""
import json, tensorflow as tf
model = tf.saved_model.load({exported!r})
out = model.signatures["generate"](prompt=tf.constant({prompts!r}), max_length=tf.constant(20),
    temperature=tf.constant(0.0), top_k=tf.constant(0), top_p=tf.constant(1.0), seed=tf.constant(0, tf.int64))
sampled = model.signatures["generate"](prompt=tf.constant(["the"]), max_length=tf.constant(15),
    temperature=tf.constant(1.3), top_k=tf.constant(5), top_p=tf.constant(0.9), seed=tf.constant(9, tf.int64))
default = model.signatures["serving_default"](prompt=tf.constant(["the"]))
odd = model.signatures["generate"](prompt=tf.constant(["the"]), max_length=tf.constant(-3),
    temperature=tf.constant(-1.0), top_k=tf.constant(10**6), top_p=tf.constant(7.0), seed=tf.constant(1, tf.int64))
print(json.dumps({{"text": [t.decode() for t in out["text"].numpy()],
    "sampled": sampled["text"].numpy()[0].decode(), "default": default["text"].numpy()[0].decode(),
    "odd": odd["text"].numpy()[0].decode(), "ids_shape": list(out["token_ids"].shape)}}))
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["text"] == memorised.generate(prompts, max_length=20, temperature=0.0)
    assert answer["sampled"] == memorised.generate("the", max_length=15, temperature=1.3, top_k=5, top_p=0.9, seed=9)
    assert answer["default"].startswith("the") and len(answer["default"]) == 203
    assert answer["odd"] == "the"  # max_length clipped to 0
    assert answer["ids_shape"] == [3, 20]


def test_saved_model_cli_runs_the_generate_signature(memorised, exported):
    cli = shutil.which("saved_model_cli")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    ran = subprocess.run(
        [cli, "run", "--dir", exported, "--tag_set", "serve", "--signature_def", "generate",
         "--input_exprs", 'prompt=["the cat"];max_length=10;temperature=0.0;top_k=0;top_p=1.0;seed=0'],
        capture_output=True, text=True, env=env, timeout=240,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    expected = memorised.generate("the cat", max_length=10, temperature=0.0)
    assert repr(expected.encode("utf-8"))[2:-1] in ran.stdout


def test_generate_traces_one_small_graph_per_sampling_mode_and_never_per_knob_value(memorised):
    memorised._graphs.clear()  # a fresh cache, as after fit() or load()
    first = memorised.generate("the", max_length=5, temperature=0.5, seed=1)
    memorised.generate("the", max_length=9, temperature=0.9, seed=2)  # new values, same mode: no retrace
    memorised.generate(["a", "mat"], max_length=3, temperature=0.0)
    memorised.generate("the", max_length=5, temperature=0.5, stop=["."])
    entries = memorised._graphs._entries
    assert {key[:2] for key in entries} == {("plain", False), ("greedy", False), ("plain", True)}
    assert all(fn.experimental_get_tracing_count() == 1 for fn in entries.values())
    assert memorised.generate("the", max_length=5, temperature=0.5, seed=1) == first


def test_lone_surrogates_in_prompts_and_stops_are_replaced_not_raised(memorised):
    text = memorised.generate("the \ud800cat", max_length=3, temperature=0.0)
    assert text.startswith("the ?cat") and len(text) == len("the ?cat") + 3
    assert memorised.generate(["\udfff"], max_length=2, temperature=0.0, stop="\ud800")[0].startswith("?")


def test_passes_the_shared_app_checks(tmp_path):
    corpus = "the cat sat on the mat. the dog sat on the log.\n" * 6
    greedy = lambda app: app.generate("the", max_length=8, temperature=0.0)  # noqa: E731
    run_app_test(
        rnnapps.TextGenerator(level="char", cell="gru", units=8, depth=1, embedding_dim=4, sequence_length=12),
        lambda app, **options: app.fit(corpus, batch_size=8, validation_split=0, **options),
        greedy,
        (
            "generate",
            {"prompt": ["the"], "max_length": 8, "temperature": 0.0, "top_k": 0, "top_p": 1.0, "seed": 0},
            "text",
            lambda app: [greedy(app)],
        ),
        [
            (lambda app: app.generate("the", max_length=-1), ConfigError, "max_length"),
            (lambda app: app.generate("the", temperature=-1.0), ConfigError, "temperature"),
        ],
        tmp_path,
    )
