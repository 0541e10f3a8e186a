"""Truncated backpropagation through time with the RNN state carried across batches."""

import keras
import tensorflow as tf

from rnnapps.errors import ConfigError
from rnnapps.training.model import GradNormTrainStep


class StatefulTrainer(GradNormTrainStep, keras.Model):
    """Trains a `forward` LM model (ids + states -> logits + states) on consecutive windows.

    Batches are `((ids [B, T], reset bool [B]), targets [B, T])` where row b of a batch
    continues row b of the previous batch. The final states of one batch become the
    initial states of the next (as constants: gradients stop at the window edge, which
    is what makes it *truncated* BPTT), except in rows flagged `reset` (a new stream or
    document), which start from zeros. The trainer holds the carried states in
    non-trainable variables of a fixed batch size; it is a training-time wrapper only
    (the app saves the shared weights through its own models, never this object).

    Args:
        forward: functional model `[ids] + states -> [logits] + states`.
        batch_size: rows per batch (every batch must have exactly this many).
        state_sizes: width of each flat state tensor.

    Example:
        >>> models = build_language_model(30, LanguageModelSpec(units=8, embedding_dim=8, depth=1))  # doctest: +SKIP
        >>> trainer = StatefulTrainer(models.forward, 4, models.state_sizes)                          # doctest: +SKIP
    """

    @classmethod
    def continuing(cls, models, batch_size):
        """A trainer of `LanguageModels` that continues their train model's training: it shares
        its weights, optimizer (iteration count and slots) and loss. Call it in the app's scope."""
        trainer = cls(models.forward, batch_size, models.state_sizes)
        trainer.compile(optimizer=models.train.optimizer, loss=models.train.loss)
        return trainer

    def __init__(self, forward, batch_size, state_sizes, **kwargs):
        super().__init__(**kwargs)
        if int(batch_size) < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        self.forward = forward
        self.batch_size = int(batch_size)
        self.carried = [
            self.add_weight(name=f"carried_state_{i}", shape=(self.batch_size, int(size)), initializer="zeros", trainable=False)
            for i, size in enumerate(state_sizes)
        ]
        self._init_grad_norm()
        # Its layers (the functional forward model) and carried states exist already;
        # saying so lets BackupAndRestore load a backup before the first batch.
        self.built = True

    def reset_carried_states(self):
        for variable in self.carried:
            variable.assign(tf.zeros_like(variable))

    def call(self, inputs, training=False):
        ids, reset = inputs
        keep = 1.0 - tf.cast(tf.reshape(reset, (-1, 1)), self.carried[0].dtype)
        states = [tf.stop_gradient(variable) * keep for variable in self.carried]
        outputs = self.forward([ids] + states, training=training)
        for variable, state in zip(self.carried, outputs[1:]):
            # Under a mixed-precision policy the states come out in the compute dtype;
            # the carried copies stay float32.
            variable.assign(tf.cast(tf.stop_gradient(state), variable.dtype))
        return outputs[0]
