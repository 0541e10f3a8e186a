"""`GradNormModel`: a functional model whose `fit` logs the pre-clip global gradient norm."""

import keras
import tensorflow as tf


class GradNormTrainStep:
    """Mixin for `keras.Model` subclasses: `fit` logs the pre-clip global gradient norm.

    The subclass must call `_init_grad_norm()` in its `__init__`.
    """

    def _init_grad_norm(self):
        self.grad_norm_tracker = keras.metrics.Mean(name="grad_norm")

    # The tracker is kept out of `self.metrics` so validation logs get no meaningless
    # `val_grad_norm`; it is reset with the other metrics at every epoch start instead.
    @property
    def metrics(self):
        return [metric for metric in super().metrics if metric is not self.grad_norm_tracker]

    def reset_metrics(self):
        super().reset_metrics()
        self.grad_norm_tracker.reset_state()

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
            # Under a multi-replica strategy Keras scales each replica's loss by
            # 1/replicas (so summed gradients average); the logged loss undoes that.
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            self._loss_tracker.update_state(
                loss * tf.cast(replicas, loss.dtype), sample_weight=tf.shape(tree_first(x))[0]
            )
            scaled_loss = self.optimizer.scale_loss(loss)
        variables = self.trainable_variables
        gradients = tape.gradient(scaled_loss, variables)
        # A loss-scaling optimizer (mixed precision) scales the gradients: undo it for the log.
        scale = getattr(self.optimizer, "dynamic_scale", None)
        norm = tf.linalg.global_norm([g for g in gradients if g is not None])
        if scale is not None:
            norm = norm / tf.cast(scale, norm.dtype)
        self.grad_norm_tracker.update_state(norm)
        self.optimizer.apply(gradients, variables)
        logs = self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
        logs["grad_norm"] = self.grad_norm_tracker.result()
        return logs


@keras.saving.register_keras_serializable(package="rnnapps")
class GradNormModel(GradNormTrainStep, keras.Model):
    """A functional `keras.Model` that adds `grad_norm` to the fit logs.

    Callbacks cannot see gradients, so the norm is measured inside `train_step`: the
    global L2 norm of all gradients *before* the optimizer clips them, averaged over
    the epoch like any metric. Watching it is how exploding (spikes) and vanishing
    (collapse towards 0) gradients show up in practice. Saved and reloaded through
    `.keras` like any functional model.

    Example:
        >>> inputs = keras.Input((3,))
        >>> model = GradNormModel(inputs, keras.layers.Dense(1)(inputs))
        >>> model.compile("adam", "mse")
        >>> history = model.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0)  # doctest: +SKIP
        >>> "grad_norm" in history.history                                    # doctest: +SKIP
        True
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
