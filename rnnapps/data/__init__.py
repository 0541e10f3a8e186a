"""Data: sources of raw labelled texts, and the tf.data pipeline that vectorizes them."""

from rnnapps.data.pipeline import (
    batch_by_length,
    encode_labels,
    make_training_batches,
    padding_fraction,
    scan,
    split_validation,
    vectorize_examples,
)
from rnnapps.data.sources import (
    LabelledTexts,
    from_csv,
    from_dataset,
    from_folder,
    from_lists,
    from_tfds,
    labelled_texts,
)

__all__ = [
    "LabelledTexts",
    "batch_by_length",
    "encode_labels",
    "make_training_batches",
    "padding_fraction",
    "scan",
    "from_csv",
    "from_dataset",
    "from_folder",
    "from_lists",
    "from_tfds",
    "labelled_texts",
    "split_validation",
    "vectorize_examples",
]
