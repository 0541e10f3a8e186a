"""`GradNormModel`: a functional model whose `fit` logs global and per-layer gradient norms.

Logged keys (pre-clip L2 norms, mixed-precision loss scale undone):

    grad_norm            the global norm over all trainable variables
    grad_norm/<layer>    the norm over one top-level layer's variables (nested models
                         such as a StatefulTrainer's forward model are looked into)

Per batch (`on_train_batch_end` logs, TensorBoard with `update_freq`) they are the
norms of *that* step; per epoch (History, `on_epoch_end`) the mean over the epoch.
`GradientNormMonitor` (rnnapps.training.monitor) records the per-step values.
"""

import keras
import tensorflow as tf

# Registers the package's layers, so `keras.saving.load_model` of a saved GradNormModel
# finds those its graph holds (the language model's train graph has a `DropMask`).
import rnnapps.layers  # noqa: E402,F401
from rnnapps.layers import StackHeads  # noqa: E402

GRAD_NORM = "grad_norm"


def layer_groups(model):
    """`{variable id: layer name}` for the trainable variables of `model`'s layers.

    Nested models (a model used as a layer) are looked into, so a wrapper such as the
    StatefulTrainer reports the same layer names as the model it wraps.

    Args:
        model: a Keras model.

    Example:
        >>> inputs = keras.Input((3,))
        >>> model = keras.Model(inputs, keras.layers.Dense(1, name="out")(inputs))
        >>> sorted(set(layer_groups(model).values()))
        ['out']
    """
    names = {}

    def visit(layer):
        sublayers = getattr(layer, "layers", None)
        if isinstance(layer, keras.Model) and sublayers:
            for sublayer in sublayers:
                visit(sublayer)
            return
        for variable in layer.trainable_variables:
            names.setdefault(id(variable), layer.name)

    for layer in getattr(model, "layers", []):
        visit(layer)
    return names


@keras.saving.register_keras_serializable(package="rnnapps")
class GradientNormMean(keras.metrics.Metric):
    """Epoch means of a vector of gradient norms, reported as one log key per entry.

    Args:
        keys: the log key of each entry (e.g. ["grad_norm", "grad_norm/embedding"]).

    Example:
        >>> metric = GradientNormMean(["grad_norm", "grad_norm/dense"])
        >>> metric.update_state([2.0, 1.0]); metric.update_state([4.0, 3.0])
        >>> {k: float(v) for k, v in metric.result().items()}
        {'grad_norm': 3.0, 'grad_norm/dense': 2.0}
    """

    def __init__(self, keys=(GRAD_NORM,), name="gradient_norms", dtype="float32"):
        super().__init__(name=name, dtype=dtype)
        self.keys = list(keys)
        self.total = self.add_variable(shape=(len(self.keys),), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, norms, skip_non_finite=False):
        """Adds one step's norms; with `skip_non_finite`, a step with an inf/NaN norm is left out."""
        norms = tf.cast(tf.convert_to_tensor(norms), self.dtype)
        weight = tf.constant(1.0, self.dtype)
        if skip_non_finite:
            finite = tf.reduce_all(tf.math.is_finite(norms))
            weight = tf.cast(finite, self.dtype)
            norms = tf.where(finite, norms, tf.zeros_like(norms))
        self.total.assign_add(norms * weight)
        self.count.assign_add(weight)

    def result(self):
        means = tf.math.divide_no_nan(tf.convert_to_tensor(self.total), tf.convert_to_tensor(self.count))
        return {key: means[i] for i, key in enumerate(self.keys)}

    def get_config(self):
        return {"keys": self.keys, "name": self.name, "dtype": self.dtype}


class GradNormTrainStep:
    """Mixin for `keras.Model` subclasses: `fit` logs global and per-layer gradient norms.

    The subclass must call `_init_grad_norm()` at the end of its `__init__` (once its
    layers exist). `per_layer=False` logs only the global norm.
    """

    def _init_grad_norm(self, per_layer=True):
        self._grad_layer_of = layer_groups(self) if per_layer else {}
        layers = sorted(set(self._grad_layer_of.values()))
        self._grad_layers = layers
        self.grad_norm_tracker = GradientNormMean([GRAD_NORM] + [f"{GRAD_NORM}/{name}" for name in layers])

    @property
    def grad_norm_keys(self):
        """The log keys this model adds to the training logs."""
        return list(self.grad_norm_tracker.keys)

    def _gradient_norms(self, gradients, variables):
        """`[global, per layer...]` norms of one step's (scaled) gradients, float32."""
        squares = {name: [] for name in self._grad_layers}
        every = []
        for gradient, variable in zip(gradients, variables):
            if gradient is None:
                continue
            if isinstance(gradient, tf.IndexedSlices):
                # Embeddings: rows of the looked-up ids, repeated ids in separate rows; the
                # dense gradient adds those up, so sum per id before squaring (exact, and
                # far cheaper than densifying a vocabulary-sized matrix).
                unique, position = tf.unique(gradient.indices)
                gradient = tf.math.unsorted_segment_sum(gradient.values, position, tf.shape(unique)[0])
            square = tf.reduce_sum(tf.square(tf.cast(gradient, tf.float32)))
            every.append(square)
            name = self._grad_layer_of.get(id(variable))
            if name is not None:
                squares[name].append(square)
        total = tf.add_n(every) if every else tf.constant(0.0)
        per_layer = [tf.add_n(parts) if parts else tf.constant(0.0) for parts in squares.values()]
        return tf.sqrt(tf.stack([total] + per_layer))

    def _loss_and_prediction(self, x, y, sample_weight, training):
        """`(loss, prediction)` of one batch: the compiled loss of the model's output."""
        y_pred = self(x, training=training)
        return self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training), y_pred

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        # Under a multi-replica strategy Keras scales each replica's loss by
        # 1/replicas (so summed gradients average); the logged loss undoes that.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tf.GradientTape() as tape:
            loss, y_pred = self._loss_and_prediction(x, y, sample_weight, training=True)
            self._loss_tracker.update_state(
                loss * tf.cast(replicas, loss.dtype), sample_weight=tf.shape(tree_first(x))[0]
            )
            scaled_loss = self.optimizer.scale_loss(loss)
        variables = self.trainable_variables
        gradients = tape.gradient(scaled_loss, variables)
        measured = gradients
        context = tf.distribute.get_replica_context()
        if replicas > 1 and context is not None:
            # The step's gradient is the sum of the replicas' (the optimizer all-reduces
            # them too); the norm of a sum is not a function of the replicas' norms, so
            # measuring it exactly costs one extra all-reduce per step.
            present = [g for g in gradients if g is not None]
            reduced = iter(context.all_reduce(tf.distribute.ReduceOp.SUM, present))
            measured = [None if g is None else next(reduced) for g in gradients]
        norms = self._gradient_norms(measured, variables)
        # A loss-scaling optimizer (mixed_float16) scales the gradients: undo it for the log.
        scale = getattr(self.optimizer, "dynamic_scale", None)
        if scale is not None:
            norms = norms / tf.cast(scale, norms.dtype)
        # With loss scaling an overflowing step is expected (the optimizer skips it and
        # lowers the scale): the step logs show it as inf, the epoch mean leaves it out.
        self.grad_norm_tracker.update_state(norms, skip_non_finite=scale is not None)
        self.optimizer.apply(gradients, variables)
        logs = self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
        # Per batch: this step's norms. The key set equals the metrics' keys, so Keras
        # takes the epoch logs from the metrics: the epoch means.
        for index, key in enumerate(self.grad_norm_tracker.keys):
            logs[key] = norms[index]
        return logs

    def test_step(self, data):
        # The tracker is one of `self.metrics` (so epoch logs get its means) but has no
        # meaning on validation data: no `val_grad_norm`.
        logs = super().test_step(data)
        return {key: value for key, value in logs.items() if not key.startswith(GRAD_NORM)}


@keras.saving.register_keras_serializable(package="rnnapps")
class GradNormModel(GradNormTrainStep, keras.Model):
    """A functional `keras.Model` that adds gradient norms to the fit logs.

    Callbacks cannot see gradients, so the norms are measured inside `train_step`:
    the global L2 norm of all gradients (`grad_norm`) and one per layer
    (`grad_norm/<layer>`), *before* the optimizer clips them. The batch logs hold the
    norms of that step, the epoch logs their mean over the epoch. Watching them is how
    exploding (spikes) and vanishing (collapse towards 0, layer by layer) gradients
    show up in practice. Saved and reloaded through `.keras` like any functional model.

    Example:
        >>> inputs = keras.Input((3,))
        >>> model = GradNormModel(inputs, keras.layers.Dense(1, name="out")(inputs))
        >>> model.compile("adam", "mse")
        >>> history = model.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0)  # doctest: +SKIP
        >>> sorted(k for k in history.history if k.startswith("grad_norm"))  # doctest: +SKIP
        ['grad_norm', 'grad_norm/out']
    """

    # The signature must match `Functional.__init__` exactly: Keras then saves the
    # functional graph in `get_config` and revives this class from it.
    def __init__(self, inputs, outputs, name=None, **kwargs):
        super().__init__(inputs, outputs, name=name, **kwargs)
        self._init_grad_norm()


def tree_first(structure):
    """The first tensor of a (possibly nested) input structure, for the batch size."""
    while isinstance(structure, (list, tuple, dict)):
        structure = list(structure.values())[0] if isinstance(structure, dict) else structure[0]
    return structure


@keras.saving.register_keras_serializable(package="rnnapps")
class HeadEnsembleModel(GradNormModel):
    """A model of several heads, each trained on its own loss, that predicts their mean.

    The functional graph ends in a `rnnapps.layers.StackHeads` layer (`[B, H, C]`, what
    `outputs` and `output_shape` describe). Calling the model (predict, serving) gives the
    heads' mean `[B, C]`; `head_outputs` gives the stack. Training sums
    the compiled loss of every head, as if each head were trained alone (they share no
    weights), and logs each head's loss as `<head>_loss` (`val_<head>_loss` on
    validation data); the metrics measure the mean. Heads that learn at different
    speeds reach their best at different epochs: `HeadSelection` keeps each head's best
    weights. Regularization losses (none in rnnapps' models) would count once per head.

    Example:
        >>> inputs = keras.Input((3,))
        >>> heads = [keras.layers.Dense(2, activation="softmax", name=n)(inputs) for n in ("a", "b")]
        >>> model = HeadEnsembleModel(inputs, StackHeads(["a", "b"])(heads))
        >>> model(np.ones((4, 3))).shape, model.head_names
        (TensorShape([4, 2]), ['a', 'b'])
    """

    def __init__(self, inputs, outputs, name=None, **kwargs):
        super().__init__(inputs, outputs, name=name, **kwargs)
        stack = self._head_stack()
        self.head_names = list(stack.head_names)
        self.head_loss_trackers = [keras.metrics.Mean(name=f"{head}_loss") for head in self.head_names]

    def _head_stack(self):
        outputs = self.outputs
        layer = getattr(getattr(outputs[0], "_keras_history", None), "operation", None)
        if len(outputs) != 1 or not isinstance(layer, StackHeads):
            raise ValueError("a HeadEnsembleModel's one output must come from a StackHeads layer")
        return layer

    def head_outputs(self, inputs, training=None):
        """Every head's prediction, stacked: `[B, H, C]`."""
        return super().call(inputs, training=training)

    def call(self, inputs, training=None, mask=None):
        return tf.reduce_mean(self.head_outputs(inputs, training=training), axis=1)

    def compute_output_spec(self, inputs, training=None, mask=None):
        stacked = super().compute_output_spec(inputs, training=training, mask=mask)
        return keras.KerasTensor((stacked.shape[0],) + tuple(stacked.shape[2:]), dtype=stacked.dtype)

    def _loss_and_prediction(self, x, y, sample_weight, training):
        heads = self.head_outputs(x, training=training)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        losses = []
        for index, tracker in enumerate(self.head_loss_trackers):
            loss = self.compute_loss(x=x, y=y, y_pred=heads[:, index], sample_weight=sample_weight, training=training)
            tracker.update_state(loss * tf.cast(replicas, loss.dtype), sample_weight=tf.shape(tree_first(x))[0])
            losses.append(loss)
        return tf.add_n(losses), tf.reduce_mean(heads, axis=1)

    def test_step(self, data):
        # Keras' own test step with the heads' losses (and, like GradNormModel's, no grad norms).
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        loss, y_pred = self._loss_and_prediction(x, y, sample_weight, training=False)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        self._loss_tracker.update_state(loss * tf.cast(replicas, loss.dtype), sample_weight=tf.shape(tree_first(x))[0])
        logs = self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
        return {key: value for key, value in logs.items() if not key.startswith(GRAD_NORM)}

    def head_weights(self):
        """`{head: [weights]}`: the variables each head's prediction depends on.

        Raises `ValueError` when heads share a variable (they could not be kept apart).
        """
        stack = self._head_stack()
        owner, groups = {}, {}
        for head, tensor in zip(self.head_names, stack._inbound_nodes[0].input_tensors):
            found, seen, pending = [], set(), [tensor]
            while pending:
                history = getattr(pending.pop(), "_keras_history", None)
                if history is None or id(history.operation) in seen:
                    continue
                seen.add(id(history.operation))
                for weight in getattr(history.operation, "weights", []):
                    if owner.setdefault(id(weight), head) != head:
                        raise ValueError(f"heads {owner[id(weight)]!r} and {head!r} share the weight {weight.path}")
                    found.append(weight)
                node = history.operation._inbound_nodes[history.node_index]
                pending.extend(node.input_tensors)
            groups[head] = found
        return groups
