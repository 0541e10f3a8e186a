#!/usr/bin/env python
"""Generation speed of rnnapps' in-graph loop, measured side by side in one run.

An untrained char-level LSTM(256) language model (65 characters, the size of Shakespeare's
alphabet; weights do not change the cost) generates 500 new tokens per prompt, at batch
1 and batch 32, in four ways:

- in-graph: `TextGenerator.generate`: one `tf.while_loop` over the step model carrying
  the RNN state (what the exported SavedModel runs);
- (a) re-run: the tutorial approach: every new token re-runs the model over the whole
  text so far and samples from the last position (O(N^2) work), in a `tf.function`;
- (b) Python loop: the state is carried, but each token is one call of a compiled
  (`tf.function`) step, with the sampling in Python between calls;
- exported: the SavedModel's `generate` signature, loaded in this process.

Each way runs `--repeats` times, interleaved; a way's speed is its fastest run (noise
only adds time). Targets: in-graph/(a) >= 50x and in-graph/(b) >= 10x at batch 1, and
exported within 15% of in-process (exported/in-graph >= 0.85). Exit status 1 on a miss.

Cold start (`--cold`, also part of the default run): what `rnnapps lm generate` pays on
every run. The default char model (`TextGenerator()`: GRU(512), embedding 256, 65 ids)
is saved once; then each measurement runs in a fresh Python process, so nothing is
traced yet: the app side imports rnnapps, `rnnapps.load`s the save and times its first
`generate("ROMEO:", max_length=500, temperature=0.8)` (tracing included), then the best
of 3 warm calls; the tutorial side builds the TF "text generation" tutorial's model of
the same size (Embedding -> GRU(512, return_state) -> Dense) and its `OneStep` (a
`tf.function` per character, the loop in Python) and times its first 500-character loop,
then the best of 3 warm loops. App and tutorial processes alternate, `--cold-repeats`
pairs; the verdict is the median over the pairs of app first call / tutorial first call.
Target: <= 2 (and the app's warm call faster than the tutorial's warm loop).

    python bench/generation.py            # about 4 minutes on 2 CPU cores
    python bench/generation.py --cold     # the cold-start part only (about a minute)
    python bench/generation.py --quick    # a fast sanity run (not conclusive)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # before TensorFlow is imported anywhere

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import rnnapps  # noqa: E402

ALPHABET = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ .,;:!?'-\n&$3")[:63]


def make_generator(units):
    return rnnapps.TextGenerator.from_vocabulary(ALPHABET, cell="lstm", units=units, depth=1, embedding_dim=64)


def rerun_generate(generator, prompt_ids, new_tokens, seed):
    """(a) re-run the train model over the whole growing text for every new token."""
    model = generator.models.train

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)], reduce_retracing=True)
    def last_logits(ids):
        return model(ids, training=False)[:, -1, :]

    rng = np.random.default_rng(seed)
    ids = prompt_ids.copy()
    for _ in range(new_tokens):
        logits = last_logits(tf.constant(ids)).numpy().astype("float64")
        logits[:, :2] = -np.inf  # never padding / <unk>, as the app
        probs = np.exp(logits - logits.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        nxt = np.array([rng.choice(len(p), p=p) for p in probs], dtype="int32")
        ids = np.concatenate([ids, nxt[:, None]], axis=1)
    return ids


def compiled_step_functions(generator):
    """The compiled prefill and step calls of (b), built (and traced) once, not per run."""
    models = generator.models
    states_spec = [tf.TensorSpec([None, size], tf.float32) for size in models.state_sizes]

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)])
    def prefill(ids):
        return models.prefill(ids, training=False)

    @tf.function(input_signature=[tf.TensorSpec([None, 1], tf.int32)] + states_spec)
    def step(token, *states):
        return models.step([token] + list(states), training=False)

    return prefill, step


def python_loop_generate(compiled, prompt_ids, new_tokens, seed):
    """(b) carry the state, one compiled step call per token, sampling in Python."""
    prefill, step = compiled
    rng = np.random.default_rng(seed)
    outputs = prefill(tf.constant(prompt_ids))
    logits, states = outputs[0], outputs[1:]
    generated = []
    for _ in range(new_tokens):
        values = logits.numpy().astype("float64")
        values[:, :2] = -np.inf
        probs = np.exp(values - values.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        nxt = np.array([rng.choice(len(p), p=p) for p in probs], dtype="int32")
        generated.append(nxt)
        outputs = step(tf.constant(nxt[:, None]), *states)
        logits, states = outputs[0], outputs[1:]
    return np.stack(generated, axis=1)


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# -- cold start: each side in a fresh process ----------------------------------------------
COLD_PROMPT, COLD_TOKENS, COLD_TEMPERATURE, WARM_RUNS = "ROMEO:", 500, 0.8, 3


def cold_app(save_dir):
    """Child process: load the saved app, time its first and its warm `generate` calls."""
    started = time.perf_counter()
    generator = rnnapps.load(save_dir)
    loaded = time.perf_counter() - started

    def call():
        return generator.generate(COLD_PROMPT, max_length=COLD_TOKENS, temperature=COLD_TEMPERATURE)

    first = timed(call)
    warm = min(timed(call) for _ in range(WARM_RUNS))
    return {"setup": loaded, "first": first, "warm": warm, "chars": len(call()) - len(COLD_PROMPT)}


def tutorial_model(vocab_size, embedding_dim=256, units=512):
    """The TF "text generation" tutorial's model (`MyModel`), in Keras 3."""
    import keras

    class MyModel(keras.Model):
        def __init__(self):
            super().__init__()
            self.embedding = keras.layers.Embedding(vocab_size, embedding_dim)
            self.gru = keras.layers.GRU(units, return_sequences=True, return_state=True)
            self.dense = keras.layers.Dense(vocab_size)

        def call(self, inputs, states=None, return_state=False, training=False):
            x = self.embedding(inputs, training=training)
            if states is None:
                states = self.gru.get_initial_state(tf.shape(x)[0])
            x, states = self.gru(x, initial_state=states, training=training)
            x = self.dense(x, training=training)
            return (x, states) if return_state else x

    return MyModel()


def cold_tutorial():
    """Child process: the tutorial's `OneStep` loop: first 500-character loop, then warm loops."""
    started = time.perf_counter()
    import keras

    ids_from_chars = keras.layers.StringLookup(vocabulary=ALPHABET, mask_token=None)
    chars_from_ids = keras.layers.StringLookup(vocabulary=ids_from_chars.get_vocabulary(), invert=True, mask_token=None)
    model = tutorial_model(len(ids_from_chars.get_vocabulary()))
    model(tf.constant([[1]]))  # builds the weights, as the tutorial's fit has

    class OneStep(tf.Module):  # as in the tutorial
        def __init__(self, model, chars_from_ids, ids_from_chars, temperature=1.0):
            super().__init__()
            self.temperature, self.model = temperature, model
            self.chars_from_ids, self.ids_from_chars = chars_from_ids, ids_from_chars
            skip_ids = self.ids_from_chars(["[UNK]"])[:, None]
            sparse_mask = tf.SparseTensor(
                values=[-float("inf")] * len(skip_ids), indices=skip_ids, dense_shape=[len(ids_from_chars.get_vocabulary())]
            )
            self.prediction_mask = tf.sparse.to_dense(sparse_mask)

        @tf.function
        def generate_one_step(self, inputs, states=None):
            input_chars = tf.strings.unicode_split(inputs, "UTF-8")
            input_ids = self.ids_from_chars(input_chars).to_tensor()
            predicted_logits, states = self.model(inputs=input_ids, states=states, return_state=True)
            predicted_logits = predicted_logits[:, -1, :] / self.temperature + self.prediction_mask
            predicted_ids = tf.squeeze(tf.random.categorical(predicted_logits, num_samples=1), axis=-1)
            return self.chars_from_ids(predicted_ids), states

    one_step = OneStep(model, chars_from_ids, ids_from_chars, temperature=COLD_TEMPERATURE)
    setup = time.perf_counter() - started

    def call():
        states, next_char, result = None, tf.constant([COLD_PROMPT]), [tf.constant([COLD_PROMPT])]
        for _ in range(COLD_TOKENS):
            next_char, states = one_step.generate_one_step(next_char, states=states)
            result.append(next_char)
        return tf.strings.join(result)[0].numpy().decode("utf-8")

    first = timed(call)
    warm = min(timed(call) for _ in range(WARM_RUNS))
    return {"setup": setup, "first": first, "warm": warm, "chars": len(call()) - len(COLD_PROMPT)}


def run_child(side, save_dir):
    """One measurement in a fresh interpreter; returns its JSON result."""
    command = [sys.executable, os.path.abspath(__file__), "--child", side, "--save-dir", save_dir]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def bench_cold(repeats):
    """Fresh-process first calls of the app and of the tutorial's OneStep loop; True when on target."""
    save_dir = os.path.join(tempfile.mkdtemp(prefix="rnnapps-cold-"), "lm")
    rnnapps.TextGenerator.from_vocabulary(ALPHABET).save(save_dir)  # the default model: GRU(512), embedding 256
    print(
        f"\ncold start: fresh process per run, {COLD_TOKENS} new characters at temperature {COLD_TEMPERATURE} "
        f"from {COLD_PROMPT!r}, default TextGenerator() (GRU(512), embedding 256, {len(ALPHABET) + 2} ids) "
        f"vs the tutorial's OneStep loop on GRU(512); {repeats} pairs, alternating"
    )
    rows = {"app": [], "tutorial": []}
    for repeat in range(repeats):
        order = ("app", "tutorial") if repeat % 2 == 0 else ("tutorial", "app")
        for side in order:
            rows[side].append(run_child(side, save_dir))
    header = f"  {'':<10}{'setup s':>9}{'first call s':>14}{'warm s':>9}{'warm chars/s':>14}   (setup: rnnapps.load / tutorial model build; TF imported before)"
    print(header)
    for side in ("app", "tutorial"):
        for row in rows[side]:
            print(f"  {side:<10}{row['setup']:>9.2f}{row['first']:>14.3f}{row['warm']:>9.3f}{row['chars'] / row['warm']:>14,.0f}")
    ratios = [a["first"] / t["first"] for a, t in zip(rows["app"], rows["tutorial"])]
    warm = [t["warm"] / a["warm"] for a, t in zip(rows["app"], rows["tutorial"])]
    ratio = statistics.median(ratios)
    first_app = statistics.median(r["first"] for r in rows["app"])
    first_tutorial = statistics.median(r["first"] for r in rows["tutorial"])
    print(
        f"  median first call: app {first_app:.3f} s, tutorial {first_tutorial:.3f} s; "
        f"app/tutorial first call {ratio:.2f}x (target <= 2) {'PASS' if ratio <= 2 else 'FAIL'}"
    )
    print(f"  warm: app {statistics.median(warm):.1f}x the tutorial's speed (target > 1) {'PASS' if statistics.median(warm) > 1 else 'FAIL'}")
    return ratio <= 2 and statistics.median(warm) > 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--new-tokens", type=int, default=500)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="100 tokens, 1 repeat: a sanity run only")
    parser.add_argument("--cold", action="store_true", help="only the cold-start (fresh process) measurement")
    parser.add_argument("--cold-repeats", type=int, default=3, help="fresh-process app/tutorial pairs (default 3)")
    parser.add_argument("--child", choices=("app", "tutorial"), help=argparse.SUPPRESS)
    parser.add_argument("--save-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(cold_app(args.save_dir) if args.child == "app" else cold_tutorial()))
        return 0
    if args.quick:
        args.new_tokens, args.repeats, args.cold_repeats = 100, 1, 1
    print(f"rnnapps {rnnapps.__version__}, tensorflow {tf.__version__}, {os.cpu_count()} CPUs{' (quick: not conclusive)' if args.quick else ''}")
    cold_passed = bench_cold(args.cold_repeats)
    if args.cold:
        return 0 if cold_passed else 1
    generator = make_generator(args.units)
    prompt = "ROMEO:\n"
    export_dir = generator.export(tempfile.mkdtemp(prefix="rnnapps-bench-"), "generation")
    exported = tf.saved_model.load(export_dir).signatures["generate"]

    compiled = compiled_step_functions(generator)
    results, passed = {}, True
    for batch in args.batches:
        prompts = [prompt] * batch
        prompt_ids = generator.vectorizer.vectorize(tf.constant(prompts)).to_tensor().numpy()
        knobs = dict(max_length=args.new_tokens, temperature=1.0, seed=3)

        def in_graph():
            generator.generate(prompts, **knobs)

        def export_run():
            exported(
                prompt=tf.constant(prompts), max_length=tf.constant(args.new_tokens), temperature=tf.constant(1.0),
                top_k=tf.constant(0), top_p=tf.constant(1.0), seed=tf.constant(3, tf.int64),
            )

        ways = {
            "in-graph": in_graph,
            "exported": export_run,
            "(b) python loop": lambda: python_loop_generate(compiled, prompt_ids, args.new_tokens, 3),
            "(a) re-run": lambda: rerun_generate(generator, prompt_ids, args.new_tokens, 3),
        }
        for fn in ways.values():  # warm-up: tracing and first-call costs are not timed
            if fn is ways["(a) re-run"]:
                rerun_generate(generator, prompt_ids, 5, 3)
            else:
                fn()
        best = {name: float("inf") for name in ways}
        for _ in range(args.repeats):
            for name, fn in ways.items():
                best[name] = min(best[name], timed(fn))
        tokens = batch * args.new_tokens
        print(f"\nbatch {batch}: {args.new_tokens} new tokens per prompt, LSTM({args.units}), best of {args.repeats}")
        for name in ways:
            print(f"  {name:<16} {best[name]:8.3f} s  {tokens / best[name]:10,.0f} tokens/s")
        results[batch] = {name: tokens / best[name] for name in ways}
        ratios = {
            "in-graph/(a) re-run": results[batch]["in-graph"] / results[batch]["(a) re-run"],
            "in-graph/(b) python loop": results[batch]["in-graph"] / results[batch]["(b) python loop"],
            "exported/in-graph": results[batch]["exported"] / results[batch]["in-graph"],
        }
        targets = {"in-graph/(a) re-run": 50.0, "in-graph/(b) python loop": 10.0, "exported/in-graph": 0.85}
        for label, ratio in ratios.items():
            target = targets[label] if (batch == 1 or label == "exported/in-graph") else None
            verdict = "" if target is None else (" PASS" if ratio >= target else " FAIL")
            passed &= target is None or ratio >= target
            print(f"  {label:<26} {ratio:7.2f}x" + (f" (target >= {target}){verdict}" if target else ""))
    return 0 if passed and cold_passed else 1


if __name__ == "__main__":
    sys.exit(main())
