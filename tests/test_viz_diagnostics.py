"""Neuron views (HTML + PNG), gradient-flow comparison plots and history plots."""

import os
import re

import numpy as np
import pytest

import rnnapps
from rnnapps.errors import ConfigError, DataError, ModelFileError
from rnnapps.training.history import TrainingHistory
from rnnapps.viz import neuron_activations, plot_gradient_flow, plot_history

TEXT = 'He said "no (never)".\nShe said "yes".\n'


def read_png(path):
    from matplotlib import image

    return image.imread(path)


@pytest.fixture(scope="module")
def char_lm():
    return rnnapps.TextGenerator.from_vocabulary(sorted(set(TEXT)), cell="lstm", units=8, depth=2, embedding_dim=4)


def test_neuron_view_writes_a_coloured_page_and_image(char_lm, tmp_path):
    view = neuron_activations(char_lm, TEXT, units=[1, 6], path=tmp_path / "views" / "neurons", layer=1)
    assert view.html_path.endswith("neurons.html") and view.png_path.endswith("neurons.png")
    page = open(view.html_path, encoding="utf-8").read()
    spans = re.findall(r'<span style="background:(#[0-9a-f]{6})" title="([+-][0-9.]+)">', page)
    assert len(spans) == 2 * len(TEXT)  # every character of the text, for each unit
    assert len({colour for colour, _ in spans}) > 10  # coloured by value, not one flat colour
    titles = np.array([float(value) for _, value in spans]).reshape(2, -1)
    np.testing.assert_allclose(titles, view.values.T, atol=1e-3)
    assert "&quot;" in page and "unit 6" in page  # escaped text, unit headings
    pixels = read_png(view.png_path)
    assert os.path.getsize(view.png_path) > 5_000 and pixels[..., :3].std() > 0.05


def test_default_units_cell_state_and_file_suffix(char_lm, tmp_path):
    view = neuron_activations(char_lm, TEXT, path=str(tmp_path / "cells.png"), state="cell", png_chars=10)
    assert len(view.units) == 6 and view.html_path == str(tmp_path / "cells.html")
    spread = view.values.std(axis=0)
    assert np.all(spread[:-1] >= spread[1:])  # the most varying units, in order


def test_neuron_view_errors(char_lm, tmp_path):
    word_lm = rnnapps.TextGenerator.from_vocabulary(["he", "said"], level="word", cell="gru", units=4, depth=1, embedding_dim=4)
    gru_lm = rnnapps.TextGenerator.from_vocabulary(list("ab"), cell="gru", units=4, depth=1, embedding_dim=4)
    cases = [
        (word_lm, TEXT, {}, ConfigError, "character-level"),
        (object(), TEXT, {}, ConfigError, "character-level language model"),
        (rnnapps.TextGenerator(), TEXT, {}, ConfigError, "no model yet"),
        (char_lm, TEXT, {"units": [8]}, ConfigError, r"out of range: layer 'lm_lstm_0' has units 0..7"),
        (char_lm, TEXT, {"units": []}, ConfigError, "at least one unit"),
        (char_lm, "", {}, DataError, "non-empty"),
        (char_lm, TEXT, {"state": "gate"}, ConfigError, "hidden' or 'cell"),
        (gru_lm, "ab", {"state": "cell"}, ConfigError, "only LSTM"),
    ]
    for generator, text, options, error, message in cases:
        with pytest.raises(error, match=message):
            neuron_activations(generator, text, path=tmp_path / "x", **options)
    assert not (tmp_path / "x.html").exists()


def test_gradient_flow_comparison_plot(tmp_path):
    from rnnapps.builders.language_model import LanguageModelSpec, build_language_model
    from rnnapps.diagnostics import gradient_flow

    ids = np.random.default_rng(0).integers(2, 20, (4, 20))
    flows = {
        cell: gradient_flow(build_language_model(20, LanguageModelSpec(cell=cell, units=8, embedding_dim=4, depth=1), compile=False).train, ids)
        for cell in ("simple", "gru", "lstm")
    }
    path = plot_gradient_flow(flows, tmp_path / "flow.png", title="three cells")
    assert os.path.getsize(path) > 10_000 and read_png(path)[..., :3].std() > 0.05
    with pytest.raises(ConfigError, match="at least one"):
        plot_gradient_flow([], tmp_path / "none.png")


def test_history_plots_from_dicts_apps_and_saves(tmp_path):
    history = {
        "loss": [1.2, 0.9, 0.7], "val_loss": [1.3, 1.0, 0.9], "accuracy": [0.4, 0.6, 0.7],
        "grad_norm": [2.0, 1.5, 1.2], "grad_norm/rnn": [1.0, 0.5, 0.2], "grad_norm/embedding": [0.1, 0.1, 0.05],
    }
    small = plot_history(history, tmp_path / "h.png")
    steps = {"step": list(range(1, 31)), "grad_norm": list(np.linspace(2, 1, 30))}
    gen = rnnapps.TextGenerator.from_vocabulary(list("ab"), cell="gru", units=4, depth=1, embedding_dim=4)
    gen.history, gen.step_history = TrainingHistory(history, steps), steps
    saved = gen.save(tmp_path / "lm")
    assert rnnapps.load(saved).history.steps["grad_norm"][0] == 2.0
    big = plot_history(saved, tmp_path / "h2.png", title="saved")  # the per-step panel is added
    assert read_png(big).size > read_png(small).size and os.path.getsize(small) > 10_000
    with pytest.raises(ModelFileError, match="does not exist"):
        plot_history(tmp_path / "missing.json", tmp_path / "x.png")
    with pytest.raises(DataError, match="empty"):
        plot_history({}, tmp_path / "x.png")
    with pytest.raises(DataError, match="no training history"):
        plot_history(rnnapps.TextGenerator(), tmp_path / "x.png")
