#!/usr/bin/env python
"""Training throughput of rnnapps, measured side by side in one run.

Two benchmarks, both in real (non-padding) tokens per second, first epoch of every run
excluded (tracing, tf.data cache filling):

1. app vs hand-written: `rnnapps.SentimentClassifier.fit` on raw texts (its own
   pipeline, default length-sorted batching) against a plain `keras.Model` of the same
   architecture (Embedding(mask_zero=True) -> LSTM -> Dense softmax, Adam(clipnorm=1.0))
   fed the very same id batches: they are built once with the package's pipeline, with
   the fitted app's vectorizer and the app's shuffling seed, so both sides see the same
   batches, epoch by epoch. Target: app/hand-written >= 0.95. The app runs without its
   default bag-of-n-grams head (`ngram_buckets=0`), which the hand-written model lacks. (Same parameters and
   results; the app's builder runs the LSTM loop without the mask and reads each row's
   last valid step, which is cheaper: see bench/README.md.)
2. bucketed vs pad-to-max: one model trained on `make_training_batches` with its
   default length-sorted batches against `pad_to=max_len`, on texts whose lengths
   vary 10x. Target: bucketed/pad-to-max >= 1.3.
3. the language model (`--bench lm`), on a synthetic character corpus (documents from a
   random Markov chain over 63 characters; a step's cost depends on lengths and
   vocabulary only), batch 64, windows of 100, real tokens = non-padding targets:
   [3] `rnnapps.TextGenerator.fit` (today's default `TextGenerator()`: GRU(512), depth 1,
   embedding 256; its own pipeline and callbacks) against a plain `keras.Sequential` of
   the same architecture (Embedding(mask_zero=True) -> GRU -> Dense logits,
   Adam(2e-3, clipnorm=1.0), the same masked loss) fed the very same windows, cut once
   by the package's `lm_windows` with the app's vectorizer and seed. Target >= 0.95.
   [4] the app with per-layer gradient norms (`grad_norm/<layer>`) against the app
   logging the global norm only: what per-layer logging costs, from whole epochs of
   `fit` (callbacks included) and from process CPU time of `train_on_batch` steps on one
   batch in alternating blocks. Target (epochs): <= 3% of a step.
   [5] the default LM before issue 14 (`cell="lstm", units=256, depth=2,
   embedding_dim=128`) against today's: both through `TextGenerator.fit` (no target).

How it stays fair on a noisy machine:
- the two sides of a comparison train in two threads that take turns epoch by epoch
  (A1 B1 A2 B2 ...; never at the same time), so both meet the same load; the side
  going first alternates between repeats;
- a run's speed comes from its fastest timed epoch: noise only ever adds time (on the
  2-core VM this was written on, ~40% of Keras epochs wait ~0.8 s, idle, for their first
  batch, in plain Keras as in the app), and the verdict is the median over the repeats
  of the per-repeat ratios. The ratio from each run's median epoch and the ratio of
  tokens per CPU-second of this process are printed next to it.
Exits with status 1 when a target is missed.

    python bench/train_throughput.py            # defaults: about ten minutes on 2 CPU cores
    python bench/train_throughput.py --bench lm # the language-model benches only (about five minutes)
    python bench/train_throughput.py --quick    # a fast sanity run (not conclusive)
"""

import argparse
import os
import statistics
import sys
import threading
import time
import warnings

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # before TensorFlow is imported anywhere

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import rnnapps  # noqa: E402
from rnnapps.builders import ClassifierSpec, build_classifier  # noqa: E402
from rnnapps.data import encode_labels, from_lists, lm_windows, make_training_batches, text_corpus  # noqa: E402
from rnnapps.text import TextVectorizer  # noqa: E402

CUES_PER_TEXT = 3  # class-specific words planted in every text, so the labels are learnable
RNN_LAYERS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "simple": keras.layers.SimpleRNN}


# -- data ------------------------------------------------------------------------------
def synthetic_corpus(num_texts, min_words, max_words, vocab_size, num_classes, seed):
    """Texts of uniformly `min_words..max_words` words from a Zipf-distributed vocabulary.

    Each text also carries a few cue words of its class ("c2x7") in place of ordinary
    words, so the labels can be learned; every word is exactly one token.
    """
    rng = np.random.default_rng(seed)
    frequencies = 1.0 / np.arange(1, vocab_size + 1)
    lengths = rng.integers(min_words, max_words + 1, size=num_texts)
    words = rng.choice(vocab_size, size=int(lengths.sum()), p=frequencies / frequencies.sum())
    classes = rng.integers(0, num_classes, size=num_texts)
    texts, start = [], 0
    for length, label in zip(lengths, classes):
        tokens = [f"w{i}" for i in words[start : start + length]]
        start += length
        for position in rng.choice(length, size=min(CUES_PER_TEXT, length), replace=False):
            tokens[position] = f"c{label}x{rng.integers(0, 10)}"
        texts.append(" ".join(tokens))
    return texts, [f"class{c}" for c in classes]


# -- measuring -------------------------------------------------------------------------
class Baton:
    """Strict turn-taking between threads: only the side holding the baton works.

    The two sides of a comparison train in two threads that hand the baton over after
    every epoch, so their timed epochs alternate (A1 B1 A2 B2 ...) and meet nearly the
    same load from other processes, while never running at the same time.
    """

    def __init__(self, order):
        self._order = list(order)
        self._turn = self._order[0]
        self._done = set()
        self._condition = threading.Condition()

    def wait(self, side):
        with self._condition:
            self._condition.wait_for(lambda: self._turn == side)

    def pass_on(self, side):
        with self._condition:
            if self._turn == side:
                start = self._order.index(side)
                for step in range(1, len(self._order) + 1):
                    candidate = self._order[(start + step) % len(self._order)]
                    if candidate not in self._done:
                        self._turn = candidate
                        break
            self._condition.notify_all()

    def finish(self, side):
        with self._condition:
            self._done.add(side)
        self.pass_on(side)


class EpochTimer(keras.callbacks.Callback):
    """Wall and process-CPU time of every epoch, taking turns through a `Baton`.

    Passed last, so for the app it also times the app's own callbacks' epoch work. CPU
    time counts all threads of this process (tf.data included); only one side works at
    a time, so it is that side's.
    """

    def __init__(self, baton, side, epochs):
        super().__init__()
        self.baton, self.side, self.epochs = baton, side, epochs
        self.wall, self.cpu = [], []
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        if epoch > 0:
            self.baton.wait(self.side)
        self._start = (time.perf_counter(), time.process_time())

    def on_epoch_end(self, epoch, logs=None):
        self.wall.append(time.perf_counter() - self._start[0])
        self.cpu.append(time.process_time() - self._start[1])
        if epoch < self.epochs - 1:  # after the last epoch the baton passes once fit() has returned
            self.baton.pass_on(self.side)

    def speeds(self, tokens_per_epoch):
        """Real tokens per second over the epochs but the first (tracing, cache filling).

        Returns a dict: `best`, from the fastest epoch (stalls only ever add time, so it
        is the steadiest estimate on a noisy machine); `median`, from the median epoch;
        `cpu`, tokens per CPU-second of the median epoch.
        """
        if len(self.wall) < 2:
            raise RuntimeError(f"{self.side} ran {len(self.wall)} epoch(s): need 2, the first is not timed")
        return {
            "best": tokens_per_epoch / min(self.wall[1:]),
            "median": tokens_per_epoch / statistics.median(self.wall[1:]),
            "cpu": tokens_per_epoch / statistics.median(self.cpu[1:]),
        }


def busy_cpu_seconds():
    """CPU-seconds all processes of the machine have used so far (Linux), or None."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            values = [int(v) for v in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def fresh_state(seed):
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)


def run_pair(order, train, epochs, seed):
    """Trains both sides in turn-taking threads; returns their `EpochTimer`s and the other load.

    `train(side, timer)` builds and fits one side with `timer` among its callbacks.
    Other load: cores' worth of CPU that other processes used meanwhile.
    """
    fresh_state(seed)
    baton = Baton(order)
    timers = {side: EpochTimer(baton, side, epochs) for side in order}
    errors = []

    def work(side):
        baton.wait(side)  # setup counts as part of the turn: it never overlaps a timed epoch
        try:
            train(side, timers[side])
        except BaseException as error:  # re-raised in the main thread
            errors.append(error)
        finally:
            baton.finish(side)

    threads = [threading.Thread(target=work, args=(side,), name=f"bench-{side}") for side in order]
    started, ours, busy = time.perf_counter(), time.process_time(), busy_cpu_seconds()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    wall, ours = time.perf_counter() - started, time.process_time() - ours
    other = None if busy is None else max(0.0, (busy_cpu_seconds() - busy - ours) / wall)
    return timers, other


def interleaved(names, repeats, train, tokens, args):
    """`repeats` turn-taking pairs, alternating which side goes first; one row per repeat."""
    rows = []
    for repeat in range(repeats):
        order = names if repeat % 2 == 0 else names[::-1]
        timers, other = run_pair(order, train, args.epochs, args.seed)
        load = "" if other is None else f", other processes used {other:.2f} cores"
        print(f"    repeat {repeat + 1} ({','.join(order)}{load}):", flush=True)
        speeds = {}
        for name in names:
            speeds[name] = timers[name].speeds(tokens)
            print(
                f"      {name:<13}{speeds[name]['best']:>9,.0f} tok/s best, {speeds[name]['median']:>9,.0f} median, "
                f"{speeds[name]['cpu']:>9,.0f} tok/cpu-s; epochs (wall/cpu s) "
                + " ".join(f"{w:.2f}/{c:.2f}" for w, c in zip(timers[name].wall, timers[name].cpu)),
                flush=True,
            )
        a, b = (speeds[name] for name in names)
        rows.append(
            dict(
                order=",".join(order), first=a["best"], second=b["best"], ratio=a["best"] / b["best"],
                median_ratio=a["median"] / b["median"], cpu_ratio=a["cpu"] / b["cpu"],
            )
        )
    return rows


# -- bench 1: the app against a hand-written Keras model ---------------------------------
def fit_app(args, texts, labels, epochs=None, callbacks=None):
    """The real app path: raw texts in, the app's own pipeline, default bucketing."""
    # ngram_buckets=0: the recurrent classifier alone, the architecture the hand-written side
    # has (the default's bag-of-n-grams head is a second model beside it, not fit overhead).
    clf = rnnapps.SentimentClassifier(
        cell=args.cell, units=args.units, embedding_dim=args.embedding_dim, ngram_buckets=0
    )
    # validation_split=0: both sides train on all texts and neither validates per epoch.
    clf.fit(
        texts, labels, epochs=epochs or args.epochs, batch_size=args.batch_size, validation_split=0.0,
        seed=args.seed, verbose=0, callbacks=callbacks,
    )
    return clf


def app_batches(clf, texts, labels, args):
    """The app's training batches, epoch by epoch, as numpy arrays.

    Same vectorizer, label encoding, length-sorted batching and shuffling seed as inside
    `SentimentClassifier.fit`, in a fresh pipeline: its k-th pass yields the app's k-th
    epoch (checked batch for batch while writing this bench).
    """
    encoder = encode_labels(clf.label_names, clf.task)
    dataset = make_training_batches(
        from_lists(texts, labels).dataset, clf.vectorizer, encoder, args.batch_size, seed=args.seed,
    )
    epochs = [[(ids.numpy(), target.numpy()) for ids, target in dataset] for _ in range(args.epochs)]
    return epochs


def plain_model(vocabulary_size, num_classes, args):
    """The same architecture as the app's, written with nothing but stock Keras."""
    model = keras.Sequential(
        [
            keras.Input(shape=(None,), dtype="int32"),
            keras.layers.Embedding(vocabulary_size, args.embedding_dim, mask_zero=True),
            RNN_LAYERS[args.cell](args.units),
            keras.layers.Dense(num_classes, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3, clipnorm=1.0),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def replay(epochs):
    """A dataset replaying pre-built batches: its k-th iteration yields epoch k's batches."""
    passes = []

    def generate():
        passes.append(None)
        yield from epochs[min(len(passes), len(epochs)) - 1]

    ids, target = epochs[0][0]
    signature = (
        tf.TensorSpec((None, None), tf.as_dtype(ids.dtype)),
        tf.TensorSpec((None,) + target.shape[1:], tf.as_dtype(target.dtype)),
    )
    return tf.data.Dataset.from_generator(generate, output_signature=signature).prefetch(tf.data.AUTOTUNE), passes


def fit_plain(args, epochs, vocabulary_size, num_classes, callbacks):
    """Standard `model.fit` of the hand-written model on the app's batches."""
    model = plain_model(vocabulary_size, num_classes, args)
    dataset, passes = replay(epochs)
    model.fit(dataset, epochs=args.epochs, verbose=0, callbacks=callbacks, shuffle=False)
    if len(passes) != args.epochs:
        raise RuntimeError(f"the replayed batches were read {len(passes)} times for {args.epochs} epochs")


def bench_app(args, texts, labels):
    print(
        f"\n[1] SentimentClassifier.fit vs hand-written Keras: {args.cell}({args.units}), embedding "
        f"{args.embedding_dim}, batch {args.batch_size}, {len(texts)} texts, {args.epochs} epochs per run "
        f"(first not timed), {args.repeats} repeats, epochs interleaved",
        flush=True,
    )
    # A first app fit (untimed) yields the vectorizer and labels the shared batches need.
    fresh_state(args.seed)
    setup = fit_app(args, texts, labels, epochs=1)
    epochs = app_batches(setup, texts, labels, args)
    real = [sum(int((ids != 0).sum()) for ids, _ in batches) for batches in epochs]
    padded = [sum(ids.size for ids, _ in batches) for batches in epochs]
    if len(set(real)) != 1:
        raise RuntimeError(f"real tokens differ between epochs: {real}")
    tokens = real[0]
    vocabulary_size, num_classes = setup.vectorizer.vocabulary_size, len(setup.label_names)
    app_params = setup.model.count_params()
    plain_params = plain_model(vocabulary_size, num_classes, args).count_params()
    print(
        f"    real tokens/epoch {tokens:,}; padding {1 - tokens / statistics.mean(padded):.1%} "
        f"(length-sorted batches); parameters: app {app_params:,}, hand-written {plain_params:,}",
        flush=True,
    )
    if app_params != plain_params:
        print("    WARNING: the two models differ in size: the comparison is not like for like", flush=True)

    def train(side, timer):
        if side == "app":
            fit_app(args, texts, labels, callbacks=[timer])
        else:
            fit_plain(args, epochs, vocabulary_size, num_classes, [timer])

    return interleaved(("app", "hand-written"), args.repeats, train, tokens, args)


# -- bench 2: bucketed vs pad-to-max batching ------------------------------------------
def bench_bucketing(args, texts, labels):
    vectorizer = TextVectorizer(level="word")
    vectorizer.adapt(texts)
    label_names = sorted(set(labels))
    encoder = encode_labels(label_names, "multiclass")
    examples = from_lists(texts, labels).dataset
    lengths = vectorizer.vectorize(tf.constant(texts)).row_lengths().numpy()
    max_len, tokens = int(lengths.max()), int(lengths.sum())
    options = {"bucketed": {}, "pad-to-max": {"sort_chunk": None, "pad_to": max_len}}

    def batches(mode):
        return make_training_batches(examples, vectorizer, encoder, args.batch_size, seed=args.seed, **options[mode])

    padded = {mode: sum(int(np.prod(ids.shape)) for ids, _ in batches(mode)) for mode in options}
    print(
        f"\n[2] bucketed vs pad-to-max batching: {args.cell}({args.units}), embedding {args.embedding_dim}, "
        f"batch {args.batch_size}, {len(texts)} texts of {lengths.min()}..{max_len} tokens, "
        f"{args.epochs} epochs per run (first not timed), {args.repeats} repeats, epochs interleaved\n"
        f"    real tokens/epoch {tokens:,}; padding: bucketed {1 - tokens / padded['bucketed']:.1%} "
        f"(length-sorted chunks), pad-to-max {1 - tokens / padded['pad-to-max']:.1%} "
        f"(pad_to={max_len}); padded steps pad-to-max/bucketed {padded['pad-to-max'] / padded['bucketed']:.2f}x",
        flush=True,
    )

    def train(mode, timer):
        # The package's own classifier, the same for both modes: only the batching differs.
        spec = ClassifierSpec(cell=args.cell, units=args.units, embedding_dim=args.embedding_dim)
        model = build_classifier(vectorizer.vocabulary_size, len(label_names), "multiclass", spec)
        model.fit(batches(mode), epochs=args.epochs, verbose=0, callbacks=[timer], shuffle=False)

    return interleaved(("bucketed", "pad-to-max"), args.repeats, train, tokens, args)


# -- bench 3: the language model -------------------------------------------------------
LM_ALPHABET = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ .,;:!?'-\n")
# The default LM before issue 14 and today's (TextGenerator()): tokens/s of both.
OLD_DEFAULT_LM = dict(cell="lstm", units=256, depth=2, embedding_dim=128)
NEW_DEFAULT_LM = dict(cell="gru", units=512, depth=1, embedding_dim=256)


def synthetic_text(num_chars, num_documents, seed):
    """Documents of characters drawn from a random first-order Markov chain (learnable, CPU-cheap).

    Each character follows the previous one with sparse, Dirichlet(0.1) probabilities
    over a 63-character alphabet, so the model has something to fit; the cost of a
    training step does not depend on what the text says, only on its length and alphabet.
    """
    rng = np.random.default_rng(seed)
    size = len(LM_ALPHABET)
    cumulative = np.cumsum(rng.dirichlet(np.full(size, 0.1), size=size), axis=1)
    draws = rng.random(num_chars)
    chars, current = [], 0
    for value in draws:
        current = min(int(np.searchsorted(cumulative[current], value)), size - 1)
        chars.append(LM_ALPHABET[current])
    text = "".join(chars)
    step = -(-num_chars // num_documents)
    return [text[i : i + step] for i in range(0, num_chars, step)]


def lm_architecture(args, architecture):
    return dict(architecture, sequence_length=args.lm_sequence_length)


def fit_lm_app(args, documents, vocabulary, architecture, callbacks, per_layer=True):
    """`TextGenerator.fit` on raw documents (its own pipeline and callbacks), validation off.

    The vocabulary is given (`from_vocabulary`) so that the bench can cut the very same
    windows with the same vectorizer; `fit` then only counts the corpus, before the
    first (untimed) epoch. `per_layer=False` logs the global gradient norm only.
    """
    generator = rnnapps.TextGenerator.from_vocabulary(vocabulary, **lm_architecture(args, architecture))
    if not per_layer:
        global_norm_only(generator.models.train)
    generator.fit(
        documents, epochs=args.lm_epochs, batch_size=args.batch_size, validation_split=0.0,
        early_stopping_patience=None, seed=args.seed, verbose=0, callbacks=callbacks,
    )
    return generator


def global_norm_only(model):
    """Makes a `GradNormModel` log `grad_norm` alone (no `grad_norm/<layer>`), before its first fit."""
    from rnnapps.training.model import GRAD_NORM, GradientNormMean

    model._metrics.remove(model.grad_norm_tracker)  # noqa: SLF001  the old tracker would still log its keys
    model._grad_layer_of, model._grad_layers = {}, []  # noqa: SLF001
    model.grad_norm_tracker = GradientNormMean([GRAD_NORM])


def lm_batches(generator, documents, args):
    """The app's LM training windows, epoch by epoch, as numpy arrays (its pipeline, vectorizer and seed)."""
    dataset = lm_windows(
        text_corpus(documents), generator.vectorizer, args.lm_sequence_length, args.batch_size, shuffle=True, seed=args.seed,
    )
    return [[(ids.numpy(), target.numpy()) for ids, target in dataset] for _ in range(args.lm_epochs)]


def plain_lm(vocabulary_size, args, architecture):
    """The app's LM architecture in stock Keras: Embedding(mask_zero) -> RNN layers -> Dense logits."""
    layers = [
        keras.Input(shape=(None,), dtype="int32"),
        keras.layers.Embedding(vocabulary_size, architecture["embedding_dim"], mask_zero=True),
    ]
    layers += [RNN_LAYERS[architecture["cell"]](architecture["units"], return_sequences=True) for _ in range(architecture["depth"])]
    model = keras.Sequential(layers + [keras.layers.Dense(vocabulary_size)])
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=2e-3, clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
    )
    return model


def lm_real_tokens(epochs):
    """Real (non-padding) target tokens per epoch; they must be the same in every epoch."""
    real = [sum(int((target != 0).sum()) for _, target in batches) for batches in epochs]
    padded = [sum(target.size for _, target in batches) for batches in epochs]
    if len(set(real)) != 1:
        raise RuntimeError(f"real tokens differ between epochs: {real}")
    return real[0], 1 - real[0] / statistics.mean(padded)


def bench_lm(args):
    """Three LM comparisons: app vs hand-written, per-layer norms vs global only, old vs new default."""
    documents = synthetic_text(args.lm_chars, args.lm_documents, args.seed)
    vocabulary = sorted(set("".join(documents)))
    fresh_state(args.seed)
    setup = rnnapps.TextGenerator.from_vocabulary(vocabulary, **lm_architecture(args, NEW_DEFAULT_LM))
    epochs = lm_batches(setup, documents, args)
    tokens, padding = lm_real_tokens(epochs)
    vocabulary_size = setup.vectorizer.vocabulary_size
    app_params = setup.models.train.count_params()
    plain_params = plain_lm(vocabulary_size, args, NEW_DEFAULT_LM).count_params()
    head = (
        f"batch {args.batch_size}, sequence {args.lm_sequence_length}, {args.lm_chars:,} characters in "
        f"{args.lm_documents} documents ({vocabulary_size} ids), {args.lm_epochs} epochs per run (first not timed), "
        f"{args.repeats} repeats, epochs interleaved"
    )
    print(
        f"\n[3] TextGenerator.fit vs hand-written Keras, default LM {describe_lm(NEW_DEFAULT_LM)}: {head}\n"
        f"    real tokens/epoch {tokens:,} ({len(epochs[0])} batches; padding {padding:.1%}); parameters: "
        f"app {app_params:,}, hand-written {plain_params:,}",
        flush=True,
    )
    if app_params != plain_params:
        print("    WARNING: the two models differ in size: the comparison is not like for like", flush=True)
    del setup

    def train_app_vs_plain(side, timer):
        if side == "app":
            fit_lm_app(args, documents, vocabulary, NEW_DEFAULT_LM, [timer])
        else:
            model = plain_lm(vocabulary_size, args, NEW_DEFAULT_LM)
            dataset, passes = replay(epochs)
            model.fit(dataset, epochs=args.lm_epochs, verbose=0, callbacks=[timer], shuffle=False)
            if len(passes) != args.lm_epochs:
                raise RuntimeError(f"the replayed batches were read {len(passes)} times for {args.lm_epochs} epochs")

    lm_args = argparse.Namespace(**dict(vars(args), epochs=args.lm_epochs))
    rows = {"app": interleaved(("app", "hand-written"), args.repeats, train_app_vs_plain, tokens, lm_args)}

    print(f"\n[4] gradient-norm logging: TextGenerator.fit with per-layer norms every step vs the global norm only: {head}", flush=True)

    def train_norms(side, timer):
        fit_lm_app(args, documents, vocabulary, NEW_DEFAULT_LM, [timer], per_layer=side == "per-layer")

    rows["norms"] = interleaved(("per-layer", "global-only"), args.repeats, train_norms, tokens, lm_args)
    rows["norm_steps"] = step_cpu_times(args, vocabulary, epochs[0][0])

    print(
        f"\n[5] default LM before/after issue 14: TextGenerator() {describe_lm(NEW_DEFAULT_LM)} vs the old default "
        f"{describe_lm(OLD_DEFAULT_LM)}, both TextGenerator.fit: {head}",
        flush=True,
    )

    def train_defaults(side, timer):
        fit_lm_app(args, documents, vocabulary, NEW_DEFAULT_LM if side == "new default" else OLD_DEFAULT_LM, [timer])

    rows["defaults"] = interleaved(("new default", "old default"), args.repeats, train_defaults, tokens, lm_args)
    return rows


def step_cpu_times(args, vocabulary, batch):
    """Process CPU seconds of one `train_on_batch` step, per-layer norms vs global only.

    Finer than whole epochs for an effect of a few percent: the two models train on one
    fixed batch in alternating blocks of `--step-block` steps (CPU time: other processes'
    load adds little), after one untimed step each; returns `{side: [seconds per step
    of each block]}`.
    """
    fresh_state(args.seed)
    models = {}
    for side in ("per-layer", "global-only"):
        generator = rnnapps.TextGenerator.from_vocabulary(vocabulary, **lm_architecture(args, NEW_DEFAULT_LM))
        if side == "global-only":
            global_norm_only(generator.models.train)
        models[side] = generator.models.train
    ids, target = batch
    for model in models.values():
        model.train_on_batch(ids, target)
    times = {side: [] for side in models}
    for block in range(args.step_blocks):
        for side in (("per-layer", "global-only") if block % 2 == 0 else ("global-only", "per-layer")):
            started = time.process_time()
            for _ in range(args.step_block):
                models[side].train_on_batch(ids, target)
            times[side].append((time.process_time() - started) / args.step_block)
    return times


def describe_lm(architecture):
    return (
        f"{architecture['cell'].upper()}({architecture['units']}) x{architecture['depth']}, "
        f"embedding {architecture['embedding_dim']}"
    )


# -- report ----------------------------------------------------------------------------
def print_table(title, names, rows):
    """Per-repeat tokens/s and ratios, then the medians; returns the median of the ratios."""
    header = (
        f"{'repeat':>6}  {'order':<21} {names[0] + ' tok/s':>18} {names[1] + ' tok/s':>18} "
        f"{'ratio':>7} {'median-epoch':>12} {'cpu-s':>7}"
    )
    print(f"\n{title}\n{header}\n{'-' * len(header)}")
    for repeat, row in enumerate(rows, 1):
        print(
            f"{repeat:>6}  {row['order']:<21} {row['first']:>18,.0f} {row['second']:>18,.0f} "
            f"{row['ratio']:>7.3f} {row['median_ratio']:>12.3f} {row['cpu_ratio']:>7.3f}"
        )
    keys = ("first", "second", "ratio", "median_ratio", "cpu_ratio")
    medians = {key: statistics.median(row[key] for row in rows) for key in keys}
    print(
        f"{'median':>6}  {'':<21} {medians['first']:>18,.0f} {medians['second']:>18,.0f} "
        f"{medians['ratio']:>7.3f} {medians['median_ratio']:>12.3f} {medians['cpu_ratio']:>7.3f}"
    )
    return medians["ratio"]


def verdict(label, ratio, target):
    passed = ratio >= target
    print(f"{label} ratio: {ratio:.2f} (target >= {target}) {'PASS' if passed else 'FAIL'}")
    return passed


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--bench", choices=("all", "app", "bucketing", "lm"), default="all", help="which benchmark(s) to run")
    parser.add_argument("--texts", type=int, default=3000, help="synthetic texts (default 3000)")
    parser.add_argument("--min-words", type=int, default=20, help="shortest text in words (default 20)")
    parser.add_argument("--max-words", type=int, default=200, help="longest text in words (default 200)")
    parser.add_argument("--vocab-size", type=int, default=5000, help="synthetic vocabulary size (default 5000)")
    parser.add_argument("--classes", type=int, default=3, help="classes, >= 3 so the app's head is a softmax too (default 3)")
    parser.add_argument("--cell", choices=sorted(RNN_LAYERS), default="lstm", help="recurrent cell (default lstm)")
    parser.add_argument("--units", type=int, default=64, help="recurrent units (default 64)")
    parser.add_argument("--embedding-dim", type=int, default=64, help="embedding width (default 64)")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size (default 64)")
    parser.add_argument("--epochs", type=int, default=8, help="epochs per run, the first not timed (default 8)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats per side (default 3)")
    parser.add_argument("--seed", type=int, default=1234, help="seed of data, weights and shuffling (default 1234)")
    parser.add_argument("--app-target", type=float, default=0.95, help="minimum app/hand-written ratio (default 0.95)")
    parser.add_argument("--bucket-target", type=float, default=1.3, help="minimum bucketed/pad-to-max ratio (default 1.3)")
    parser.add_argument("--lm-chars", type=int, default=64_000, help="LM bench: synthetic characters (default 64000)")
    parser.add_argument("--lm-documents", type=int, default=8, help="LM bench: documents they are cut into (default 8)")
    parser.add_argument("--lm-sequence-length", type=int, default=100, help="LM bench: window length (default 100)")
    parser.add_argument("--lm-epochs", type=int, default=4, help="LM bench: epochs per run, the first not timed (default 4)")
    parser.add_argument("--lm-target", type=float, default=0.95, help="minimum LM app/hand-written ratio (default 0.95)")
    parser.add_argument("--norm-cost", type=float, default=0.03, help="maximum cost of per-layer gradient norms (default 0.03)")
    parser.add_argument("--step-blocks", type=int, default=20, help="LM bench: alternating blocks of train_on_batch steps (default 20)")
    parser.add_argument("--step-block", type=int, default=3, help="LM bench: steps per block (default 3)")
    parser.add_argument("--quick", action="store_true", help="fast sanity run: 800 texts, 2 epochs, 1 repeat")
    args = parser.parse_args(argv)
    if args.quick:
        args.texts, args.epochs, args.repeats = min(args.texts, 800), 2, 1
        args.lm_chars, args.lm_epochs, args.step_blocks = min(args.lm_chars, 13_000), 2, 2
    if args.classes < 3:
        parser.error("--classes must be >= 3: with 2 the app uses a sigmoid head, not the baseline's softmax")
    if args.epochs < 2 or args.lm_epochs < 2:
        parser.error("--epochs and --lm-epochs must be >= 2: the first epoch of every run is not timed")
    if args.lm_chars < args.lm_documents * (args.lm_sequence_length + 1):
        parser.error("--lm-chars must give every document at least one window of --lm-sequence-length + 1")
    if args.repeats < 1 or args.texts < 1 or not 1 <= args.min_words <= args.max_words:
        parser.error("need --repeats >= 1, --texts >= 1 and 1 <= --min-words <= --max-words")
    return args


def main(argv=None):
    args = parse_args(argv)
    # Datasets of unknown length make Keras warn at the end of each first epoch: expected here.
    warnings.filterwarnings("ignore", message=".*ran out of data.*")
    started = time.perf_counter()
    texts, labels = synthetic_corpus(args.texts, args.min_words, args.max_words, args.vocab_size, args.classes, args.seed)
    print(
        f"rnnapps {rnnapps.__version__}, keras {keras.__version__}, tensorflow {tf.__version__}, "
        f"{os.cpu_count()} CPUs{' (quick mode: not conclusive)' if args.quick else ''}",
        flush=True,
    )
    app_rows = bench_app(args, texts, labels) if args.bench in ("all", "app") else None
    bucket_rows = bench_bucketing(args, texts, labels) if args.bench in ("all", "bucketing") else None
    lm_rows = bench_lm(args) if args.bench in ("all", "lm") else None
    results = []
    if app_rows:
        title = "[1] real tokens/s: SentimentClassifier.fit vs hand-written Keras (same batches)"
        results.append(("app/hand-written tokens/s", print_table(title, ("app", "hand-written"), app_rows), args.app_target))
    if bucket_rows:
        title = "[2] real tokens/s: bucketed vs pad-to-max batching (same model, same texts)"
        results.append(("bucketed/pad-to-max", print_table(title, ("bucketed", "pad-to-max"), bucket_rows), args.bucket_target))
    if lm_rows:
        title = "[3] real tokens/s: TextGenerator.fit vs hand-written Keras (same architecture, same batches)"
        results.append(("LM app/hand-written tokens/s", print_table(title, ("app", "hand-written"), lm_rows["app"]), args.lm_target))
        title = "[4] real tokens/s: TextGenerator.fit with per-layer gradient norms vs the global norm only"
        ratio = print_table(title, ("per-layer", "global-only"), lm_rows["norms"])
        print(f"    cost of per-layer gradient norms: {1 - ratio:+.1%} of a train step (median over repeats)")
        steps = {side: statistics.median(values) for side, values in lm_rows["norm_steps"].items()}
        print(
            f"    train_on_batch, process CPU s per step, median of {args.step_blocks} alternating blocks of "
            f"{args.step_block}: per-layer {steps['per-layer']:.4f}, global-only {steps['global-only']:.4f}: "
            f"cost {steps['per-layer'] / steps['global-only'] - 1:+.1%}"
        )
        results.append(("per-layer/global-only gradient norms", ratio, 1 - args.norm_cost))
        title = "[5] real tokens/s: default LM after (TextGenerator()) vs before issue 14"
        ratio = print_table(title, ("new default", "old default"), lm_rows["defaults"])
        print(f"    new/old default LM tokens/s: {ratio:.2f}x (no target: a different model)")
    print(
        "\ntok/s: real tokens / wall time of the fastest timed epoch of the run; ratio: of those, the verdict uses "
        "their median over the repeats.\nmedian-epoch: the same ratio from each run's median epoch; cpu-s: from "
        "tokens per CPU-second of this process (rises with a side's use of the 2nd core)."
    )
    print(f"total time {time.perf_counter() - started:.0f} s\n")
    passed = [verdict(label, ratio, target) for label, ratio, target in results]
    return 0 if all(passed) else 1


if __name__ == "__main__":
    sys.exit(main())
