"""Serving function of the text classifier."""

import dataclasses

import numpy as np
import tensorflow as tf


def classifier_serving_fn(vectorizer, model, label_names, task, threshold=0.5):
    """Returns `serve(text: string[B]) -> {"label", "probabilities", "class_id", "classes"}`.

    - multiclass/binary: `label` is the most probable class name; `probabilities` has one
      column per class (binary: `[p(first), p(second)]`).
    - multilabel: `label` joins every class with probability >= `threshold` with ",";
      `class_id` is still the most probable class.
    - `classes` (string `[B, C]`) names the columns of `probabilities` in every row, so a
      client of the SavedModel alone (TF Serving, the demo page) can label them.

    Example:
        >>> serve = classifier_serving_fn(vectorizer, model, ["neg", "pos"], "binary")  # doctest: +SKIP
        >>> serve(tf.constant(["great"]))["label"]                                     # doctest: +SKIP
    """
    names = tf.constant(list(label_names))

    def serve(text):
        ids = vectorizer.vectorize(text, ensure_nonempty=True).to_tensor(0)
        # An empty request batch still needs one time step for the RNN graph.
        ids = tf.pad(ids, [[0, 0], [0, tf.maximum(0, 1 - tf.shape(ids)[1])]])
        outputs = model(ids, training=False)
        if task == "binary":
            probabilities = tf.concat([1.0 - outputs, outputs], axis=-1)
        else:
            probabilities = outputs
        class_id = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        if task == "multilabel":
            chosen = tf.ragged.boolean_mask(
                tf.broadcast_to(names, tf.shape(probabilities)), probabilities >= threshold
            )
            label = tf.strings.reduce_join(chosen, axis=-1, separator=",")
        else:
            label = tf.gather(names, class_id)
        # tile (not broadcast_to) keeps the static [None, C] shape: request batching needs it.
        classes = tf.tile(names[None, :], [tf.shape(probabilities)[0], 1])
        return {"label": label, "probabilities": probabilities, "class_id": class_id, "classes": classes}

    return serve


@dataclasses.dataclass
class ClassifierPredictions:
    """Predictions for a list of texts, in input order.

    Attributes:
        labels: predicted label name per text (multi-label: list of names).
        probabilities: `[N, C]` class probabilities (columns follow `label_names`).
        class_ids: most probable class id per text.
        label_names: the class names.
    """

    labels: list
    probabilities: np.ndarray
    class_ids: np.ndarray
    label_names: list

    def __len__(self):
        return len(self.labels)

    def to_dicts(self):
        """One `{"label": ..., "probabilities": {name: p}}` dict per text."""
        return [
            {"label": label, "probabilities": dict(zip(self.label_names, map(float, row)))}
            for label, row in zip(self.labels, self.probabilities)
        ]
