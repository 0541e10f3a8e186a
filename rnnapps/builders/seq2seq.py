"""Attention encoder-decoder (neural machine translation): three models over one set of layers.

`build_seq2seq(source_vocab_size, target_vocab_size, spec)` returns
`Seq2SeqModels(train, encoder, decoder_step, state_sizes, spec)`; the models share every
weight. Ids are int32, 0 is padding, sequences are right-padded.

- `train` (a compiled `GradNormModel`):
      inputs  `[source_ids [B, S], decoder_inputs [B, T]]` (a dict by those names works too);
              decoder_inputs = START + target, shifted right;
      output  logits `[B, T, V_target]` float32 (targets = target + END, padded with 0).
- `encoder`:
      input   `source_ids [B, S]`;
      outputs `[memory [B, S, D], source_mask [B, S], *initial_states]`:
              memory = the encoder's top-layer outputs (D = encoder_units, x2 when
              bidirectional); source_mask float32, 1.0 = token, 0.0 = padding;
              initial_states = the decoder's first states, each `[B, units]`: layer by
              layer `h` (GRU/SimpleRNN) or `h, c` (LSTM), bridged from the encoder's final
              states (a Dense+tanh per state when bidirectional or widths differ, else
              copied). They do NOT include the input-feeding vector: it starts at zeros.
- `decoder_step`:
      inputs  `[token_ids [B], *states, memory [B, S, D], source_mask [B, S]]`, where
              `states` = the layer states as above, then (input feeding only) the previous
              attentional vector `[B, units]`; `state_sizes` lists their widths;
      outputs `[logits [B, V_target], *new_states, attention_weights [B, S]]`, new_states
              in the same order as the input states (the new attentional vector last with
              input feeding); no attention_weights when `attention="none"`. A token 0
              (padding) leaves the states unchanged, as in `train`. Feed it tensors
              without a Keras mask (numpy, or `decoder_step_fn`, which strips the mask the
              encoder's RNN attaches to an eager `memory`).

Fed the tokens of `decoder_inputs` one by one, `encoder` + `decoder_step` reproduce the
`train` logits exactly. `decoder_step_fn(models)` wraps them for the decoding loops of
`rnnapps.decoding`: `step_fn(tokens [B], states) -> (logits [B, V], states, aux)` with
`states = (*decoder_states, memory, source_mask)` (memory and mask ride along unchanged)
and `aux = {"attention": weights [B, S]}`; `initial_states_fn(source_ids)` builds that
tuple with the encoder.

Attention variants: "luong" (Luong et al., 2015: attend with the new decoder state,
`a_t = tanh(Wc [c_t; h_t])` feeds the softmax), "bahdanau" (Bahdanau et al., 2015:
attend with the previous state, feed the context into the cell), "none" (plain
encoder-decoder). Luong without input feeding (the default) runs the decoder as ordinary
Keras LSTM/GRU layers, cuDNN-eligible on a GPU; input feeding and Bahdanau need a step
loop in the graph (`rnnapps.layers.AttentionDecoder`), which is slower to train.
"""

import collections
import dataclasses

import keras
from keras import ops

from rnnapps.errors import ConfigError
from rnnapps.layers import CELLS, SCORES, AttentionDecoder, LastValidStep, PaddingMask, RecurrentStack, SourceAttention
from rnnapps.training import GradNormModel, OptimizerSettings, compile_model

ATTENTIONS = ("luong", "bahdanau", "none")

Seq2SeqModels = collections.namedtuple("Seq2SeqModels", "train encoder decoder_step state_sizes spec")


@dataclasses.dataclass
class Seq2SeqSpec(OptimizerSettings):
    """Architecture and optimizer settings of an attention encoder-decoder (JSON-serializable).

    Attributes:
        cell: "simple", "irnn", "gru" or "lstm" (encoder and decoder).
        units: decoder width (every layer, and the attentional vector).
        encoder_units: encoder width per direction (default: `units`).
        depth: layers of the encoder and of the decoder (bridged layer by layer).
        source_embedding_dim, target_embedding_dim: embedding widths.
        bidirectional: bidirectional encoder; the directions are concatenated.
        dropout: input dropout of every recurrent layer, and before the output layer.
        attention: "luong", "bahdanau" or "none".
        score: "dot", "general", "concat" or "additive" (= "concat"); default: "general"
            for Luong, "additive" for Bahdanau. "dot" needs the memory as wide as the
            decoder (`encoder_units * 2 == units` when bidirectional).
        input_feeding: Luong input feeding (feed the previous attentional vector to the
            next step); costs the cuDNN path for the decoder.
        attention_units: hidden width of the concat/additive score (default: `units`).
        attention_norm: LayerNormalization of the attentional vector `tanh(Wc [c; h])`
            before the output layer (what the TF NMT tutorial model needed to stop predicting
            the end token everywhere). Only for Luong attention without input feeding (the
            parallel decoder); "auto": on wherever it applies; None or False: off. On
            52k English->German UI strings, with the output bias started at the target
            frequencies, validation loss after 400 steps was 3.31 with it, 4.49 without.
        optimizer, learning_rate, clipnorm, global_clipnorm, clipvalue,
            optimizer_options: keyword-only, see `rnnapps.training.OptimizerSettings`.

    Example:
        >>> Seq2SeqSpec(cell="gru", units=64, bidirectional=True).memory_width
        128
    """

    cell: str = "lstm"
    units: int = 256
    encoder_units: int = None
    depth: int = 1
    source_embedding_dim: int = 128
    target_embedding_dim: int = 128
    bidirectional: bool = False
    dropout: float = 0.0
    attention: str = "luong"
    score: str = None
    input_feeding: bool = False
    attention_units: int = None
    attention_norm: bool = None

    def __post_init__(self):
        for name, allowed in (("cell", CELLS), ("attention", ATTENTIONS)):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        for name in ("units", "depth", "source_embedding_dim", "target_embedding_dim"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("encoder_units", "attention_units"):
            if getattr(self, name) is not None and int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be >= 1 (or None for the default), got {getattr(self, name)}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")
        self.check_optimizer_settings()
        if isinstance(self.attention_norm, str):
            if self.attention_norm != "auto":
                raise ConfigError(f"attention_norm must be True, False, None or 'auto', got {self.attention_norm!r}")
            self.attention_norm = self.attention == "luong" and not self.input_feeding
        self.resolved_attention_norm  # raises for attention_norm=True where it cannot apply
        if self.attention == "none":
            for name in ("score", "attention_units"):
                if getattr(self, name) is not None:
                    raise ConfigError(f"{name}={getattr(self, name)!r} has no effect with attention='none'")
            if self.input_feeding:
                raise ConfigError("input_feeding has no effect with attention='none'")
            return
        if self.score is not None and self.score not in SCORES:
            raise ConfigError(f"score must be one of {SCORES}, got {self.score!r}")
        if self.input_feeding and self.attention != "luong":
            raise ConfigError(
                "input_feeding is a Luong option: Bahdanau attention already feeds its context into the decoder"
            )
        if self.resolved_score == "dot" and self.memory_width != int(self.units):
            directions = " x 2 directions" if self.bidirectional else ""
            encoder = f"encoder_units={self.encoder_units or self.units}{directions}"
            raise ConfigError(
                f"score='dot' compares decoder states (units={self.units}) with encoder outputs of width "
                f"{self.memory_width} ({encoder}): use score 'general' or 'concat', or make them equal "
                "(e.g. encoder_units = units / 2 with a bidirectional encoder)"
            )

    @property
    def resolved_attention_norm(self):
        """Whether the attentional vector is layer-normalized (see `attention_norm`)."""
        parallel_luong = self.attention == "luong" and not self.input_feeding
        if self.attention_norm and not parallel_luong:
            raise ConfigError("attention_norm needs attention='luong' without input_feeding")
        return bool(self.attention_norm)

    @property
    def resolved_score(self):
        """The score actually used (the default depends on the attention)."""
        if self.score is not None:
            return self.score
        return "additive" if self.attention == "bahdanau" else "general"

    @property
    def memory_width(self):
        """Width D of the encoder outputs the decoder attends to."""
        return int(self.encoder_units or self.units) * (2 if self.bidirectional else 1)

    @property
    def step_loop(self):
        """True when the decoder needs the in-graph step loop (input feeding, Bahdanau)."""
        return self.attention == "bahdanau" or bool(self.input_feeding)

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown seq2seq options: {unknown}")
        return cls(**values)


@keras.saving.register_keras_serializable(package="rnnapps")
class MaskedTokenAccuracy(keras.metrics.Mean):
    """Share of real target tokens (not `padding_id`) whose arg-max logit is right.

    Example:
        >>> metric = MaskedTokenAccuracy()
        >>> metric.update_state([[2, 0]], [[[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]])
        >>> float(metric.result())
        1.0
    """

    def __init__(self, name="accuracy", padding_id=0, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.padding_id = int(padding_id)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(ops.convert_to_tensor(y_true), "int32")
        y_pred = ops.convert_to_tensor(y_pred)
        if len(y_true.shape) == len(y_pred.shape):
            y_true = ops.squeeze(y_true, -1)
        predicted = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
        weights = ops.cast(ops.not_equal(y_true, self.padding_id), self.dtype)
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, self.dtype)
            while len(sample_weight.shape) < len(weights.shape):
                sample_weight = ops.expand_dims(sample_weight, -1)
            weights = weights * sample_weight
        matches = ops.cast(ops.equal(y_true, predicted), self.dtype)
        super().update_state(ops.reshape(matches, (-1,)), sample_weight=ops.reshape(weights, (-1,)))

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "padding_id": self.padding_id}


class _Bridge:
    """Maps the encoder's final states to the decoder's initial states, layer by layer."""

    def __init__(self, spec):
        self.per = 2 if spec.cell == "lstm" else 1
        self.bidirectional = spec.bidirectional
        resize = spec.bidirectional or int(spec.encoder_units or spec.units) != int(spec.units)
        kinds = "hc" if self.per == 2 else "h"
        self.joins, self.denses = [], []
        for layer in range(int(spec.depth)):
            for kind in kinds:
                join = dense = None
                if spec.bidirectional:
                    join = keras.layers.Concatenate(name=f"bridge_join_{layer}_{kind}")
                if resize:
                    dense = keras.layers.Dense(spec.units, activation="tanh", name=f"bridge_{layer}_{kind}")
                self.joins.append(join)
                self.denses.append(dense)

    def __call__(self, encoder_states):
        flat = []
        for layer_states in encoder_states:
            for kind in range(self.per):
                if self.bidirectional:  # Keras Bidirectional returns forward states, then backward
                    flat.append([layer_states[kind], layer_states[self.per + kind]])
                else:
                    flat.append(layer_states[kind])
        bridged = []
        for state, join, dense in zip(flat, self.joins, self.denses):
            state = join(state) if join is not None else state
            bridged.append(dense(state) if dense is not None else state)
        return bridged


def build_seq2seq(
    source_vocab_size,
    target_vocab_size,
    spec=None,
    optimizer="adam",
    learning_rate=1e-3,
    clipnorm=1.0,
    global_clipnorm=None,
    clipvalue=None,
    compile=True,
):
    """Builds the train / encoder / decoder_step models of an attention seq2seq model.

    Call it inside `strategy.scope()` to distribute: it creates the models, the optimizer
    of the spec's settings and compiles `train` with `seq2seq_objective()`: the cross-entropy
    of the logits ignoring padding targets (id 0) and a masked token accuracy (`accuracy`).

    Args:
        source_vocab_size, target_vocab_size: numbers of ids, padding 0 included.
        spec: a `Seq2SeqSpec` (defaults when None).
        optimizer, learning_rate, clipnorm, global_clipnorm, clipvalue: the older way to give
            the optimizer settings (now fields of the spec): each one given a value other than
            its default here replaces the spec's.
        compile: False skips the optimizer and `compile` (e.g. to load weights for serving;
            the Translator compiles through `App._compile`).

    Returns:
        `Seq2SeqModels(train, encoder, decoder_step, state_sizes, spec)`; see the module
        docstring for the input and output order of each model.

    Example:
        >>> models = build_seq2seq(20, 30, Seq2SeqSpec(cell="gru", units=8, source_embedding_dim=8,
        ...                                            target_embedding_dim=8))
        >>> models.train.output_shape, models.state_sizes
        ((None, None, 30), [8])
    """
    spec = spec or Seq2SeqSpec()
    for label, size in (("source_vocab_size", source_vocab_size), ("target_vocab_size", target_vocab_size)):
        if int(size) < 2:
            raise ConfigError(f"{label} must be >= 2 (padding and at least one token), got {size}")
    if compile:  # validates the optimizer options before any model is built
        given = dict(optimizer=optimizer, learning_rate=learning_rate, clipnorm=clipnorm,
                     global_clipnorm=global_clipnorm, clipvalue=clipvalue)
        default = OptimizerSettings()
        settings = dataclasses.replace(spec, **{k: v for k, v in given.items() if v != getattr(default, k)})
    units, per = int(spec.units), (2 if spec.cell == "lstm" else 1)
    layer_state_sizes = [units] * (per * int(spec.depth))
    state_sizes = layer_state_sizes + ([units] if spec.input_feeding else [])

    source_embedding = keras.layers.Embedding(
        int(source_vocab_size), spec.source_embedding_dim, mask_zero=True, name="source_embedding"
    )
    target_embedding = keras.layers.Embedding(
        int(target_vocab_size), spec.target_embedding_dim, mask_zero=True, name="target_embedding"
    )
    encoder_stack = RecurrentStack(
        spec.cell,
        int(spec.encoder_units or units),
        depth=spec.depth,
        bidirectional=spec.bidirectional,
        merge_mode="concat",
        dropout=spec.dropout,
        name="encoder",
    )
    padding_mask = PaddingMask(dtype="float32", name="source_padding_mask")
    bridge = _Bridge(spec)
    if spec.step_loop:
        decoder = AttentionDecoder(
            spec.cell,
            units,
            depth=spec.depth,
            style=spec.attention,
            score=spec.resolved_score,
            attention_units=spec.attention_units,
            input_feeding=spec.input_feeding,
            dropout=spec.dropout,
            name="attention_decoder",
        )
    else:
        decoder = RecurrentStack(spec.cell, units, depth=spec.depth, dropout=spec.dropout, name="decoder")
        if spec.attention == "luong":
            attention = SourceAttention(spec.resolved_score, spec.attention_units, name="attention")
            join = keras.layers.Concatenate(name="context_and_state")
            attentional = keras.layers.Dense(units, activation="tanh", use_bias=False, name="attentional")
            if spec.resolved_attention_norm:
                attentional_norm = keras.layers.LayerNormalization(name="attentional_norm")
    output_dropout = keras.layers.Dropout(spec.dropout, name="output_dropout")
    project = keras.layers.Dense(int(target_vocab_size), dtype="float32", name="logits")

    def decode(token_ids, states, memory, source_mask):
        """`[B, T]` ids + flat states -> logits `[B, T, V]`, new flat states, weights or None."""
        x = target_embedding(token_ids)
        weights = None
        if spec.step_loop:
            x, weights, *new_states = decoder(x, memory, source_mask, states)
        else:
            nested = [states[i : i + per] for i in range(0, len(states), per)]
            x, layer_states = decoder(x, initial_states=nested, return_states=True)
            new_states = [state for layer in layer_states for state in layer]
            if spec.attention == "luong":
                context, weights = attention(x, memory, source_mask)
                x = attentional(join([context, x]))
                if spec.resolved_attention_norm:
                    x = attentional_norm(x)
        return project(output_dropout(x)), new_states, weights

    source_ids = keras.Input((None,), dtype="int32", name="source_ids")
    decoder_inputs = keras.Input((None,), dtype="int32", name="decoder_inputs")
    memory, encoder_states = encoder_stack(source_embedding(source_ids), return_states=True)
    source_mask = padding_mask(source_ids)
    initial_states = bridge(encoder_states)
    logits, _, _ = decode(decoder_inputs, initial_states, memory, source_mask)
    train = GradNormModel([source_ids, decoder_inputs], logits, name="seq2seq")
    encoder = keras.Model(source_ids, [memory, source_mask] + initial_states, name="seq2seq_encoder")

    token = keras.Input((), dtype="int32", name="token_ids")
    step_states = [keras.Input((size,), name=f"state_{i}") for i, size in enumerate(layer_state_sizes)]
    if spec.input_feeding:
        step_states.append(keras.Input((units,), name="attentional"))
    step_memory = keras.Input((None, spec.memory_width), name="memory")
    step_mask = keras.Input((None,), name="source_mask")
    tokens = keras.layers.Reshape((1,), name="token_as_sequence")(token)
    step_logits, new_states, step_weights = decode(tokens, step_states, step_memory, step_mask)
    outputs = [LastValidStep(dtype="float32", name="step_logits")(step_logits)] + new_states
    if step_weights is not None:
        outputs.append(LastValidStep(dtype="float32", name="step_attention")(step_weights))
    decoder_step = keras.Model(
        [token] + step_states + [step_memory, step_mask], outputs, name="seq2seq_decoder_step"
    )

    if compile:
        compile_model(train, seq2seq_objective(), settings)
    return Seq2SeqModels(train, encoder, decoder_step, state_sizes, spec)


def seq2seq_objective():
    """`(loss, metrics)` the train model compiles with: cross-entropy of the logits that
    ignores padding targets (id 0), and the token accuracy over real targets (`accuracy`)."""
    return (
        keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
        [MaskedTokenAccuracy(name="accuracy")],
    )


def decoder_step_fn(models):
    """Adapts `Seq2SeqModels` to the `rnnapps.decoding` loops.

    Returns:
        `(step_fn, initial_states_fn)`:
        - `initial_states_fn(source_ids [B, S])` -> `states`, the tuple
          `(*decoder_states, memory [B, S, D], source_mask [B, S])` (the input-feeding
          vector, when used, starts at zeros and is the last decoder state);
        - `step_fn(tokens [B], states)` -> `(logits [B, V], new_states, aux)`, with the
          same tuple layout (memory and mask unchanged) and
          `aux = {"attention": weights [B, S]}` (`{}` without attention).
        Both are traceable in a `tf.function`.

    Example:
        >>> step_fn, initial_states_fn = decoder_step_fn(models)           # doctest: +SKIP
        >>> states = initial_states_fn(source_ids)                         # doctest: +SKIP
        >>> logits, states, aux = step_fn(start_tokens, states)            # doctest: +SKIP
    """
    spec = models.spec
    count = len(models.state_sizes)
    has_attention = spec.attention != "none"

    def initial_states_fn(source_ids):
        memory, source_mask, *states = models.encoder(source_ids, training=False)
        # A copy without the Keras mask the encoder's RNN attached to the memory: the
        # decoder takes the source mask explicitly and would warn about a dropped mask.
        memory = ops.copy(memory)
        if spec.input_feeding:
            states.append(ops.zeros((ops.shape(memory)[0], int(spec.units)), dtype=memory.dtype))
        return (*states, memory, source_mask)

    def step_fn(tokens, states):
        *decoder_states, memory, source_mask = states
        outputs = models.decoder_step(
            [ops.cast(tokens, "int32"), *decoder_states, memory, source_mask], training=False
        )
        logits, new_states = outputs[0], list(outputs[1 : 1 + count])
        aux = {"attention": outputs[1 + count]} if has_attention else {}
        return logits, (*new_states, memory, source_mask), aux

    return step_fn, initial_states_fn
