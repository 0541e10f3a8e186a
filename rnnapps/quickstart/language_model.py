"""Quickstart part: a char-level language model on the bundled dialogue sample."""

import os
import time

from rnnapps.quickstart.common import SAMPLES_DIR, heading

LM_SAMPLE = os.path.join(SAMPLES_DIR, "dialogue.txt")
PROMPTS = ["MARA:\n", "ELLEN:\nThe "]


def run(export_dir, work_dir, epochs):
    """Trains a small char LSTM LM briefly, samples, saves/reloads and exports it."""
    import tensorflow as tf

    import rnnapps

    heading("Char-level language model (2-layer LSTM) on the bundled dialogue sample")
    generator = rnnapps.TextGenerator(
        level="char", cell="lstm", units=128, depth=2, embedding_dim=64, sequence_length=32, learning_rate=5e-3
    )
    start = time.time()
    generator.fit(
        LM_SAMPLE, epochs=max(1, 2 * epochs), batch_size=8, validation_split=0.1,
        early_stopping_patience=None, seed=0, verbose=2,
    )
    print(f"trained in {time.time() - start:.1f} s")
    report = generator.evaluate(LM_SAMPLE)
    print(f"\nwhole sample text: {report}")

    print("\ngreedy continuations:")
    greedy = generator.generate(PROMPTS, max_length=80, temperature=0.0)
    for text in greedy:
        print(f"---\n{text}")
    print("\nsampled at temperature 0.8, top_p 0.95 (seed 1):")
    for text in generator.generate(PROMPTS, max_length=80, temperature=0.8, top_p=0.95, seed=1):
        print(f"---\n{text}")

    saved = generator.save(os.path.join(work_dir, "language_model"))
    reloaded = rnnapps.load(saved)
    same = reloaded.generate(PROMPTS, max_length=80, temperature=0.0) == greedy
    print(f"\nsaved to {saved}; reloaded copy generates the same greedy text: {same}")

    version_dir = generator.export(export_dir, "language_model")
    served = tf.saved_model.load(version_dir).signatures["generate"]
    answer = served(
        prompt=tf.constant(PROMPTS), max_length=tf.constant(80), temperature=tf.constant(0.0),
        top_k=tf.constant(0), top_p=tf.constant(1.0), seed=tf.constant(0, tf.int64),
    )
    served_texts = [t.decode("utf-8") for t in answer["text"].numpy()]
    agrees = served_texts == greedy
    print(f"exported SavedModel to {version_dir}; its greedy generation agrees with the Python object: {agrees}")
    if not (same and agrees):
        raise SystemExit("quickstart: a reloaded language model disagreed with the original (see above)")
    return {"summary": f"perplexity {report.perplexity:.2f}, {report.bits_per_char:.3f} bits/char on the sample", "export": version_dir}
