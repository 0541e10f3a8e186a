"""Quickstart part: a Chinese poetry model on the bundled sample of Tang poems."""

import os
import time

from rnnapps.quickstart.common import SAMPLES_DIR, heading, write_held_out_split

POEM_SAMPLE = os.path.join(SAMPLES_DIR, "poems.txt")
REQUESTS = [
    ("qijue, acrostic 春眠不觉", dict(form="qijue", acrostic="春眠不觉")),
    ("wujue, rhyming even lines", dict(form="wujue", rhyme=True)),
    ("wujue continuing 床前明月光", dict(form="wujue", first_line="床前明月光")),
    ("qilv, mood 秋夜, no repeated characters", dict(form="qilv", mood="秋夜", no_repeat=True)),
]
HOLD_OUT_EVERY = 8  # one poem in eight is held out for the evaluation


def split_sample(work_dir, path=POEM_SAMPLE):
    """Writes the sample's poems (one per line) to train.txt / held_out.txt in `work_dir`."""
    with open(path, encoding="utf-8") as handle:
        poems = [line.rstrip("\n") for line in handle if line.strip()]
    return write_held_out_split(poems, HOLD_OUT_EVERY, os.path.join(work_dir, "poetry_data"))


def run(export_dir, work_dir, epochs):
    """Trains a small poetry LSTM briefly, writes constrained poems, saves/reloads and exports it."""
    import tensorflow as tf

    import rnnapps
    from rnnapps.data.poems import is_valid_poem

    heading("Chinese poetry (char-level LSTM) on the bundled sample of 125 Tang poems")
    train_path, held_out_path, num_train, num_held_out = split_sample(work_dir)
    print(f"sample: {num_train + num_held_out} poems -> {num_train} train / {num_held_out} held out ({held_out_path})")
    poet = rnnapps.PoetryGenerator(cell="lstm", units=128, depth=1, embedding_dim=64, learning_rate=1e-2)
    start = time.time()
    # Early stopping on the validation poems (split off the training poems by hash)
    # restores the best epoch's weights; the held-out poems are only read below.
    poet.fit(train_path, epochs=max(1, min(epochs, 15)), batch_size=16, validation_split=0.1,
             early_stopping_patience=3, seed=0, verbose=2)
    print(f"trained in {time.time() - start:.1f} s")
    report = poet.evaluate(held_out_path, form="qijue", num_samples=50, temperature=0.8)
    print(f"\nheld-out poems: {report}")

    poems = {}
    for label, request in REQUESTS:
        poem = poet.generate(temperature=0.8, seed=1, **request)
        poems[label] = poem
        print(f"\n{label} ({'well formed' if is_valid_poem(poem, request['form']) else 'MALFORMED'}):")
        print(poem.replace("。", "。\n").rstrip())

    saved = poet.save(os.path.join(work_dir, "poetry"))
    reloaded = rnnapps.load(saved)
    same = all(reloaded.generate(temperature=0.8, seed=1, **request) == poems[label] for label, request in REQUESTS)
    print(f"\nsaved to {saved}; reloaded copy writes the same poems: {same}")

    version_dir = poet.export(export_dir, "poetry")
    served = tf.saved_model.load(version_dir).signatures["generate"]
    answer = served(
        form=tf.constant("qijue"), acrostic=tf.constant(["春眠不觉"]), first_line=tf.constant([""]),
        mood=tf.constant([""]), rhyme=tf.constant(False), no_repeat=tf.constant(False),
        temperature=tf.constant(0.8), top_k=tf.constant(0), seed=tf.constant(1, tf.int64),
    )
    agrees = answer["poem"].numpy()[0].decode("utf-8") == poems[REQUESTS[0][0]]
    print(f"exported SavedModel to {version_dir}; its poem agrees with the Python object: {agrees}")
    if not (same and agrees and report.constrained_validity == 1.0):
        raise SystemExit("quickstart: the poetry model disagreed with itself or broke a form (see above)")
    summary = (
        f"held-out perplexity {report.perplexity:.1f}; sampled qijue validity {report.constrained_validity:.0%} constrained vs "
        f"{report.free_validity:.0%} unconstrained"
    )
    return {"summary": summary, "perplexity": report.perplexity, "saved": saved, "export": version_dir}
