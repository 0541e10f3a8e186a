"""`neuron_activations`: what chosen hidden units of a char LM do, character by character.

Each unit gets a copy of the text in which every character is coloured by the unit's
activation after reading it (red positive, blue negative, white near 0), as an HTML
page (the whole text, hover for values) and a PNG (the first `png_chars` characters).
This is how Karpathy-style "quote" and "line length" cells are found: look at a few
units, or ask `rank_units` which ones track a signal.
"""

import dataclasses
import html
import os

import numpy as np

from rnnapps.diagnostics import hidden_activations, rank_units
from rnnapps.errors import ConfigError
from rnnapps.viz.common import _font_families, _new_figure, _save

__all__ = ["NeuronView", "neuron_activations", "rank_units"]


@dataclasses.dataclass
class NeuronView:
    """What `neuron_activations` produced.

    Attributes:
        html_path, png_path: the written files.
        tokens: the characters of the text.
        units: the unit indices shown.
        values: `[T, len(units)]` their activations.
        scale: the magnitude drawn in full colour (the largest shown; at most 1 for hidden states).
    """

    html_path: str
    png_path: str
    tokens: list
    units: list
    values: np.ndarray
    scale: float


def _rgb(value, scale):
    """Activation -> (r, g, b) in 0..1: white at 0, red at +scale, blue at -scale."""
    strength = float(np.clip(abs(value) / scale, 0.0, 1.0))
    if value >= 0:
        return (1.0, 1.0 - 0.75 * strength, 1.0 - 0.75 * strength)
    return (1.0 - 0.75 * strength, 1.0 - 0.55 * strength, 1.0)


def _hex(rgb):
    return "#" + "".join(f"{int(round(255 * c)):02x}" for c in rgb)


def _html(tokens, units, values, scale, title):
    blocks = []
    for column, unit in enumerate(units):
        spans = []
        for token, value in zip(tokens, values[:, column]):
            shown = html.escape(token).replace(" ", "&nbsp;")
            if token == "\n":
                shown = "↵<br>"
            spans.append(f'<span style="background:{_hex(_rgb(value, scale))}" title="{value:+.3f}">{shown}</span>')
        blocks.append(f'<h2>unit {unit}</h2>\n<div class="text">{"".join(spans)}</div>')
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>"
        + html.escape(title)
        + "</title><style>body{font-family:sans-serif;margin:2em}"
        ".text{font-family:monospace;font-size:15px;line-height:1.6;white-space:normal;word-break:break-all}"
        "h2{font-size:16px;margin-top:1.5em}</style></head><body>\n<h1>"
        + html.escape(title)
        + "</h1>\n<p>Background: the unit's activation after reading each character "
        f"(red &gt; 0, blue &lt; 0, full colour at |a| = {scale:.3g}); hover a character for its value.</p>\n"
        + "\n".join(blocks)
        + "\n</body></html>\n"
    )


def _lines(tokens, width):
    """Positions `(row, column)` of each character: line breaks and wrapping at `width`."""
    positions, row, column = [], 0, 0
    for token in tokens:
        if column >= width:
            row, column = row + 1, 0
        positions.append((row, column))
        if token == "\n":
            row, column = row + 1, 0
        else:
            column += 1
    return positions, max(r for r, _ in positions) + 1


def _png(tokens, units, values, scale, path, title, width):
    from matplotlib import rc_context
    from matplotlib.patches import Rectangle

    positions, rows = _lines(tokens, width)
    columns = max(1, min(width, max(c for _, c in positions) + 1))
    panel_height = 0.22 * rows + 0.45
    with rc_context({"font.family": _font_families()}):
        figure = _new_figure(max(4.0, 0.13 * columns + 0.6), panel_height * len(units) + 0.5)
        figure.set_layout_engine("constrained")  # tall figures: no gap under the title
        for number, unit in enumerate(units):
            axes = figure.add_subplot(len(units), 1, number + 1)
            for (row, column), token, value in zip(positions, tokens, values[:, number]):
                axes.add_patch(Rectangle((column, row), 1, 1, color=_rgb(value, scale), linewidth=0))
                shown = "↵" if token == "\n" else token
                if shown.strip():
                    axes.text(column + 0.5, row + 0.5, shown, ha="center", va="center", fontsize=7, family="monospace")
            axes.set_xlim(0, columns)
            axes.set_ylim(rows, 0)
            axes.set_xticks([])
            axes.set_yticks([])
            axes.set_title(f"unit {unit}", fontsize=9, loc="left")
        if title:
            figure.suptitle(title, fontsize=10)
        return _save(figure, path)


def neuron_activations(generator, text, units=None, path="neurons", layer=0, state="hidden",
                       png_chars=1200, width=80):
    """Renders per-character activations of chosen units of a char LM as HTML and PNG.

    Args:
        generator: a character-level `TextGenerator`.
        text: the text to read (non-empty).
        units: unit indices to show (default: the 6 with the most varying activation).
        path: output path without extension: writes `<path>.html` and `<path>.png`
            (a path ending in .html or .png names both).
        layer: recurrent layer index or name (default 0, the first).
        state: "hidden" or "cell" (LSTM cell state, unbounded: coloured relative to its
            largest magnitude).
        png_chars: characters drawn in the PNG (the HTML has the whole text).
        width: characters per PNG line before wrapping.

    Returns:
        a `NeuronView` (paths, tokens, units, values).

    Raises:
        ConfigError: not a char LM, units out of range, a cell state of a non-LSTM layer.
        DataError: an empty or over-long text.

    Example:
        >>> view = neuron_activations(gen, 'She said "no" (twice).\\n', units=[3, 17], path="out/neurons")  # doctest: +SKIP
        >>> view.html_path, view.png_path                                                                 # doctest: +SKIP
        ('out/neurons.html', 'out/neurons.png')
    """
    acts = hidden_activations(generator, text, layer=layer, state=state)
    total = acts.values.shape[1]
    if units is None:
        units = [int(u) for u in np.argsort(-acts.values.std(axis=0), kind="stable")[: min(6, total)]]
    else:
        units = [units] if isinstance(units, (int, np.integer)) else list(units)
        if not units:
            raise ConfigError("units must name at least one unit")
        for unit in units:
            if isinstance(unit, bool) or not isinstance(unit, (int, np.integer)) or not 0 <= unit < total:
                raise ConfigError(f"unit {unit!r} is out of range: layer {acts.layer!r} has units 0..{total - 1}")
        units = [int(u) for u in units]
    if int(png_chars) < 1 or int(width) < 1:
        raise ConfigError("png_chars and width must be >= 1")
    values = acts.values[:, units]
    # Full colour at the largest magnitude shown (at most 1 for tanh-bounded hidden
    # states, so a saturated unit reads as saturated); the cell state is unbounded.
    largest = max(1e-6, float(np.abs(values).max()))
    scale = min(1.0, largest) if state == "hidden" else largest
    base = os.fspath(path)
    if base.endswith((".html", ".png")):
        base = os.path.splitext(base)[0]
    os.makedirs(os.path.dirname(os.path.abspath(base)), exist_ok=True)
    title = f"{state} units of layer {acts.layer}"
    html_path = base + ".html"
    with open(html_path, "w", encoding="utf-8") as handle:
        handle.write(_html(acts.tokens, units, values, scale, title))
    shown = int(png_chars)
    png_path = _png(acts.tokens[:shown], units, values[:shown], scale, base + ".png", title, int(width))
    return NeuronView(html_path, png_path, acts.tokens, units, values, scale)
