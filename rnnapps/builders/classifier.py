"""Text classifier on int ids: embedding -> recurrent stack -> pooling -> dense head."""

import dataclasses

import keras
import numpy as np

from rnnapps.errors import ConfigError
from rnnapps.layers import (
    CELLS,
    CONNECTIONS,
    MERGE_MODES,
    AttentionPooling,
    LastValidStep,
    MaskedPooling,
    PaddingMask,
    RecurrentStack,
    SplitNgramIds,
    StackHeads,
)
from rnnapps.training import GradNormModel, HeadEnsembleModel, OptimizerSettings, compile_model

POOLINGS = ("last", "mean", "max", "attention")
TASKS = ("binary", "multiclass", "multilabel")


@dataclasses.dataclass
class ClassifierSpec(OptimizerSettings):
    """Architecture and optimizer settings of a classifier (JSON-serializable).

    Attributes:
        embedding_dim: token embedding width.
        trainable_embeddings: False freezes (e.g. pretrained) embeddings.
        cell, units, depth, bidirectional, merge_mode, dropout, recurrent_dropout,
            connection: the recurrent stack (see `rnnapps.layers.RecurrentStack`). A
            connection needs depth >= 2, and depth >= 3 with "last" pooling.
        pooling: "last" (final hidden state; forward-last + backward-first when
            bidirectional), "mean", "max" or "attention" over the valid steps.
        attention_units: width of the attention-pooling scorer (default: input width).
        hidden_units: an extra ReLU dense layer before the output (0: none).
        head_dropout: dropout before the output layer(s).
        ngram_buckets: 0 (no bag), or the n-gram buckets of the vectorizer's `ngrams`:
            the ids then carry each text's hashed character n-grams after its tokens
            (`TextVectorizer(ngrams=...)`), and a second head, a bag of n-grams (their
            mean embedding and a softmax, fastText-style), predicts beside the recurrent
            one. The model is a `HeadEnsembleModel`: each head trains on its own loss and
            the prediction is their mean.
        ngram_dim: the n-gram embedding width; ngram_dropout: dropout on the bag's mean.
        optimizer, learning_rate, clipnorm, global_clipnorm, clipvalue,
            optimizer_options: keyword-only, see `rnnapps.training.OptimizerSettings`.
    """

    embedding_dim: int = 128
    trainable_embeddings: bool = True
    cell: str = "lstm"
    units: int = 64
    depth: int = 1
    bidirectional: bool = False
    merge_mode: str = "concat"
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    connection: str = None
    pooling: str = "last"
    attention_units: int = None
    hidden_units: int = 0
    head_dropout: float = 0.0
    ngram_buckets: int = 0
    ngram_dim: int = 32
    ngram_dropout: float = 0.3

    def __post_init__(self):
        choices = (("cell", CELLS), ("connection", CONNECTIONS), ("merge_mode", MERGE_MODES), ("pooling", POOLINGS))
        for name, allowed in choices:
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        for name in ("embedding_dim", "units", "depth"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if int(self.hidden_units) < 0:
            raise ConfigError(f"hidden_units must be >= 0, got {self.hidden_units}")
        if not 0 <= int(self.ngram_buckets) <= 1 << 24:
            raise ConfigError(f"ngram_buckets must be in [0, 16777216], got {self.ngram_buckets}")
        if int(self.ngram_dim) < 1:
            raise ConfigError(f"ngram_dim must be >= 1, got {self.ngram_dim}")
        for name in ("dropout", "recurrent_dropout", "head_dropout", "ngram_dropout"):
            if not 0.0 <= float(getattr(self, name)) < 1.0:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        # A connection wraps layers 2.. of the stack. With one layer there is nothing to
        # connect, and "last" pooling reads the top layer's final states, which bypass the
        # connection around that top layer: at depth 2 the option used to be silently dropped
        # from the model. Refuse such no-op combinations instead of ignoring the option.
        if self.connection is not None and (
            int(self.depth) < 2 or (int(self.depth) == 2 and self.pooling == "last")
        ):
            raise ConfigError(
                f"connection={self.connection!r} has no effect with depth={self.depth} and "
                f"pooling={self.pooling!r}: use depth >= 2 with pooling 'mean', 'max' or "
                "'attention' (or depth >= 3 with 'last')"
            )
        self.clipnorm, self.global_clipnorm, self.clipvalue = self.check_optimizer_settings()

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown classifier options: {unknown}")
        return cls(**values)


def _output_layer(task, num_classes, prefix=""):
    if task == "binary":
        return keras.layers.Dense(1, activation="sigmoid", dtype="float32", name=f"{prefix}probability")
    activation = "softmax" if task == "multiclass" else "sigmoid"
    return keras.layers.Dense(num_classes, activation=activation, dtype="float32", name=f"{prefix}probabilities")


def _ngram_bag_head(ngram_ids, task, num_classes, spec):
    """The bag-of-n-grams head: mean n-gram embedding -> dropout -> output layer."""
    embedded = keras.layers.Embedding(
        int(spec.ngram_buckets) + 1, int(spec.ngram_dim), mask_zero=True, name="ngram_embedding"
    )(ngram_ids)
    bag = MaskedPooling("mean", name="ngram_mean")(embedded)
    if spec.ngram_dropout:
        bag = keras.layers.Dropout(float(spec.ngram_dropout), name="ngram_dropout")(bag)
    return _output_layer(task, num_classes, prefix="ngram_")(bag)


def classifier_objective(task):
    """`(loss, metrics)` a classifier of `task` trains with: binary cross-entropy and accuracy
    for "binary" and "multilabel" (one sigmoid per label), sparse ones for "multiclass".

    Example:
        >>> loss, metrics = classifier_objective("multiclass"); metrics[0].name
        'accuracy'
    """
    if task not in TASKS:
        raise ConfigError(f"task must be one of {TASKS}, got {task!r}")
    if task == "multiclass":
        return keras.losses.SparseCategoricalCrossentropy(), [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    return keras.losses.BinaryCrossentropy(), [keras.metrics.BinaryAccuracy(name="accuracy")]


def build_classifier(vocabulary_size, num_classes, task="multiclass", spec=None, embedding_weights=None, compile=True):
    """Builds (and compiles) a recurrent text classifier on right-padded int ids (0 = padding).

    Ids must be right-padded (as every rnnapps pipeline pads). A row of padding only
    is a defined input: masked poolings give their empty-row value, "last" pooling the
    state after one padding step (forward stacks) or the initial state (bidirectional).

    Call it inside `strategy.scope()` to distribute: it creates the model, the optimizer
    and compiles, as a distribution strategy requires. The apps pass `compile=False` and
    compile with `classifier_objective(task)` themselves (`App._compile`).

    Args:
        vocabulary_size: number of ids, padding and unknown included.
        num_classes: number of labels (2 for binary).
        task: "binary" (one sigmoid), "multiclass" (softmax) or "multilabel" (sigmoids).
        spec: a `ClassifierSpec` (defaults if None).
        embedding_weights: optional `[vocabulary_size, embedding_dim]` array to start the
            embedding from (e.g. GloVe vectors aligned to the vocabulary).
        compile: compile with the spec's optimizer and `classifier_objective(task)`
            (`rnnapps.training.compile_model`); False leaves the model uncompiled.

    With `spec.ngram_buckets`, ids from `vocabulary_size` on are n-gram ids (see
    `ClassifierSpec`) and the model is a two-head `HeadEnsembleModel` ("recurrent" and
    "ngram" heads).

    Returns:
        A (compiled) `GradNormModel` (or `HeadEnsembleModel`): ids `[B, T]` -> probabilities
        `[B, 1]` (binary) or `[B, C]`.

    Example:
        >>> model = build_classifier(100, 3, spec=ClassifierSpec(cell="gru", units=8))
        >>> model.output_shape
        (None, 3)
    """
    spec = spec or ClassifierSpec()
    if task not in TASKS:
        raise ConfigError(f"task must be one of {TASKS}, got {task!r}")
    if task == "binary" and num_classes != 2:
        raise ConfigError(f"a binary classifier needs 2 classes, got {num_classes}")
    if num_classes < 2 and task != "multilabel":
        raise ConfigError(f"a classifier needs at least 2 classes, got {num_classes}")
    ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    token_ids, ngram_ids = ids, None
    if spec.ngram_buckets:
        token_ids, ngram_ids = SplitNgramIds(vocabulary_size, name="split_ngram_ids")(ids)
    # A forward-only stack read at its last step needs no mask: with right padding the
    # top layer's output after a row's last token is its final state, and the padding
    # steps after it change nothing the model outputs (nor any gradient). Leaving the
    # mask out of the recurrent loop spares its per-step selects (~6% of a CPU train
    # step). Not with connections: "last" reads the top layer's own state, which the
    # stack's returned (connected) sequence is not.
    unmasked = spec.pooling == "last" and not spec.bidirectional and spec.connection is None
    embedding = keras.layers.Embedding(
        vocabulary_size,
        spec.embedding_dim,
        mask_zero=not unmasked,
        trainable=spec.trainable_embeddings,
        name="embedding",
    )
    x = embedding(token_ids)
    stack = RecurrentStack(
        cell=spec.cell,
        units=spec.units,
        depth=spec.depth,
        bidirectional=spec.bidirectional,
        merge_mode=spec.merge_mode,
        dropout=spec.dropout,
        recurrent_dropout=spec.recurrent_dropout,
        connection=spec.connection,
    )
    sequence, states = stack(x, return_states=True)
    if unmasked:
        pooled = LastValidStep(name="final_hidden")(sequence, mask=PaddingMask(name="padding_mask")(token_ids))
    elif spec.pooling == "last":
        pooled = stack.final_hidden(states)
    elif spec.pooling == "attention":
        pooled = AttentionPooling(spec.attention_units, name="attention_pooling")(sequence)
    else:
        pooled = MaskedPooling(spec.pooling, name=f"{spec.pooling}_pooling")(sequence)
    if spec.hidden_units:
        if spec.head_dropout:
            pooled = keras.layers.Dropout(spec.head_dropout, name="hidden_dropout")(pooled)
        pooled = keras.layers.Dense(spec.hidden_units, activation="relu", name="hidden")(pooled)
    if spec.head_dropout:
        pooled = keras.layers.Dropout(spec.head_dropout, name="head_dropout")(pooled)
    if ngram_ids is None:
        model = GradNormModel(ids, _output_layer(task, num_classes)(pooled), name=f"{spec.cell}_classifier")
    else:
        heads = [_output_layer(task, num_classes)(pooled), _ngram_bag_head(ngram_ids, task, num_classes, spec)]
        stacked = StackHeads(["recurrent", "ngram"], dtype="float32", name="heads")(heads)
        model = HeadEnsembleModel(ids, stacked, name=f"{spec.cell}_ngram_classifier")
    if embedding_weights is not None:
        weights = np.asarray(embedding_weights, dtype="float32")
        expected = (vocabulary_size, spec.embedding_dim)
        if weights.shape != expected:
            raise ConfigError(f"embedding_weights must have shape {expected}, got {weights.shape}")
        embedding.set_weights([weights])
    if compile:
        compile_model(model, classifier_objective(task), spec)
    return model
