"""Every app: resume=True, backups that refuse another app's state, mixed precision with
float32 outputs, clipping options, per-layer grad norms and history kept in the save."""

import json
import math
import os

import keras
import numpy as np
import pytest

import rnnapps
from rnnapps.errors import ConfigError
from rnnapps.training.resume import backup_location
from tests.helpers import tiny_sentiment_data

TEXT = "the cat sat on the mat. the dog sat on the log.\n" * 6
POEMS = ["床前明月光，疑是地上霜。举头望明月，低头思故乡。", "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"] * 4
PAIRS = [("one two", "uno dos"), ("two three", "dos tres"), ("three one", "tres uno")] * 6


def classifier(**options):
    return rnnapps.SentimentClassifier(cell="gru", units=4, embedding_dim=4, **options)


def generator(**options):
    return rnnapps.TextGenerator(cell="gru", units=4, depth=1, embedding_dim=4, sequence_length=12, **options)


def poet(**options):
    return rnnapps.PoetryGenerator(cell="gru", units=4, depth=1, embedding_dim=4, **options)


def translator(**options):
    return rnnapps.Translator(cell="gru", units=4, source_embedding_dim=4, target_embedding_dim=4, bidirectional=False, **options)


def fit(app, epochs=1, **options):
    options.setdefault("verbose", 0)
    options.setdefault("validation_split", 0)
    if isinstance(app, rnnapps.SentimentClassifier):
        texts, labels = tiny_sentiment_data(per_class=4)
        return app.fit(texts, labels, epochs=epochs, batch_size=8, **options)
    if isinstance(app, rnnapps.TextGenerator):
        return app.fit(TEXT, epochs=epochs, batch_size=4, **options)
    if isinstance(app, rnnapps.PoetryGenerator):
        return app.fit(POEMS, epochs=epochs, batch_size=4, **options)
    return app.fit(PAIRS, epochs=epochs, batch_size=6, **options)


APPS = [classifier, generator, poet, translator]
IDS = ["classifier", "generator", "poet", "translator"]


@pytest.mark.parametrize("make", APPS, ids=IDS)
def test_resume_true_trains_through_a_backup_and_keeps_history(make, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    seen = {}

    class Spy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen[epoch] = sorted(os.listdir(tmp_path / "rnnapps_backup" / app.kind))

    app = make()
    fit(app, epochs=2, resume=True, callbacks=[Spy()], early_stopping_patience=None)
    # During training the backup held weights + optimizer (Keras) and the app's identity and history (rnnapps).
    assert {"latest.weights.h5", "training_metadata.json", "rnnapps_app.json"} <= set(seen[1])
    assert not (tmp_path / "rnnapps_backup" / app.kind).exists()  # removed once the fit finished
    assert len(app.history.history["loss"]) == 2
    layers = {key.split("/", 1)[1] for key in app.history.history if key.startswith("grad_norm/")}
    assert layers >= {"embedding", "lm_gru_0", "logits"} if app.kind == "language_model" else layers
    if isinstance(app, rnnapps.Translator):  # the translator's training model is monitored too
        assert layers >= {"encoder_gru_0", "decoder_gru_0", "attention", "logits"}
    assert len(app.step_history["grad_norm"]) >= 2
    saved = json.load(open(os.path.join(app.save(tmp_path / "saved"), "history.json")))
    assert saved["epochs"]["loss"] == app.history.history["loss"]
    assert rnnapps.load(tmp_path / "saved").history.history["loss"] == pytest.approx(app.history.history["loss"])


def test_a_backup_of_other_options_is_refused(tmp_path):
    backup = tmp_path / "backup"

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(generator(), epochs=2, backup_dir=str(backup), callbacks=[Crash()])
    # Ctrl-C (KeyboardInterrupt) leaves the backup intact: Keras removes it only after a finished fit.
    assert {"latest.weights.h5", "training_metadata.json", "rnnapps_app.json"} <= set(os.listdir(backup))
    # Other data: the vocabulary differs (other options are caught the same way, see tests/training).
    with pytest.raises(ConfigError, match="belongs to another training.*vocabulary built from the data differs"):
        generator().fit(TEXT.upper(), epochs=1, batch_size=4, validation_split=0, verbose=0, backup_dir=str(backup))


def test_a_backup_dir_with_foreign_files_is_refused_and_left_intact(tmp_path):
    """Keras deletes the backup folder after a finished fit: pointing backup_dir at a folder
    with other files in it (here the checkpoint folder) must not lose them."""
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    (folder / "best_model_notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="not an rnnapps backup.*new or empty folder"):
        fit(classifier(), backup_dir=str(folder))
    assert sorted(os.listdir(folder)) == ["best_model_notes.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    fit(classifier(), backup_dir=str(empty))  # a new or empty folder is fine (and removed afterwards)
    assert not empty.exists()


def test_where_resume_puts_its_backup():
    kind = classifier().kind
    assert backup_location(kind, False, None, "ckpt") is None  # not asked
    assert backup_location(kind, True, None, "ckpt") == os.path.join("ckpt", "backup")
    assert backup_location(kind, True, None, None) == os.path.join("rnnapps_backup", "sentiment")
    assert backup_location(kind, False, "mine", "ckpt") == "mine"  # a backup_dir alone resumes too


# The translator under bfloat16 takes ~25 s on 2 CPU cores (emulated bfloat16 maths): a large test.
@pytest.mark.parametrize(
    "make",
    [classifier, generator, pytest.param(translator, marks=pytest.mark.large)],
    ids=["classifier", "generator", "translator"],
)
def test_mixed_bfloat16_keeps_outputs_float32_and_restores_the_policy(make, tmp_path):
    app = make(mixed_precision="mixed_bfloat16")
    fit(app)
    assert keras.config.dtype_policy().name == "float32"  # nothing leaked
    recurrent = [layer for layer in app.model.layers if "gru" in layer.name or "bi_" in layer.name]
    assert recurrent and all(layer.compute_dtype == "bfloat16" for layer in recurrent)
    inputs = [np.array([[2, 3, 2]], "int32")] * len(app.model.inputs)
    assert keras.ops.convert_to_numpy(app.model(inputs if len(inputs) > 1 else inputs[0])).dtype == np.float32
    assert np.isfinite(app.history.history["loss"][0]) and app.history.history["grad_norm"][0] > 0
    if isinstance(app, rnnapps.SentimentClassifier):
        assert app.predict(["great film"]).probabilities.dtype == np.float32
        loaded = rnnapps.load(app.save(tmp_path / "saved"))
        assert loaded.mixed_precision == "mixed_bfloat16" and keras.config.dtype_policy().name == "float32"
        assert loaded.model.get_layer("rnn_gru_0").compute_dtype == "bfloat16"
    elif isinstance(app, rnnapps.TextGenerator):
        assert len(app.generate("the", max_length=2, seed=1)) == 5  # the loop carries bfloat16 states
    else:
        assert isinstance(app.translate("one two"), str)


@pytest.mark.parametrize("make", APPS, ids=IDS)
def test_clipping_options_one_at_a_time(make):
    with pytest.raises(ConfigError, match="only one of clipnorm, global_clipnorm, clipvalue"):
        make(global_clipnorm=1.0, clipvalue=0.5)
    with pytest.raises(ConfigError, match="mixed_precision must be one of"):
        make(mixed_precision="float16")
    with pytest.raises(ConfigError, match="strategy must be a tf.distribute.Strategy"):
        make(strategy="mirrored")
    assert make(global_clipnorm=2.0).get_config()["global_clipnorm"] == 2.0


def test_stateful_tbptt_training_resumes_exactly(tmp_path):
    """The StatefulTrainer (carried states, shared optimizer) resumes too; its window order is
    fixed, so the resumed losses equal an uninterrupted run's."""

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    def run(backup=None, callbacks=()):
        keras.utils.set_random_seed(0)
        app = generator(learning_rate=0.02)
        fit(app, epochs=3, stateful=True, backup_dir=backup, callbacks=list(callbacks), early_stopping_patience=None)
        return app.history.history["loss"]

    whole = run()
    with pytest.raises(KeyboardInterrupt):
        run(str(tmp_path / "backup"), [Crash()])
    assert run(str(tmp_path / "backup")) == pytest.approx(whole, rel=1e-5)


def test_early_stopping_patience_restarts_on_a_resumed_fit(tmp_path, monkeypatch):
    """The resumed fit's EarlyStopping starts afresh (wait 0, no best yet) instead of
    carrying the interrupted run's count, and judges only the epochs it runs."""
    states = []

    class RecordingEarlyStopping(keras.callbacks.EarlyStopping):
        def on_train_begin(self, logs=None):
            super().on_train_begin(logs)
            states.append(("begin", self.wait, self.best))

        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, logs)
            states.append((epoch, self.wait, self.best, float(logs["loss"])))

    monkeypatch.setattr(keras.callbacks, "EarlyStopping", RecordingEarlyStopping)

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    backup = str(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        fit(generator(), epochs=4, backup_dir=backup, callbacks=[Crash()], early_stopping_patience=1)
    interrupted = list(states)
    states.clear()
    fit(generator(), epochs=4, backup_dir=backup, early_stopping_patience=1)
    assert [s[0] for s in interrupted] == ["begin", 0, 1]
    assert states[0][0] == "begin" and states[0][1] == 0 and states[0][2] in (None, math.inf)  # nothing carried over
    first_resumed = states[1]
    assert first_resumed[0] == 2  # the resumed fit starts at epoch 3
    assert first_resumed[1] == 0 and first_resumed[2] == first_resumed[3]  # its own first epoch is the best so far


@pytest.mark.parametrize("make", APPS, ids=IDS)
def test_optimizer_state_survives_save_and_load_and_fit_continues_from_it(make, tmp_path):
    app = make()
    fit(app, epochs=2)
    optimizer = app.model.optimizer
    iterations = int(optimizer.iterations.numpy())
    assert iterations > 0
    saved_slots = [np.array(v) for v in optimizer.variables]
    loaded = rnnapps.load(app.save(tmp_path / "app"))
    reloaded = loaded.model.optimizer
    settings = lambda o: {k: v for k, v in o.get_config().items() if k != "name"}  # noqa: E731  (a rebuilt one is renamed)
    assert type(reloaded) is type(optimizer) and settings(reloaded) == settings(optimizer)  # the app's one optimizer spec
    assert int(reloaded.iterations.numpy()) == iterations  # the language-model apps used to come back at 0
    assert len(reloaded.variables) == len(saved_slots)
    for mine, theirs in zip(reloaded.variables, saved_slots):
        np.testing.assert_array_equal(np.array(mine), theirs)  # Adam's moments too, not only the count
    steps_per_epoch = iterations // 2
    fit(loaded, epochs=1)
    assert int(loaded.model.optimizer.iterations.numpy()) == iterations + steps_per_epoch
