"""Plots saved as PNG files: no display, no pyplot state, safe in servers and tests.

Figures are drawn with matplotlib's object API on the Agg canvas (never `pyplot`), so
importing this module changes no global backend and leaves no figures open.

Sections:
    - common: figure creation, saving, token labels, fonts.
    - attention: `plot_attention`, a heatmap of a translation's attention weights.
"""

import os
import warnings

import numpy as np

from rnnapps.errors import ConfigError

# CJK fonts to fall back on when one is installed (matplotlib's default has no CJK glyphs).
_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei")


# -- common -------------------------------------------------------------------------
def _font_families():
    """DejaVu Sans, followed by the first installed CJK font (matplotlib >= 3.6 falls back per glyph)."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return ["DejaVu Sans"] + [name for name in _CJK_FONTS if name in installed][:1]


def _new_figure(width, height):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path):
    """Writes the figure as PNG, creating the parent directory; returns the path."""
    path = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    with warnings.catch_warnings():
        # Without a CJK font, missing glyphs draw as boxes and warn once per glyph.
        warnings.filterwarnings("ignore", message=r"Glyph .* missing from")
        figure.savefig(path, format="png", bbox_inches="tight")
    return path


def _label(token):
    """A token as an axis label: whitespace and control tokens made visible."""
    if isinstance(token, (bytes, np.bytes_)):
        token = bytes(token).decode("utf-8", errors="replace")
    token = str(token)
    visible = {" ": "␣", "\n": "↵", "\t": "⇥", "": "∅"}
    if token in visible:
        return visible[token]
    return token.replace("$", r"\$")  # matplotlib reads $...$ as maths


# -- attention ----------------------------------------------------------------------
def plot_attention(weights, source_tokens, output_tokens, path, title=None, cmap="viridis"):
    """Saves a heatmap of attention weights: which source token each output token attended to.

    Args:
        weights: array `[T_out, T_src]`, row i = the attention of output token i.
        source_tokens: the T_src source tokens (x axis).
        output_tokens: the T_out output tokens (y axis).
        path: where to write the PNG; its directory is created.
        title: optional title.
        cmap: matplotlib colour map name.

    Returns:
        the path of the written PNG.

    Raises:
        ConfigError: the weights are not 2-D or their shape does not match the token lists.

    Example:
        >>> plot_attention([[0.9, 0.1], [0.2, 0.8]], ["hola", "mundo"], ["hello", "world"],
        ...                "plots/attention.png")  # doctest: +SKIP
        'plots/attention.png'
    """
    try:
        weights = np.asarray(weights, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"attention weights must be a numeric [T_out, T_src] array: {error}") from None
    source_tokens, output_tokens = list(source_tokens), list(output_tokens)
    if weights.ndim != 2:
        raise ConfigError(f"attention weights must be 2-D [T_out, T_src], got shape {weights.shape}")
    expected = (len(output_tokens), len(source_tokens))
    if weights.shape != expected or 0 in expected:
        raise ConfigError(
            f"attention weights have shape {weights.shape} but there are {expected[0]} output and "
            f"{expected[1]} source tokens (expected a non-empty [T_out, T_src] = {expected})"
        )
    from matplotlib import rc_context

    # About 0.4 inch per token, bounded so that tiny and huge plots stay legible.
    width = float(np.clip(0.4 * len(source_tokens) + 2.5, 4.0, 30.0))
    height = float(np.clip(0.4 * len(output_tokens) + 1.5, 3.0, 30.0))
    with rc_context({"font.family": _font_families()}):
        figure = _new_figure(width, height)
        axes = figure.add_subplot()
        image = axes.imshow(weights, cmap=cmap, aspect="auto", vmin=0.0, vmax=max(1e-6, float(np.nanmax(weights))))
        axes.set_xticks(range(len(source_tokens)))
        axes.set_xticklabels([_label(t) for t in source_tokens], rotation=60, ha="right", rotation_mode="anchor")
        axes.set_yticks(range(len(output_tokens)))
        axes.set_yticklabels([_label(t) for t in output_tokens])
        axes.set_xlabel("source")
        axes.set_ylabel("output")
        if title:
            axes.set_title(str(title))
        figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="attention weight")
        return _save(figure, path)
