"""Text -> token ids: normalisation, word/char tokenisation, vocabularies.

Everything here runs on core TensorFlow string ops only, so the same code serves
the training pipeline and exported SavedModels on stock TF Serving.
"""

from rnnapps.text.detokenize import detokenize, detokenize_graph
from rnnapps.text.tokenize import normalize, split_chars, split_words, tokenize
from rnnapps.text.vectorizer import (
    CONTROL_MARKERS,
    FIRST_TOKEN_ID,
    OOV_ID,
    PADDING_ID,
    SEQUENCE_MARKERS,
    TextVectorizer,
)
from rnnapps.text.vocabulary import (
    OOV_TOKEN,
    PAD_TOKEN,
    build_vocabulary,
    load_vocabulary,
    save_vocabulary,
)

__all__ = [
    "CONTROL_MARKERS",
    "FIRST_TOKEN_ID",
    "OOV_ID",
    "PADDING_ID",
    "SEQUENCE_MARKERS",
    "OOV_TOKEN",
    "PAD_TOKEN",
    "TextVectorizer",
    "build_vocabulary",
    "detokenize",
    "detokenize_graph",
    "load_vocabulary",
    "normalize",
    "save_vocabulary",
    "split_chars",
    "split_words",
    "tokenize",
]
