"""Reusable layers: the recurrent stack, connections between stacked layers, pooling, attention."""

from rnnapps.layers.attention import SCORES, PaddingMask, SourceAttention
from rnnapps.layers.attention_decoder import STYLES, AttentionDecoder
from rnnapps.layers.highway import HighwayConnection
from rnnapps.layers.ngram_bag import SplitNgramIds, StackHeads
from rnnapps.layers.pooling import AttentionPooling, DropMask, LastValidStep, MaskedPooling
from rnnapps.layers.recurrent_stack import CELLS, CONNECTIONS, MERGE_MODES, RecurrentStack, make_rnn
from rnnapps.layers.tied_embedding import TiedEmbedding

__all__ = [
    "CELLS",
    "CONNECTIONS",
    "MERGE_MODES",
    "SCORES",
    "STYLES",
    "AttentionDecoder",
    "AttentionPooling",
    "DropMask",
    "HighwayConnection",
    "LastValidStep",
    "MaskedPooling",
    "PaddingMask",
    "RecurrentStack",
    "SourceAttention",
    "SplitNgramIds",
    "StackHeads",
    "TiedEmbedding",
    "make_rnn",
]
