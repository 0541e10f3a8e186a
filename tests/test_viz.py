"""Plots: attention heatmaps written as PNG files without a display."""

import os

import numpy as np
import pytest

from rnnapps.errors import ConfigError
from rnnapps.viz import plot_attention


def read_png(path):
    from matplotlib import image

    return image.imread(path)


def test_plot_attention_writes_a_heatmap(tmp_path):
    source = ["tengo", "mucha", "hambre", "."]
    output = ["i", "am", "very", "hungry", ".", "<end>"]
    weights = np.random.default_rng(0).dirichlet(np.ones(len(source)), size=len(output))
    path = tmp_path / "plots" / "nested" / "attention.png"  # missing parents are created
    written = plot_attention(weights, source, output, path, title="es -> en")
    assert written == str(path) and os.path.isfile(written)
    assert os.path.getsize(written) > 5_000
    pixels = read_png(written)
    height, width = pixels.shape[:2]
    assert pixels.ndim == 3 and 150 < height < 1500 and 200 < width < 2000
    assert pixels[..., :3].std() > 0.05  # not a blank image
    wider = plot_attention(np.ones((2, 30)) / 30, [f"w{i}" for i in range(30)], ["a", "b"], tmp_path / "wide.png")
    assert read_png(wider).shape[1] > width  # the figure grows with the number of tokens


def test_plot_attention_odd_tokens_do_not_crash(tmp_path):
    # CJK glyphs may be missing from the font, char tokens may be spaces, "$" is not maths.
    source = ["春", "眠", " ", "\n", "$5", b"caf\xc3\xa9"]
    path = plot_attention(np.full((2, 6), 1 / 6), source, ["spring", "sleep"], str(tmp_path / "cjk.png"))
    assert os.path.getsize(path) > 3_000
    assert read_png(path).ndim == 3


@pytest.mark.parametrize(
    "weights, source, output, message",
    [
        (np.zeros((3, 2)), ["a", "b", "c"], ["x", "y"], r"shape \(3, 2\) but there are 2 output and 3 source"),
        (np.zeros((2,)), ["a", "b"], ["x"], "2-D"),
        (np.zeros((0, 0)), [], [], "non-empty"),
        ([["a", "b"]], ["a", "b"], ["x"], "numeric"),
    ],
)
def test_plot_attention_rejects_mismatched_shapes(tmp_path, weights, source, output, message):
    with pytest.raises(ConfigError, match=message):
        plot_attention(weights, source, output, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()
