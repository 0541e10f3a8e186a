"""GradientNormMonitor's warnings, resume bookkeeping (backup identity, history log), precision scope."""

import json
import math
import warnings

import keras
import numpy as np
import pytest

from rnnapps.errors import ConfigError, ModelFileError
from rnnapps.training import GradientNormMonitor, GradientWarning, float32_outputs, precision_scope
from rnnapps.training.history import TrainingHistory
from rnnapps.training.resume import EpochHistoryLog, app_identity, check_backup_identity, merge_history


def feed(monitor, values, layer_values=None, losses=None):
    caught = []
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        for index, value in enumerate(values):
            logs = {"loss": 1.0 if losses is None else losses[index], "grad_norm": value}
            if layer_values is not None:
                logs["grad_norm/rnn"] = layer_values[index]
            monitor.on_train_batch_end(index, logs)
        caught = [r for r in records if issubclass(r.category, GradientWarning)]
    return caught


def test_a_spike_warns_once_with_its_step_and_recovery_rearms():
    monitor = GradientNormMonitor(window=10, explode_factor=10, cooldown=0)
    values = [1.0 + 0.01 * i for i in range(20)] + [50.0, 60.0] + [1.0] * 5 + [80.0]
    caught = feed(monitor, values)
    assert [(step, kind) for step, kind, _, _ in monitor.events] == [(21, "explode"), (28, "explode")]
    assert len(caught) == 2 and "step 21: exploding gradients: global norm 50" in str(caught[0].message)
    assert monitor.steps["grad_norm"] == values and monitor.steps["step"] == list(range(1, 29))


def test_spikes_within_the_cooldown_are_recorded_and_counted_once_at_the_end():
    monitor = GradientNormMonitor(window=10, explode_factor=10, cooldown=20)
    values = [1.0] * 12 + [50.0, 1.0, 70.0, 1.0, 90.0] + [1.0] * 20 + [60.0]
    caught = feed(monitor, values)
    assert [step for step, *_ in monitor.events] == [13, 15, 17, 38]
    assert [str(w.message).split(":")[0] for w in caught] == ["step 13", "step 38"]  # 15 and 17 muted
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        monitor.on_train_end()
    assert len(records) == 1 and "2 more exploding-gradient step(s)" in str(records[0].message)


def test_no_relative_spike_before_a_full_window_of_steps():
    monitor = GradientNormMonitor()  # window 50
    rising = [0.02 + 0.002 * i for i in range(10)]  # a warm-up's growing norms (median 0.029)
    values = rising + [0.4] + [0.05] * 49 + [5.0]  # 0.4: 14x the median of 10 steps, not of 50
    feed(monitor, values)
    assert [(step, kind) for step, kind, _, _ in monitor.events] == [(61, "explode")]


def test_non_finite_and_absolute_thresholds_explode_at_once():
    monitor = GradientNormMonitor(explode_threshold=100)
    feed(monitor, [1.0, 150.0, 1.0, math.inf])
    assert [(step, kind) for step, kind, _, _ in monitor.events] == [(2, "explode"), (4, "explode")]


def test_a_collapsing_layer_warns_and_names_the_layer():
    monitor = GradientNormMonitor(window=5, collapse_ratio=1e-3)
    steady = [1.0] * 15
    fading = [1.0] * 5 + [1e-5] * 10
    caught = feed(monitor, steady, fading)
    assert [(kind, key) for _, kind, key, _ in monitor.events] == [("collapse", "grad_norm/rnn")]
    assert monitor.events[0][0] == 10  # two windows seen, the recent one faded
    assert "layer 'rnn'" in str(caught[0].message) and "vanishing" in str(caught[0].message)


def test_small_gradients_of_a_model_that_fits_its_batches_do_not_warn():
    # The loss falling with the norms (a converged model) is not vanishing gradients;
    # a loss that stays up while they fade still warns.
    fading = [1.0] * 5 + [1e-5] * 10
    converged = GradientNormMonitor(window=5)
    assert feed(converged, fading, fading, losses=[2.0] * 5 + [1e-4] * 10) == [] and converged.events == []
    stuck = GradientNormMonitor(window=5)
    caught = feed(stuck, fading, fading, losses=[2.0] * 5 + [1.5] * 10)
    assert [key for _, _, key, _ in stuck.events] == ["grad_norm", "grad_norm/rnn"] and len(caught) == 2


def test_steady_norms_never_warn():
    monitor = GradientNormMonitor(window=5)
    rng = np.random.default_rng(0)
    assert feed(monitor, list(1.0 + 0.3 * rng.random(200))) == [] and monitor.events == []


@pytest.mark.parametrize("option", [
    {"window": 0}, {"explode_factor": 1.0}, {"collapse_ratio": 1.5}, {"cooldown": -1}, {"converged_ratio": 1.0}
])
def test_monitor_rejects_bad_options(option):
    with pytest.raises(ConfigError):
        GradientNormMonitor(**option)


# -- resume bookkeeping -------------------------------------------------------------------
def test_backup_identity_is_recorded_then_checked(tmp_path):
    identity = app_identity("TextGenerator", {"units": 8, "cell": "gru"}, [["a", "b"]])
    check_backup_identity(tmp_path, identity)
    # No training state yet (the fit failed before its first epoch end): anything may reuse it.
    check_backup_identity(tmp_path, app_identity("Translator", {}, [["x"]]))
    check_backup_identity(tmp_path, identity)
    (tmp_path / "training_metadata.json").write_text('{"epoch": 1, "batch": 0}')  # a real backup now
    check_backup_identity(tmp_path, identity)  # the same training: fine
    other_vocabulary = app_identity("TextGenerator", {"units": 8, "cell": "gru"}, [["a", "c"]])
    with pytest.raises(ConfigError, match="vocabulary built from the data differs"):
        check_backup_identity(tmp_path, other_vocabulary)
    other_options = app_identity("TextGenerator", {"units": 16, "cell": "gru"}, [["a", "b"]])
    with pytest.raises(ConfigError, match="options differ: units"):
        check_backup_identity(tmp_path, other_options)


class _Stop(Exception):
    pass


def test_interrupted_fit_resumes_with_continuous_history(tmp_path):
    """In-process version of the kill test: an exception after epoch 2, then the same fit again."""
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32")

    def model():
        keras.utils.set_random_seed(5)
        inputs = keras.Input((3,))
        m = keras.Model(inputs, keras.layers.Dense(1)(inputs))
        m.compile(keras.optimizers.Adam(0.05), "mse")
        return m

    def stop_after_two(epoch, logs):
        if epoch == 1:
            raise _Stop()

    def callbacks(extra=()):
        return [keras.callbacks.BackupAndRestore(str(tmp_path)), EpochHistoryLog(str(tmp_path))] + list(extra)

    whole = model().fit(x, y, epochs=4, batch_size=16, verbose=0).history["loss"]
    with pytest.raises(_Stop):
        model().fit(x, y, epochs=4, batch_size=16, verbose=0,
                    callbacks=callbacks([keras.callbacks.LambdaCallback(on_epoch_end=stop_after_two)]))
    log = callbacks()
    resumed = model().fit(x, y, epochs=4, batch_size=16, verbose=0, callbacks=log)
    assert log[1].previous["loss"] == pytest.approx(whole[:2], rel=1e-5)
    merged = merge_history(log[1].previous, resumed)
    assert merged.epoch == [0, 1, 2, 3]
    # Weights and Adam's moments came back: the run continues exactly.
    assert merged.history["loss"] == pytest.approx(whole, rel=1e-4)


def test_history_log_trusts_the_backups_epoch_count(tmp_path):
    (tmp_path / "rnnapps_history.json").write_text(json.dumps({"loss": [3.0, 2.0, 1.0]}))
    log = EpochHistoryLog(str(tmp_path))
    log.set_model(type("M", (), {"_initial_epoch": 2})())
    log.on_train_begin()
    assert log.previous == {"loss": [3.0, 2.0]}  # epoch 3 was logged but not backed up


def test_training_history_reads_both_layouts_and_refuses_junk(tmp_path):
    path = tmp_path / "h.json"
    path.write_text(json.dumps({"loss": [1.0, float("nan")]}).replace("NaN", "null"))
    assert TrainingHistory.load(path).history == {"loss": [1.0, None]}
    path.write_text(json.dumps({"epochs": {"loss": [1.0]}, "steps": {"step": [1], "grad_norm": [0.5]}}))
    loaded = TrainingHistory.load(path)
    assert loaded.epochs == 1 and loaded.steps["grad_norm"] == [0.5]
    path.write_text("[1, 2]")
    with pytest.raises(ModelFileError, match="not a training history"):
        TrainingHistory.load(path)
    with pytest.raises(ModelFileError, match="does not exist"):
        TrainingHistory.load(tmp_path / "missing.json")


# -- precision ----------------------------------------------------------------------------
def test_precision_scope_restores_the_global_policy_even_on_error():
    before = keras.config.dtype_policy().name
    with pytest.raises(RuntimeError):
        with precision_scope("mixed_bfloat16"):
            assert keras.config.dtype_policy().name == "mixed_bfloat16"
            raise RuntimeError()
    assert keras.config.dtype_policy().name == before
    with pytest.raises(ConfigError, match="mixed_precision must be one of"):
        with precision_scope("float8"):
            pass


def test_float32_outputs_fixes_only_the_output_layer():
    with precision_scope("mixed_bfloat16"):
        inputs = keras.Input((3,))
        hidden = keras.layers.Dense(4, name="hidden")(inputs)
        model = keras.Model(inputs, keras.layers.Dense(2, name="out")(hidden))
    float32_outputs(model)
    assert model.get_layer("hidden").compute_dtype == "bfloat16"
    assert model.get_layer("out").compute_dtype == "float32"
    assert model(np.ones((1, 3), "float32")).dtype == "float32"

