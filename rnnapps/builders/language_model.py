"""Recurrent language models: four functional models over one set of layers.

`build_language_model` creates the embedding, the recurrent stack and the output layer
once and wires them into models that share every weight:

- `train`:   ids `[B, T]` -> next-token logits `[B, T, V]` (compiled; what `fit` trains;
  right-padded rows, run without the mask: padding only follows the steps that count).
- `forward`: ids `[B, T]` + initial states -> logits `[B, T, V]` + final states (carries
  state across windows: truncated BPTT and exact evaluation of long texts).
- `prefill`: right-padded prompt ids `[B, T]` -> logits after each prompt's last token
  `[B, V]` + the states there (ragged prompts in one batch: padding id 0 is masked, and
  a masked step leaves the state unchanged).
- `step`:    one token `[B, 1]` + states -> logits `[B, V]` + new states (O(1) work per
  new token).

`LanguageModels.token_step()` gives the in-graph generation loop its body: the step
model's maths on `[B]` tokens, with the first cell's input projection looked up from a
per-call table when the vocabulary is small (`fold_first_projection`).

States are passed flat, layer by layer: `(h,)` per GRU/SimpleRNN layer, `(h, c)` per
LSTM layer; `LanguageModels.state_sizes` lists their widths.
"""

import collections
import dataclasses

import keras
import tensorflow as tf

from rnnapps.errors import ConfigError
from rnnapps.layers import CELLS, CONNECTIONS, DropMask, LastValidStep, RecurrentStack, TiedEmbedding
from rnnapps.layers.projected_cells import input_projection, step_from_projection, supports_projection
from rnnapps.training import GradNormModel, OptimizerSettings, compile_model

LanguageModels = collections.namedtuple("LanguageModels", "train forward prefill step state_sizes token_step")

# Fold the first cell's input projection into a per-call `[V, gates]` table when making
# it costs at most this many multiply-adds: ~1 ms on one CPU core, less than 500 folded
# steps save at batch 1 (~15 us each). Char-level vocabularies qualify, word-level ones
# of many thousand tokens do not.
FOLD_BUDGET = 2**25


@dataclasses.dataclass
class LanguageModelSpec(OptimizerSettings):
    """Architecture and optimizer settings of a language model (JSON-serializable).

    Attributes:
        embedding_dim: token embedding width.
        cell, units, depth, dropout, recurrent_dropout, connection: the recurrent stack
            (see `rnnapps.layers.RecurrentStack`; unidirectional, as a language model
            must be). A connection ("residual"/"highway") needs depth >= 2.
        tie_embeddings: share the embedding matrix with the output layer; needs
            `units == embedding_dim`.
        output_dropout: dropout on the top layer's outputs before the softmax layer.
        optimizer, learning_rate, clipnorm, global_clipnorm, clipvalue,
            optimizer_options: keyword-only, see `rnnapps.training.OptimizerSettings`
            (a language model's learning rate defaults to 2e-3).

    Example:
        >>> LanguageModelSpec(cell="gru", units=64, embedding_dim=64, tie_embeddings=True).depth
        2
    """

    embedding_dim: int = 128
    cell: str = "lstm"
    units: int = 256
    depth: int = 2
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    connection: str = None
    tie_embeddings: bool = False
    output_dropout: float = 0.0
    learning_rate: float = dataclasses.field(default=2e-3, kw_only=True)

    def __post_init__(self):
        for name, allowed in (("cell", CELLS), ("connection", CONNECTIONS)):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        for name in ("embedding_dim", "units", "depth"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("dropout", "recurrent_dropout", "output_dropout"):
            if not 0.0 <= float(getattr(self, name)) < 1.0:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.connection is not None and int(self.depth) < 2:
            raise ConfigError(f"connection={self.connection!r} needs depth >= 2 (got depth={self.depth})")
        if self.tie_embeddings and int(self.units) != int(self.embedding_dim):
            raise ConfigError(
                f"tie_embeddings needs units == embedding_dim (got units={self.units}, "
                f"embedding_dim={self.embedding_dim}): the output layer reuses the embedding matrix"
            )
        self.check_optimizer_settings()


def language_model_loss():
    """Mean next-token cross-entropy over real targets (padding id 0 is ignored)."""
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)


def language_model_objective():
    """`(loss, metrics)` the train model compiles with: `language_model_loss()` and no metric
    (perplexity and bits per character are computed from the loss by callbacks)."""
    return language_model_loss(), None


def fold_first_projection(vocab_size, embedding_dim, cell):
    """Whether `token_step` precomputes the first cell's input projection of every token.

    Example:
        >>> cell = keras.layers.LSTMCell(256); cell.build((None, 64))
        >>> fold_first_projection(65, 64, cell), fold_first_projection(20000, 64, cell)
        (True, False)
    """
    gates = int(cell.kernel.shape[-1]) if supports_projection(cell) else 0
    return 0 < int(vocab_size) * int(embedding_dim) * gates <= FOLD_BUDGET


def build_language_model(vocab_size, spec=None, compile=True):
    """Builds the train / forward / prefill / step models of a recurrent LM.

    Args:
        vocab_size: number of ids (padding 0 and unknown 1 included).
        spec: a `LanguageModelSpec` (default settings when None).
        compile: compile `train` with the spec's optimizer and `language_model_objective()`
            (`rnnapps.training.compile_model`). Call this inside `strategy.scope()` to
            distribute: it creates the optimizer too. The apps pass False and compile
            through `App._compile`.

    Returns:
        `LanguageModels(train, forward, prefill, step, state_sizes, token_step)`.

    Example:
        >>> models = build_language_model(50, LanguageModelSpec(cell="gru", units=8, embedding_dim=8, depth=1))
        >>> models.step.output_shape[0], models.state_sizes
        ((None, 50), [8])
    """
    spec = spec or LanguageModelSpec()
    if int(vocab_size) < 3:
        raise ConfigError(f"vocab_size must be >= 3 (padding, unknown and one token), got {vocab_size}")
    vocab_size = int(vocab_size)
    if spec.tie_embeddings:
        embedding = TiedEmbedding(vocab_size, spec.embedding_dim, mask_zero=True, name="embedding")
        project = lambda x: embedding(x, reverse=True)  # noqa: E731
    else:
        embedding = keras.layers.Embedding(vocab_size, spec.embedding_dim, mask_zero=True, name="embedding")
        project = keras.layers.Dense(vocab_size, name="logits")
    stack = RecurrentStack(
        spec.cell,
        spec.units,
        depth=spec.depth,
        dropout=spec.dropout,
        recurrent_dropout=spec.recurrent_dropout,
        connection=spec.connection,
        name="lm",
    )
    output_dropout = keras.layers.Dropout(spec.output_dropout, name="output_dropout")
    per_layer = stack.states_per_direction
    state_sizes = [int(spec.units)] * (per_layer * int(spec.depth))

    def state_inputs(prefix):
        return [keras.Input((size,), name=f"{prefix}_{i}") for i, size in enumerate(state_sizes)]

    def nest(flat):
        return [flat[i : i + per_layer] for i in range(0, len(flat), per_layer)]

    def run(ids, initial_states=None, masked=True):
        embedded = embedding(ids) if masked else DropMask(name="unmasked")(embedding(ids))
        sequence, states = stack(embedded, initial_states=initial_states, return_states=True)
        return output_dropout(sequence), [state for layer in states for state in layer]

    # The train model runs its recurrent loop without the padding mask: its sequences are
    # right-padded and the loss ignores padding targets, so the outputs that count are the
    # same, and the loop skips a select per step (see `DropMask`).
    ids = keras.Input((None,), dtype="int32", name="token_ids")
    sequence, _ = run(ids, masked=False)
    train = GradNormModel(ids, project(sequence), name="language_model")

    forward_ids = keras.Input((None,), dtype="int32", name="token_ids")
    forward_states = state_inputs("state")
    sequence, final_states = run(forward_ids, nest(forward_states))
    forward = keras.Model([forward_ids] + forward_states, [project(sequence)] + final_states, name="lm_forward")

    prompt = keras.Input((None,), dtype="int32", name="prompt_ids")
    sequence, prompt_states = run(prompt)
    last_logits = project(LastValidStep(name="last_step")(sequence))
    prefill = keras.Model(prompt, [last_logits] + prompt_states, name="lm_prefill")

    def cells_step(x, flat_states, first_layer=None):
        """One token `[B, E]` through the stack's cells and the output layer.

        `first_layer(states)` replaces the first cell's call when given (the token
        step's looked-up input projection); its input `x` is then unused.
        """
        next_states = []
        for index, (rnn, connection, states) in enumerate(zip(stack.layers, stack.connections, nest(flat_states))):
            if index == 0 and first_layer is not None:
                output, new_states = first_layer(states)
            else:
                output, new_states = rnn.cell(x, states, training=False)
            new_states = list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
            next_states.extend(new_states)
            x = output if connection is None else connection([x, output])  # never for the first layer
        return project(x), next_states

    # The step model calls the recurrent *cells* directly on `[B, E]`: the same weights
    # and maths as the layers, without a per-token inner `while_loop` over a length-1
    # sequence (which made every generated token several times slower).
    token = keras.Input((1,), dtype="int32", name="token_id")
    step_states = state_inputs("state")
    step_logits, next_states = cells_step(LastValidStep(name="one_token")(embedding(token)), step_states)
    step = keras.Model([token] + step_states, [step_logits] + next_states, name="lm_step")

    def token_step():
        """A generation loop's step `(tokens [B], states tuple) -> (logits [B, V], states tuple)`.

        Call it once per generation graph, outside the loop: when the vocabulary is
        small enough it computes the first cell's input projection of every token
        there (see `fold_first_projection`), so each step looks a row up; otherwise the
        step runs the step model. Both give the step model's results.
        """
        first_cell = stack.layers[0].cell
        if not fold_first_projection(vocab_size, spec.embedding_dim, first_cell):
            def run_step_model(tokens, states):
                outputs = step([tf.expand_dims(tokens, 1)] + list(states), training=False)
                return outputs[0], tuple(outputs[1:])

            return run_step_model
        table = input_projection(first_cell, embedding(tf.range(vocab_size)))

        def folded_step(tokens, states):
            first = lambda layer_states: step_from_projection(first_cell, tf.gather(table, tokens), layer_states)  # noqa: E731
            logits, next_states = cells_step(None, list(states), first_layer=first)
            return logits, tuple(next_states)

        return folded_step

    if compile:
        compile_model(train, language_model_objective(), spec)
    return LanguageModels(train, forward, prefill, step, state_sizes, token_step)
