"""SavedModel exports for stock TF Serving: raw strings in, strings out.

The serving functions here are also what the apps call for in-process prediction, so an
export answers exactly like the Python object it came from.
"""

import json
import os

import keras
import tensorflow as tf

from rnnapps.io_utils import publish_version

EXTRA_DIR = "assets.extra"
METADATA_FILE = "rnnapps.json"


def classifier_serving_fn(vectorizer, model, label_names, task, threshold=0.5):
    """Returns `serve(text: string[B]) -> {"label", "probabilities", "class_id"}`.

    - multiclass/binary: `label` is the most probable class name; `probabilities` has one
      column per class (binary: `[p(first), p(second)]`).
    - multilabel: `label` joins every class with probability >= `threshold` with ",";
      `class_id` is still the most probable class.

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
        return {"label": label, "probabilities": probabilities, "class_id": class_id}

    return serve


def export_serving(endpoints, tracked, base_dir, name, metadata=None):
    """Writes a SavedModel with the given endpoints as the next version of `<base_dir>/<name>`.

    Args:
        endpoints: list of `(endpoint_name, fn, input_signature)`; the first should be
            "serving_default". Signature `TensorSpec`s carry `name=`: those become the
            request keys; the fns return dicts whose keys become the response keys.
        tracked: layers/models whose variables and lookup tables the fns use.
        base_dir, name: the TF Serving model base path and model name.
        metadata: JSON-serializable facts stored in `assets.extra/rnnapps.json`.

    Returns:
        the version directory written, e.g. `saved_models/sentiment/3`.
    """

    def write(directory):
        archive = keras.export.ExportArchive()
        for item in tracked:
            archive.track(item)
        for endpoint_name, fn, signature in endpoints:
            archive.add_endpoint(name=endpoint_name, fn=fn, input_signature=signature)
        archive.write_out(directory, verbose=False)
        if metadata is not None:
            os.makedirs(os.path.join(directory, EXTRA_DIR), exist_ok=True)
            with open(os.path.join(directory, EXTRA_DIR, METADATA_FILE), "w", encoding="utf-8") as handle:
                json.dump(metadata, handle, ensure_ascii=False, indent=2)

    return publish_version(write, base_dir, name)


def text_signature(name="text"):
    """The request signature of a string endpoint: `name: string[None]`."""
    return [tf.TensorSpec([None], tf.string, name=name)]
