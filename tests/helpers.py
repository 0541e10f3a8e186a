"""TestCase-style helpers shared by the test modules (after keras-hub's TestCase)."""

import os
import random
import subprocess
import sys

import keras
import numpy as np

POSITIVE_WORDS = ["great", "wonderful", "superb", "lovely", "brilliant", "delightful"]
NEGATIVE_WORDS = ["awful", "terrible", "boring", "dreadful", "poor", "dull"]
NEUTRAL_WORDS = ["average", "standard", "ordinary", "typical", "usual", "plain"]
FILLER = ["the", "film", "was", "plot", "and", "acting", "really", "quite", "a", "story"]


def tiny_sentiment_data(per_class=40, seed=0, classes=("negative", "neutral", "positive")):
    """A learnable toy corpus: each text holds 1-2 words that decide its class among filler.

    Returns:
        (texts, labels) lists, classes interleaved.
    """
    rng = random.Random(seed)
    words = {"negative": NEGATIVE_WORDS, "neutral": NEUTRAL_WORDS, "positive": POSITIVE_WORDS}
    texts, labels = [], []
    for _ in range(per_class):
        for label in classes:
            body = rng.sample(FILLER, rng.randint(2, 6)) + rng.sample(words[label], rng.randint(1, 2))
            rng.shuffle(body)
            texts.append(" ".join(body))
            labels.append(label)
    return texts, labels


def run_serialization_test(instance):
    """`from_config(get_config())` rebuilds an object with the same config."""
    config = instance.get_config()
    revived = type(instance).from_config(config)
    assert revived.get_config() == config
    serialized = keras.saving.serialize_keras_object(instance)
    again = keras.saving.deserialize_keras_object(serialized)
    assert type(again) is type(instance)
    assert again.get_config() == config
    return revived


def run_model_saving_test(model, inputs, tmp_path):
    """A model saved to `.keras` and reloaded gives identical outputs."""
    path = os.path.join(str(tmp_path), "model.keras")
    expected = model.predict(inputs, verbose=0)
    model.save(path)
    restored = keras.saving.load_model(path)
    actual = restored.predict(inputs, verbose=0)
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)
    return restored


def run_layer_test(layer, inputs, expected_output_shape, tmp_path, mask=None):
    """Calls the layer, checks its output shape, and round-trips it through config and `.keras`."""
    outputs = layer(inputs) if mask is None else layer(inputs, mask=mask)
    first = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
    assert tuple(first.shape) == tuple(expected_output_shape)
    run_serialization_test(layer)
    model_input = keras.Input(shape=tuple(inputs.shape[1:]), dtype=str(inputs.dtype))
    model_output = layer.__class__.from_config(layer.get_config())(model_input)
    model = keras.Model(model_input, model_output)
    run_model_saving_test(model, np.asarray(inputs), tmp_path)
    return outputs


def run_python(code, timeout=240, cwd=None):
    """Runs `code` in a fresh Python process (no state shared with the tests)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env
    )


def export_tiny_apps(base_dir, epochs=1):
    """Trains the four apps for `epochs` on tiny data (a few seconds) and exports them under
    `base_dir` with the names the quickstart uses; returns {name: version_dir}.

    The models barely learn: the tests that use them check plumbing (requests, signatures,
    pages), not quality.
    """
    import rnnapps
    from rnnapps.data.synthetic import reversed_numbers

    keras.utils.set_random_seed(11)
    exports = {}
    texts, labels = tiny_sentiment_data(per_class=12)
    clf = rnnapps.SentimentClassifier(cell="gru", units=8, embedding_dim=8)
    clf.fit(texts, labels, epochs=epochs, batch_size=16, validation_split=0.0, verbose=0)
    exports["sentiment"] = clf.export(base_dir, "sentiment")

    gen = rnnapps.TextGenerator(level="char", cell="gru", units=8, depth=1, embedding_dim=4, sequence_length=12)
    gen.fit("the cat sat on the mat. the dog sat on the log.\n" * 6, epochs=epochs, batch_size=8, validation_split=0, verbose=0)
    exports["language_model"] = gen.export(base_dir, "language_model")

    samples = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "rnnapps", "samples", "poems.txt")
    poet = rnnapps.PoetryGenerator(cell="gru", units=8, depth=1, embedding_dim=8)
    poet.fit(samples, epochs=epochs, batch_size=32, validation_split=0, verbose=0)
    exports["poetry"] = poet.export(base_dir, "poetry")

    # A few epochs more than the others: an untrained translator ends at once, and a
    # translation of no tokens has no attention to show.
    tr = rnnapps.Translator(cell="gru", units=8, encoder_units=8, source_embedding_dim=8, target_embedding_dim=8, learning_rate=1e-2)
    tr.fit(reversed_numbers(200, seed=0), epochs=epochs + 2, batch_size=32, validation_split=0, verbose=0)
    exports["translator"] = tr.export(base_dir, "translator", beam_width=2)
    return exports


def _plain(value):
    """numpy/bytes -> JSON-comparable Python values (bytes decoded)."""
    value = value.tolist() if hasattr(value, "tolist") else value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def run_app_test(app, fit, answer, export_request, bad_inputs, tmp_path, export_options=None):
    """The checks every app passes (after keras-hub's `run_*_test` helpers).

    Args:
        app: an untrained app with small options.
        fit: `fit(app, **options)` trains it tiny (the helper adds epochs, verbose and
            the resume options).
        answer: `answer(app)` -> a deterministic answer (greedy or seeded), compared
            after save/load.
        export_request: `(signature, request, output_key, expected(app))`: what the export,
            loaded in a fresh process, must answer (`expected` computes it from the app).
        bad_inputs: `[(call(app), exception type, message pattern)]`.
        export_options: keyword arguments of `app.export`.

    Checks: fit returns the app with a history; save -> `rnnapps.load` answers identically
    with the optimizer state (iterations, slots) kept, and a fit after load continues from
    it; the export answers like the app in a fresh process; a resumable fit (backup_dir)
    runs; bad input raises the expected errors.
    """
    import json

    import pytest

    import rnnapps

    tmp_path = str(tmp_path)
    assert fit(app, epochs=1, verbose=0) is app and "loss" in app.history.history
    before = answer(app)
    saved = app.save(os.path.join(tmp_path, "saved"))
    loaded = rnnapps.load(saved)
    assert type(loaded) is type(app) and loaded.get_config() == app.get_config()
    assert answer(loaded) == before
    mine, theirs = app.model.optimizer, loaded.model.optimizer
    assert int(theirs.iterations.numpy()) == int(mine.iterations.numpy()) > 0
    for a, b in zip(mine.variables, theirs.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    steps = int(theirs.iterations.numpy())
    fit(loaded, epochs=1, verbose=0)
    assert int(loaded.model.optimizer.iterations.numpy()) > steps  # continues, not restarted

    signature, request, key, expected = export_request
    version_dir = app.export(os.path.join(tmp_path, "exports"), **(export_options or {}))
    code = (
        "import json, tensorflow as tf\n"
        f"fn = tf.saved_model.load({version_dir!r}).signatures[{signature!r}]\n"
        "specs = fn.structured_input_signature[1]\n"
        f"request = {{k: tf.constant(v, specs[k].dtype) for k, v in json.loads({json.dumps(request)!r}).items()}}\n"
        f"out = fn(**request)[{key!r}].numpy().tolist()\n"
        "print(json.dumps([o.decode('utf-8', 'replace') if isinstance(o, bytes) else o for o in out]))\n"
    )
    ran = run_python(code)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert json.loads(ran.stdout.strip().splitlines()[-1]) == _plain(expected(app))

    assert fit(app, epochs=1, verbose=0, backup_dir=os.path.join(tmp_path, "backup"), resume=True) is app
    assert "loss" in app.history.history

    for call, error, pattern in bad_inputs:
        with pytest.raises(error, match=pattern):
            call(app)
    return loaded
