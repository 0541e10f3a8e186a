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

    python bench/generation.py            # about 3 minutes on 2 CPU cores
    python bench/generation.py --quick    # a fast sanity run (not conclusive)
"""

import argparse
import os
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--new-tokens", type=int, default=500)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="100 tokens, 1 repeat: a sanity run only")
    args = parser.parse_args(argv)
    if args.quick:
        args.new_tokens, args.repeats = 100, 1
    print(f"rnnapps {rnnapps.__version__}, tensorflow {tf.__version__}, {os.cpu_count()} CPUs{' (quick: not conclusive)' if args.quick else ''}")
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
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
