#!/usr/bin/env python
"""Idle wall time at the end of a `fit`: tf.data's autotuner against `ends_promptly`.

With autotuning on, deleting a `tf.data` iterator waits for the autotuner thread's next
wake-up (its sleeps double: 10 ms, 20 ms, ...), so an epoch, a validation pass or a scan
can sit idle after its last batch. `rnnapps.dataset_iteration.ends_promptly` turns the
autotuner off for the pipelines rnnapps iterates. This bench trains one GRU language model
on the same batches, alternating the two pipelines, and prints each fit's wall and CPU
time and the ratio of wall times.

    python bench/dataset_teardown.py            # 6 rounds of 12 batches each way
    python bench/dataset_teardown.py --rounds 3 --batches 20
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from rnnapps.dataset_iteration import ends_promptly  # noqa: E402


def batches(rows, vocabulary, batch_size=64, length=100):
    ids = np.random.default_rng(0).integers(2, vocabulary, size=(rows, length + 1)).astype(np.int32)
    data = tf.data.Dataset.from_tensor_slices(ids).batch(batch_size)
    return data.map(lambda w: (w[:, :-1], w[:, 1:]), num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--units", type=int, default=512)
    args = parser.parse_args()
    vocabulary = 100
    data = batches(64 * args.batches, vocabulary)
    pipelines = {"autotuned (tf.data default)": data, "ends_promptly": ends_promptly(data)}
    ids = keras.Input((None,), dtype="int32")
    hidden = keras.layers.GRU(args.units, return_sequences=True)(keras.layers.Embedding(vocabulary, 64)(ids))
    model = keras.Model(ids, keras.layers.Dense(vocabulary)(hidden))
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(data.take(2), verbose=0)  # trace once
    times = {name: [] for name in pipelines}
    for round_ in range(args.rounds):
        for name, pipeline in pipelines.items():
            wall, cpu = time.perf_counter(), time.process_time()
            model.fit(pipeline, epochs=1, verbose=0, shuffle=False)
            times[name].append((time.perf_counter() - wall, time.process_time() - cpu))
            print(f"round {round_ + 1} {name:<28} wall {times[name][-1][0]:6.2f} s  cpu {times[name][-1][1]:6.2f} s", flush=True)
    totals = {name: sum(w for w, _ in rows) for name, rows in times.items()}
    idle = {name: sum(max(0.0, w - c / os.cpu_count()) for w, c in rows) for name, rows in times.items()}
    print()
    for name in pipelines:
        print(f"{name:<28} total wall {totals[name]:7.2f} s   wall beyond cpu/cores {idle[name]:6.2f} s")
    slow, fast = totals.values()
    print(f"wall time ratio ends_promptly / autotuned: {fast / slow:.2f}")


if __name__ == "__main__":
    main()
