"""Look inside recurrent models: how far back gradients reach, what hidden units compute.

- `gradient_flow(app_or_model, batch)`: ||dL_T/dh_k|| against the distance T - k, for
  one recurrent layer of any model built by rnnapps (simple/irnn/gru/lstm, any depth,
  bidirectional layers through their forward half). Vanishing gradients show up as a
  norm that falls exponentially with distance: steep for an Elman RNN, flat for an
  LSTM whose forget gates start open.
- `recurrent_layers`, `layer_inputs`, `run_cell`: the pieces, shared with the
  neuron views in `rnnapps.viz`: find a model's recurrent layers, compute what one of
  them receives for a batch, and run its cell step by step exposing every state.

How the gradient is measured. The layer is re-run cell by cell on the input it gets
inside the model (computed by the model's own layers below it), starting from the
state it starts from in the model (zeros, or e.g. a translator decoder's bridged
state). The "loss" at the last step T is a fixed random unit readout of the layer's
output, `L_T = r . h_T` (seeded; averaged over `readouts` directions), so the number
isolates what the recurrence itself does to a gradient over T - k steps, independent
of the head and of how well the model fits. For an LSTM the gradient reaches h_k both
through the gates and, from step k + 1 on, through the cell state.
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from rnnapps.errors import ConfigError, DataError

RNN_TYPES = (keras.layers.SimpleRNN, keras.layers.GRU, keras.layers.LSTM)


# -- finding recurrent layers -------------------------------------------------------
def _model_of(app_or_model):
    if isinstance(app_or_model, keras.Model):
        return app_or_model
    model = getattr(app_or_model, "model", None)
    if isinstance(model, keras.Model):
        return model
    if model is None and hasattr(app_or_model, "is_fitted"):
        raise ConfigError(f"this {type(app_or_model).__name__} has no model yet: train or load it first")
    raise ConfigError(f"expected an rnnapps app or a Keras model, got {type(app_or_model).__name__}")


def _unwrap(layer):
    """The Keras RNN layer inside `layer` (a Bidirectional's forward half), or None."""
    if isinstance(layer, keras.layers.Bidirectional):
        layer = layer.forward_layer
    return layer if isinstance(layer, RNN_TYPES) else None


def recurrent_layers(model):
    """The recurrent layers of a model in graph order: `[(layer, rnn)]`, where `rnn` is
    the layer itself or, for a `Bidirectional`, its forward RNN.

    Example:
        >>> [layer.name for layer, _ in recurrent_layers(models.train)]  # doctest: +SKIP
        ['lm_lstm_0', 'lm_lstm_1']
    """
    found = []
    for layer in model.layers:
        rnn = _unwrap(layer)
        if rnn is not None:
            found.append((layer, rnn))
    return found


def pick_recurrent_layer(app_or_model, layer=0):
    """Finds one recurrent layer of an app's or a model's graph.

    Args:
        app_or_model: an rnnapps app (its `model`) or a Keras functional model.
        layer: an index into `recurrent_layers(model)` (negative counts from the top) or a layer name.

    Returns:
        `(model, layer, rnn)`: the model, the layer as the model calls it, its Keras RNN.

    Raises:
        ConfigError: not a model, no recurrent layer, or no such layer.

    Example:
        >>> model, layer, rnn = pick_recurrent_layer(models.train, -1)  # doctest: +SKIP
        >>> layer.name                                                   # doctest: +SKIP
        'lm_lstm_1'
    """
    model = _model_of(app_or_model)
    found = recurrent_layers(model)
    if not found:
        raise ConfigError(f"model {model.name!r} has no recurrent layer (SimpleRNN, GRU or LSTM): nothing to diagnose")
    names = [item[0].name for item in found]
    if isinstance(layer, str):
        if layer not in names:
            raise ConfigError(f"no recurrent layer named {layer!r}; the model has {names}")
        index = names.index(layer)
    elif isinstance(layer, (int, np.integer)) and not isinstance(layer, bool) and -len(found) <= layer < len(found):
        index = int(layer)
    else:
        raise ConfigError(f"layer must be an index in [0, {len(found)}) or a name in {names}, got {layer!r}")
    return (model,) + found[index]


def _node_in(model, layer):
    """The call of `layer` that belongs to `model`'s graph (layers are shared by models)."""
    # Keras keys a graph's nodes by "<id of the operation>_ib-<call index>".
    for index, node in enumerate(layer._inbound_nodes):
        if f"{id(layer)}_ib-{index}" in model._nodes:
            return node
    raise ConfigError(f"layer {layer.name!r} is not called inside model {model.name!r}")


def layer_inputs(model, layer, batch):
    """What `layer` receives inside `model` for `batch`: `(sequence [B, T, D], initial_states or None)`.

    Computed by a sub-model over the model's own layers, so embeddings, lower layers
    and connections are exactly those of the model.

    Args:
        model: the functional model that calls `layer`.
        layer: one of its layers (a recurrent layer, typically).
        batch: the model's input (ids, or a list of inputs).

    Example:
        >>> sequence, states = layer_inputs(models.train, models.train.get_layer("lm_gru_1"), ids)  # doctest: +SKIP
        >>> sequence.shape                                                                          # doctest: +SKIP
        TensorShape([8, 100, 256])
    """
    node = _node_in(model, layer)
    return _probe(model, node, batch)


def _probe(model, node, batch):
    sequence = node.arguments.args[0] if node.arguments.args else node.input_tensors[0]
    initial = node.arguments.kwargs.get("initial_state")
    initial = [t for t in (initial or []) if t is not None]
    outputs = [sequence] + list(initial)
    probe = keras.Model(model.input, outputs)
    values = probe(batch, training=False)
    values = values if isinstance(values, (list, tuple)) else [values]
    values = [tf.convert_to_tensor(keras.ops.convert_to_numpy(v)) for v in values]  # drop any Keras mask
    return values[0], (values[1:] or None)


def run_cell(rnn, sequence, initial_states=None, watch=None):
    """Runs `rnn`'s cell over `sequence [B, T, D]` step by step (no masking).

    Args:
        rnn: a Keras SimpleRNN / GRU / LSTM layer.
        sequence: its input, `[B, T, D]`.
        initial_states: its starting states (default zeros).
        watch: a `tf.GradientTape` to record on (each step's state is watched).

    Returns:
        `(outputs, states)`: lists over steps of `[B, units]` outputs and of state lists
        (`[h]`, or `[h, c]` for an LSTM).

    Example:
        >>> outputs, states = run_cell(keras.layers.GRU(4), tf.zeros((2, 5, 3)))  # doctest: +SKIP
        >>> len(outputs), states[-1][0].shape                                     # doctest: +SKIP
        (5, TensorShape([2, 4]))
    """
    cell = rnn.cell
    batch = tf.shape(sequence)[0]
    sizes = cell.state_size if isinstance(cell.state_size, (list, tuple)) else [cell.state_size]
    if initial_states is None:
        states = [tf.zeros((batch, int(size)), sequence.dtype) for size in sizes]
    else:
        states = [tf.cast(s, sequence.dtype) for s in initial_states]
    outputs, all_states = [], []
    for step in range(int(sequence.shape[1])):
        if watch is not None:
            for state in states:
                watch.watch(state)
        output, states = cell(sequence[:, step], states, training=False)
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        outputs.append(output)
        all_states.append(states)
    return outputs, all_states


# -- gradient flow ------------------------------------------------------------------
@dataclasses.dataclass
class GradientFlow:
    """How much gradient reaches back in time through one recurrent layer.

    Attributes:
        distances: `[T]` ints 0..T-1, the distance T - k between the loss step and h_k.
        norms: `[B, T]` ||dL_T/dh_k|| per example (mean over the readout directions).
        mean: `[T]` the mean of `norms` over the batch.
        layer: the layer's name; cell: "simple", "gru" or "lstm" (irnn is a "simple" ReLU).
        label: a name for plots (default: model name / layer name).

    Example:
        >>> flow = gradient_flow(model, ids)                 # doctest: +SKIP
        >>> flow.ratio(1, 20)                                 # doctest: +SKIP
        3.2e+04
    """

    distances: np.ndarray
    norms: np.ndarray
    mean: np.ndarray
    layer: str
    cell: str
    label: str

    def ratio(self, near=1, far=20):
        """mean[near] / mean[far]: how many times weaker the gradient is `far` steps back."""
        for distance in (near, far):
            if not 0 <= distance < len(self.mean):
                raise ConfigError(f"distance {distance} is outside 0..{len(self.mean) - 1}")
        return float(self.mean[near] / max(self.mean[far], 1e-38))

    def decay_per_step(self, start=1, stop=None):
        """The fitted factor by which the norm shrinks per step of distance (1 = no decay).

        A least-squares line through log(mean) over distances `start..stop`.
        """
        stop = len(self.mean) if stop is None else min(int(stop) + 1, len(self.mean))
        d = self.distances[start:stop].astype("float64")
        y = np.log(np.maximum(self.mean[start:stop].astype("float64"), 1e-38))
        if len(d) < 2:
            raise ConfigError("need at least two distances to fit a decay rate")
        slope = np.polyfit(d, y, 1)[0]
        return float(np.exp(slope))

    def to_dict(self):
        return {
            "label": self.label, "layer": self.layer, "cell": self.cell,
            "distances": self.distances.tolist(), "mean": self.mean.tolist(),
            "decay_per_step": self.decay_per_step() if len(self.mean) > 2 else None,
        }


def _cell_kind(rnn):
    if isinstance(rnn, keras.layers.LSTM):
        return "lstm"
    if isinstance(rnn, keras.layers.GRU):
        return "gru"
    return "simple"


def _as_batch(app_or_model, batch):
    """Ids for the model: arrays as given; strings through an app's vectorizer."""
    texts = [batch] if isinstance(batch, str) else batch
    if isinstance(texts, (list, tuple)) and texts and all(isinstance(t, str) for t in texts):
        vectorizer = getattr(app_or_model, "vectorizer", None)
        if vectorizer is None:
            raise ConfigError("a batch of strings needs an app (with its vectorizer); give a model int ids instead")
        # Token ids only: a classifier's n-gram ids (see TextVectorizer) never reach its RNN.
        ids = vectorizer.vectorize(tf.constant(texts, tf.string), ngrams=False).to_tensor(0).numpy()
        # Unpadded windows: cut every row to the shortest text (padding would mask steps).
        lengths = (ids > 0).sum(axis=1)
        if lengths.min() < 2:
            raise DataError("every text of the batch needs at least 2 tokens")
        return ids[:, : int(lengths.min())]
    return batch


def gradient_flow(app_or_model, batch, layer=0, readouts=4, seed=0, label=None):
    """Measures ||dL_T/dh_k|| as a function of the distance T - k through one recurrent layer.

    Args:
        app_or_model: an rnnapps app (its train model) or a Keras model built by
            rnnapps (any model whose recurrent layers are Keras SimpleRNN/GRU/LSTM,
            possibly `Bidirectional`: the forward direction is used).
        batch: the model's input: int ids `[B, T]` (unpadded: all T steps count), a
            list of model inputs (a translator's `[source_ids, decoder_inputs]`), or,
            with an app, a list of strings (cut to the shortest).
        layer: which recurrent layer, an index into `recurrent_layers` or a name
            (default 0: the first, closest to the input).
        readouts: random unit readout directions to average over.
        seed: seed of the readout directions.
        label: the name plots use (default: "<model>/<layer>").

    Returns:
        a `GradientFlow` (distances, norms per example, mean over the batch).

    Raises:
        ConfigError: no recurrent layer, a bad layer index, a model without a graph.
        DataError: an empty batch or a sequence shorter than 2 steps.

    Example:
        >>> from rnnapps.builders.language_model import LanguageModelSpec, build_language_model
        >>> models = build_language_model(30, LanguageModelSpec(cell="gru", units=16, embedding_dim=8, depth=1))
        >>> flow = gradient_flow(models.train, np.random.randint(2, 30, (4, 25)))
        >>> flow.mean.shape
        (25,)
    """
    model, outer, rnn = pick_recurrent_layer(app_or_model, layer)
    batch = _as_batch(app_or_model, batch)
    node = _node_in(model, outer)
    try:
        sequence, initial = _probe(model, node, batch)
    except (ValueError, TypeError, tf.errors.InvalidArgumentError) as error:
        raise DataError(f"the batch does not fit model {model.name!r}: {str(error).splitlines()[0]}") from None
    sequence = tf.cast(sequence, tf.float32)
    if int(sequence.shape[0]) == 0:
        raise DataError("the batch is empty")
    steps = int(sequence.shape[1])
    if steps < 2:
        raise DataError(f"the sequences have {steps} step(s): gradient flow needs at least 2")
    directions = np.random.default_rng(seed).normal(size=(int(readouts), rnn.units)).astype("float32")
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    total = np.zeros((int(sequence.shape[0]), steps), dtype="float64")
    # A cast copy of each state variable would hide it from the tape: run in float32.
    with tf.GradientTape(persistent=True) as tape:
        _, states = run_cell(rnn, sequence, initial, watch=tape)
        hidden = [step_states[0] for step_states in states]
        last = tf.cast(hidden[-1], tf.float32)
        losses = [tf.reduce_sum(last * direction[None, :]) for direction in directions]
    for loss in losses:
        gradients = tape.gradient(loss, hidden, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        for k, gradient in enumerate(gradients):
            total[:, steps - 1 - k] += np.linalg.norm(keras.ops.convert_to_numpy(gradient).astype("float64"), axis=-1)
    del tape
    norms = (total / len(losses)).astype("float32")
    return GradientFlow(
        distances=np.arange(steps),
        norms=norms,
        mean=norms.mean(axis=0),
        layer=outer.name,
        cell=_cell_kind(rnn),
        label=label or f"{model.name}/{outer.name}",
    )


# -- what hidden units compute ------------------------------------------------------
SIGNALS = ("quotes", "brackets", "line_position", "word_position")
MAX_CHARS = 20_000  # a step-by-step cell loop: long enough for a page, bounded in time


@dataclasses.dataclass
class UnitActivations:
    """Per-token activations of one recurrent layer of a char language model.

    Attributes:
        tokens: the T characters (user-perceived characters) of the text.
        values: `[T, units]` the hidden (or LSTM cell) state after each character.
        layer: the layer's name; state: "hidden" or "cell".
    """

    tokens: list
    values: np.ndarray
    layer: str
    state: str


def _char_generator(generator):
    models = getattr(generator, "models", None)
    if getattr(generator, "level", None) is None or not hasattr(generator, "generate"):
        raise ConfigError(
            f"neuron views need a character-level language model (a TextGenerator), got {type(generator).__name__}"
        )
    if generator.level != "char":
        raise ConfigError(
            f"neuron views need a character-level language model; this one is {generator.level!r}-level"
        )
    if generator.vectorizer is None or models is None:
        raise ConfigError("this language model has no model yet: train or load it first")
    return models.train


def hidden_activations(generator, text, layer=0, state="hidden"):
    """Runs a char LM over `text` and returns every character's hidden (or cell) state.

    Args:
        generator: a character-level `TextGenerator` (trained or loaded).
        text: the text to read (at most `MAX_CHARS` characters).
        layer: recurrent layer index or name (default 0, the first).
        state: "hidden" (h, the layer's output) or "cell" (c; LSTM only).

    Returns:
        a `UnitActivations`.

    Example:
        >>> acts = hidden_activations(gen, 'He said "hi" (twice).')  # doctest: +SKIP
        >>> acts.values.shape                                          # doctest: +SKIP
        (21, 256)
    """
    model = _char_generator(generator)
    if not isinstance(text, str) or not text:
        raise DataError("the text must be a non-empty string")
    if state not in ("hidden", "cell"):
        raise ConfigError(f"state must be 'hidden' or 'cell', got {state!r}")
    model, outer, rnn = pick_recurrent_layer(model, layer)
    if state == "cell" and not isinstance(rnn, keras.layers.LSTM):
        raise ConfigError(f"only LSTM layers have a cell state; layer {outer.name!r} is a {type(rnn).__name__}")
    tokens = [t.decode("utf-8") for t in generator.vectorizer.tokenize(tf.constant([text])).to_list()[0]]
    if not tokens:
        raise DataError("the text has no characters")
    if len(tokens) > MAX_CHARS:
        raise DataError(f"the text has {len(tokens)} characters; neuron views read at most {MAX_CHARS}")
    ids = generator.vectorizer.vectorize(tf.constant([text])).to_tensor(0).numpy()[:, : len(tokens)]
    sequence, initial = layer_inputs(model, outer, ids)
    _, states = run_cell(rnn, tf.cast(sequence, tf.float32), initial)
    which = 0 if state == "hidden" else 1
    values = np.stack([keras.ops.convert_to_numpy(s[which])[0] for s in states]).astype("float32")
    return UnitActivations(tokens=tokens, values=values, layer=outer.name, state=state)


def text_signal(tokens, kind):
    """A per-character signal of a text, to find units that track it.

    Args:
        tokens: the text (a string) or its list of characters.
        kind: "quotes" (1 inside double quotes), "brackets" (nesting depth of (), [],
            {}), "line_position" (column within the line), "word_position" (position
            within the word, 0 on spaces).

    Example:
        >>> text_signal('a "bc" d', "quotes").tolist()
        [0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    """
    tokens = list(tokens)
    values = np.zeros(len(tokens), dtype="float32")
    if kind == "quotes":
        inside = False
        for i, token in enumerate(tokens):
            if token == '"':
                inside = not inside
                values[i] = 1.0 if inside else 0.0
            else:
                values[i] = float(inside)
    elif kind == "brackets":
        depth = 0
        for i, token in enumerate(tokens):
            if token in "([{":
                depth += 1
            values[i] = depth
            if token in ")]}":
                depth = max(0, depth - 1)
    elif kind == "line_position":
        column = 0
        for i, token in enumerate(tokens):
            values[i] = column
            column = 0 if token == "\n" else column + 1
    elif kind == "word_position":
        position = 0
        for i, token in enumerate(tokens):
            position = 0 if token.isspace() else position + 1
            values[i] = position
    else:
        raise ConfigError(f"signal must be one of {SIGNALS} or an array of per-character values, got {kind!r}")
    return values


@dataclasses.dataclass
class UnitScore:
    """How well one unit tracks a signal: Pearson correlation over the characters."""

    unit: int
    correlation: float


def rank_units(generator, text, signal, layer=0, state="hidden", top=10):
    """Ranks a char LM's units by how well their activation tracks a per-character signal.

    Args:
        generator: a character-level `TextGenerator`.
        text: the text to read.
        signal: a `text_signal` kind ("quotes", "brackets", "line_position",
            "word_position") or an array with one value per character.
        layer, state: which layer and state (see `hidden_activations`).
        top: how many units to return.

    Returns:
        `UnitScore`s, the largest |correlation| first (constant units score 0).

    Example:
        >>> rank_units(gen, text, "quotes", top=3)  # doctest: +SKIP
        [UnitScore(unit=17, correlation=0.81), UnitScore(unit=3, correlation=-0.64), ...]
    """
    acts = hidden_activations(generator, text, layer=layer, state=state)
    if isinstance(signal, str):
        target = text_signal(acts.tokens, signal)
    else:
        target = np.asarray(signal, dtype="float32").reshape(-1)
        if len(target) != len(acts.tokens):
            raise DataError(f"the signal has {len(target)} values but the text has {len(acts.tokens)} characters")
    if float(np.std(target)) == 0.0:
        raise DataError("the signal is constant over this text: nothing to correlate with")
    if int(top) < 1:
        raise ConfigError(f"top must be >= 1, got {top}")
    values = acts.values - acts.values.mean(axis=0)
    centred = target - target.mean()
    spread = np.sqrt((values**2).sum(axis=0) * (centred**2).sum())
    correlation = np.where(spread > 0, (values * centred[:, None]).sum(axis=0) / np.maximum(spread, 1e-30), 0.0)
    order = np.argsort(-np.abs(correlation), kind="stable")[: int(top)]
    return [UnitScore(int(unit), float(correlation[unit])) for unit in order]
