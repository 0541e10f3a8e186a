"""Quickstart part: a char-level language model on the bundled dialogue sample."""

import os
import time

from rnnapps.quickstart.common import SAMPLES_DIR, heading, write_held_out_split

LM_SAMPLE = os.path.join(SAMPLES_DIR, "dialogue.txt")
PROMPTS = ["MARA:\n", "ELLEN:\nThe "]
HOLD_OUT_EVERY = 7  # one speech in seven is held out for the evaluation


def split_sample(work_dir, path=LM_SAMPLE):
    """Writes the sample's speeches (blank-line separated) to train.txt / held_out.txt in `work_dir`."""
    with open(path, encoding="utf-8") as handle:
        speeches = [block.strip("\n") for block in handle.read().split("\n\n") if block.strip()]
    return write_held_out_split(speeches, HOLD_OUT_EVERY, os.path.join(work_dir, "language_model_data"), separator="\n\n")


def run(export_dir, work_dir, epochs):
    """Trains a small char LSTM LM briefly, samples, saves/reloads and exports it."""
    import tensorflow as tf

    import rnnapps

    heading("Char-level language model (2-layer LSTM) on the bundled dialogue sample")
    train_path, held_out_path, num_train, num_held_out = split_sample(work_dir)
    print(f"sample: {num_train + num_held_out} speeches -> {num_train} train / {num_held_out} held out ({held_out_path})")
    generator = rnnapps.TextGenerator(
        level="char", cell="lstm", units=128, depth=2, embedding_dim=64, sequence_length=32, learning_rate=5e-3
    )
    start = time.time()
    # Early stopping on the validation lines (split off the training speeches by hash)
    # restores the best epoch's weights; the held-out speeches are only read below.
    generator.fit(
        train_path, epochs=max(1, 2 * epochs), batch_size=8, validation_split=0.1,
        early_stopping_patience=5, seed=0, verbose=2,
    )
    print(f"trained in {time.time() - start:.1f} s")
    report = generator.evaluate(held_out_path)
    print(f"\nheld-out speeches: {report}")

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
    return {
        "summary": f"held-out perplexity {report.perplexity:.2f}, {report.bits_per_char:.3f} bits/char",
        "perplexity": report.perplexity,
        "bits_per_char": report.bits_per_char,
        "saved": saved,
        "export": version_dir,
    }
