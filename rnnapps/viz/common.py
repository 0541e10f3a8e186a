"""Shared plumbing of the plots: figures on the Agg canvas (never pyplot), saving, labels, fonts."""

import os
import warnings

import numpy as np

# CJK fonts to fall back on when one is installed (matplotlib's default has no CJK glyphs).
_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei")


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


