"""Reusable layers: the recurrent stack, connections between stacked layers, pooling."""

from rnnapps.layers.highway import HighwayConnection
from rnnapps.layers.pooling import AttentionPooling, LastValidStep, MaskedPooling
from rnnapps.layers.recurrent_stack import CELLS, CONNECTIONS, MERGE_MODES, RecurrentStack, make_rnn
from rnnapps.layers.tied_embedding import TiedEmbedding

__all__ = [
    "CELLS",
    "CONNECTIONS",
    "MERGE_MODES",
    "AttentionPooling",
    "HighwayConnection",
    "LastValidStep",
    "MaskedPooling",
    "RecurrentStack",
    "TiedEmbedding",
    "make_rnn",
]
