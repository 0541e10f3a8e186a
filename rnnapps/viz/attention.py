"""`plot_attention`: a heatmap of a translation's attention weights."""

import os
import tempfile
import uuid

import numpy as np

from rnnapps.errors import ConfigError, DataError
from rnnapps.viz.common import _font_families, _label, _new_figure, _save


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


def plot_translation(detail, path=None, title=None):
    """Draws a `Translation`'s attention (`Translator.plot_attention`): source tokens label the
    columns, output tokens the rows; an empty source or translation gets a one-cell placeholder.
    Returns the PNG path (default: a new file in the temporary directory)."""
    if path is None:
        path = os.path.join(tempfile.gettempdir(), f"rnnapps-attention-{uuid.uuid4().hex[:8]}.png")
    weights = detail.attention
    if weights.size == 0:
        weights = np.zeros((max(1, weights.shape[0]), max(1, weights.shape[1])), "float32")
    return plot_attention(
        weights,
        detail.source_tokens or ["(empty)"],
        detail.output_tokens or ["(empty)"],
        os.fspath(path),
        title=title if title is not None else f"{detail.source}  ->  {detail.translation}",
    )


def plot_translator_attention(translator, source, path=None, beam_width=1, title=None):
    """`Translator.plot_attention`: translates the one string `source` with the trained
    `translator` and draws its attention (`plot_translation`); `ConfigError` for a
    translator without attention. Returns the PNG path."""
    if translator.spec.attention == "none":
        raise ConfigError("this translator has no attention (attention='none'): there is nothing to plot")
    if not isinstance(source, (str, bytes)):
        raise DataError(f"source must be one string, got {type(source).__name__}")
    detail = translator.translate(source, beam_width=beam_width, return_details=True)
    return plot_translation(detail, path, title)
