"""Reusable layers: the recurrent stack, connections between stacked layers, pooling."""

from rnnapps.layers.highway import HighwayConnection
from rnnapps.layers.pooling import AttentionPooling, MaskedPooling
from rnnapps.layers.recurrent_stack import CELLS, CONNECTIONS, MERGE_MODES, RecurrentStack, make_rnn

__all__ = [
    "CELLS",
    "CONNECTIONS",
    "MERGE_MODES",
    "AttentionPooling",
    "HighwayConnection",
    "MaskedPooling",
    "RecurrentStack",
    "make_rnn",
]
