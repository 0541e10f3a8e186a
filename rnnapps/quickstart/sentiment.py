"""Quickstart part: the sentiment classifier on the bundled review sample."""

import csv
import os
import random
import time

import numpy as np

from rnnapps.quickstart.common import SAMPLES_DIR, heading

SENTIMENT_SAMPLE = os.path.join(SAMPLES_DIR, "sentiment.tsv")
DEMO_REVIEWS = [
    "An absolute delight from start to finish, I loved every minute.",
    "The room was dirty and the staff were rude. Never again.",
    "The museum opens at nine and closes at five on weekdays.",
    "Not bad at all, better than I expected!",
    "",
]


def read_sample(path=SENTIMENT_SAMPLE):
    """Reads the bundled `text<TAB>label` sample into two lists."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [row["text"] for row in rows], [row["label"] for row in rows]


def stratified_split(texts, labels, test_fraction=0.2, seed=0):
    """Holds out `test_fraction` of every label, reproducibly."""
    rng = random.Random(seed)
    by_label = {}
    for text, label in zip(texts, labels):
        by_label.setdefault(label, []).append(text)
    train, test = [], []
    for label, items in sorted(by_label.items()):
        rng.shuffle(items)
        cut = int(round(len(items) * test_fraction))
        test += [(t, label) for t in items[:cut]]
        train += [(t, label) for t in items[cut:]]
    rng.shuffle(train)
    return [t for t, _ in train], [l for _, l in train], [t for t, _ in test], [l for _, l in test]


def run(export_dir, work_dir, epochs):
    """Sentiment: a bidirectional LSTM on the bundled 3-class review sample."""
    import tensorflow as tf

    import rnnapps

    heading("Sentiment classifier (bidirectional LSTM) on the bundled review sample")
    texts, labels = read_sample()
    train_texts, train_labels, test_texts, test_labels = stratified_split(texts, labels)
    print(f"sample: {len(texts)} labelled sentences -> {len(train_texts)} train / {len(test_texts)} test")
    clf = rnnapps.SentimentClassifier(
        cell="lstm", bidirectional=True, units=32, embedding_dim=64, dropout=0.2, head_dropout=0.3
    )
    start = time.time()
    clf.fit(train_texts, train_labels, epochs=epochs, batch_size=16, validation_split=0.15, early_stopping_patience=4, seed=0)
    print(f"trained in {time.time() - start:.1f} s")
    report = clf.evaluate(test_texts, test_labels)
    print("\nheld-out evaluation:")
    print(report)

    predictions = clf.predict(DEMO_REVIEWS)
    print("\npredictions:")
    for text, row in zip(DEMO_REVIEWS, predictions.to_dicts()):
        probabilities = "  ".join(f"{name}={p:.2f}" for name, p in row["probabilities"].items())
        print(f"  {row['label']:<9} [{probabilities}]  {text!r}")

    saved = clf.save(os.path.join(work_dir, "sentiment"))
    reloaded = rnnapps.load(saved)
    same = np.allclose(reloaded.predict(DEMO_REVIEWS).probabilities, predictions.probabilities, atol=1e-6)
    print(f"\nsaved to {saved}; reloaded copy gives identical predictions: {same}")

    version_dir = clf.export(export_dir, "sentiment")
    served = tf.saved_model.load(version_dir).signatures["serving_default"]
    answer = served(text=tf.constant(DEMO_REVIEWS))
    served_labels = [label.decode("utf-8") for label in answer["label"].numpy()]
    agrees = served_labels == predictions.labels and np.allclose(
        answer["probabilities"].numpy(), predictions.probabilities, atol=1e-5
    )
    print(f"exported SavedModel to {version_dir}")
    print(f"reloaded export answers: {served_labels}; agrees with the Python object: {agrees}")
    if not (same and agrees):
        raise SystemExit("quickstart: a reloaded model disagreed with the original (see above)")
    return {"summary": f"held-out accuracy {report.accuracy:.3f}, macro-F1 {report.macro_f1:.3f}", "accuracy": report.accuracy, "saved": saved, "export": version_dir}
