"""Hand-written, tutorial-style Keras models: the peers `bench/quality.py` measures the apps against.

Each peer follows the recipe a user would copy from the Keras / TensorFlow tutorials
(named in issue 14), written here from scratch on plain Keras:

- sentiment: keras-io "bidirectional LSTM" (TextVectorization 20k words, 200 tokens,
  Embedding 128, 2 x BiLSTM(64), softmax), Adam 1e-3, batch 32;
- char / word LM: TF "text generation with an RNN" (Embedding 256, GRU(512), Dense),
  sequences of 100 tokens, batch 64, Adam 1e-3;
- poetry: the same GRU(512) recipe with one poem per sequence (start token, poem, end token);
- translation: TF "NMT with attention" (10k-word vocabularies, Embedding 256, BiGRU(256)
  encoder, GRU(256) decoder, Luong dot attention, LayerNormalization after the attention
  combination, as the issue found it needs), batch 64, Adam 1e-3.

Every peer trains until the same wall-clock budget as the app (`BudgetStop`) and keeps its
best validation weights (EarlyStopping with restore, patience longer than any budget), so
the comparison is model against model, not a lucky last epoch.
"""

import math
import time

import keras
import numpy as np
import tensorflow as tf

PAD, START, END = 0, 1, 2


CLOCK = time.monotonic  # bench/quality.py may set a CPU-time clock (see its --clock)


class BudgetStop(keras.callbacks.Callback):
    """Ends `fit` after the batch that spends `seconds` (counted from the first batch, on `CLOCK`)."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = float(seconds)
        self.started = None

    def on_train_batch_begin(self, batch, logs=None):
        if self.started is None:
            self.started = CLOCK()

    def on_train_batch_end(self, batch, logs=None):
        if CLOCK() - self.started >= self.seconds:
            self.model.stop_training = True


def fit_for(model, train, validation, seconds, verbose=2):
    """Trains `model` for `seconds` of wall-clock time, keeping its best validation weights."""
    callbacks = [
        BudgetStop(seconds),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=10**9, restore_best_weights=True),
    ]
    return model.fit(train, validation_data=validation, epochs=10**6, callbacks=callbacks, verbose=verbose)


# -- sentiment ------------------------------------------------------------------------------
def sentiment_peer(train_texts, train_labels, valid_texts, valid_labels, label_names, seconds):
    """keras-io's 2 x BiLSTM(64) classifier; returns a function texts -> predicted label ids."""
    vectorize = keras.layers.TextVectorization(max_tokens=20_000, output_sequence_length=200)
    vectorize.adapt(tf.data.Dataset.from_tensor_slices(train_texts).batch(512))
    inputs = keras.Input((200,), dtype="int64")
    x = keras.layers.Embedding(20_000, 128)(inputs)
    x = keras.layers.Bidirectional(keras.layers.LSTM(64, return_sequences=True))(x)
    x = keras.layers.Bidirectional(keras.layers.LSTM(64))(x)
    outputs = keras.layers.Dense(len(label_names), activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])

    def batches(texts, labels, shuffle):
        data = tf.data.Dataset.from_tensor_slices((texts, labels))
        if shuffle:
            data = data.shuffle(len(texts), seed=0)
        return data.batch(32).map(lambda t, y: (vectorize(t), y)).prefetch(2)

    fit_for(model, batches(train_texts, train_labels, True), batches(valid_texts, valid_labels, False), seconds)

    def predict(texts):
        data = tf.data.Dataset.from_tensor_slices(texts).batch(256).map(vectorize)
        return np.argmax(model.predict(data, verbose=0), axis=-1)

    return predict


# -- language models ------------------------------------------------------------------------
def lm_model(vocab_size, embedding_dim=256, units=512):
    """The tutorial's Embedding -> GRU -> Dense, with state in/out for exact evaluation."""
    ids = keras.Input((None,), dtype="int32")
    state = keras.Input((units,))
    embedded = keras.layers.Embedding(vocab_size, embedding_dim)(ids)
    sequence, final = keras.layers.GRU(units, return_sequences=True, return_state=True)(embedded, initial_state=state)
    logits = keras.layers.Dense(vocab_size)(sequence)
    stateful = keras.Model([ids, state], [logits, final])
    train_ids = keras.Input((None,), dtype="int32")
    zeros = keras.layers.Lambda(lambda t: tf.zeros((tf.shape(t)[0], units)))(train_ids)
    train = keras.Model(train_ids, stateful([train_ids, zeros])[0])
    train.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return train, stateful, units


def lm_windows(ids, length=100, batch_size=64, shuffle=True):
    """The tutorial's batches: non-overlapping windows of length+1 ids, shuffled, inputs/targets."""
    data = tf.data.Dataset.from_tensor_slices(np.asarray(ids, np.int32)).batch(length + 1, drop_remainder=True)
    if shuffle:
        data = data.shuffle(10_000, seed=0)
    return data.batch(batch_size).map(lambda w: (w[:, :-1], w[:, 1:])).prefetch(2)


def stream_nll(stateful, units, ids, streams=32, window=100):
    """Total NLL (nats) and count of every token after the first of `streams` contiguous
    streams, the state carried window to window (as `TextGenerator.evaluate` scores)."""
    ids = np.asarray(ids, np.int32)
    per = len(ids) // streams
    rows = ids[: per * streams].reshape(streams, per)
    state = np.zeros((streams, units), np.float32)
    step = tf.function(lambda x, s: stateful([x, s]), reduce_retracing=True)
    total, count = 0.0, 0
    for start in range(0, per - 1, window):
        inputs, targets = rows[:, start:start + window], rows[:, start + 1:start + window + 1]
        inputs = inputs[:, : targets.shape[1]]
        logits, state = step(tf.constant(inputs), state)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
        total += float(tf.reduce_sum(losses))
        count += targets.size
    return total, count


def lm_peer(train_ids, valid_ids, vocab_size, seconds):
    """Trains the tutorial GRU LM on id streams; returns `score(ids) -> (nll_nats, tokens)`."""
    train, stateful, units = lm_model(vocab_size)
    fit_for(train, lm_windows(train_ids), lm_windows(valid_ids, shuffle=False), seconds)
    return lambda ids: stream_nll(stateful, units, ids)


# -- poetry ---------------------------------------------------------------------------------
def poetry_peer(train_poems, valid_poems, seconds):
    """The GRU(512) recipe, one poem per sequence; returns (nll(poems), sample(n, temperature))."""
    chars = sorted({c for poem in train_poems for c in poem})
    index = {c: i + 3 for i, c in enumerate(chars)}  # 0 pad, 1 start, 2 end; unknown -> end is never needed
    vocab_size = len(chars) + 3

    def encode(poem):
        return [START] + [index.get(c, PAD) for c in poem] + [END]

    def batches(poems, shuffle):
        rows = [encode(p) for p in poems]
        width = max(len(r) for r in rows)
        array = np.zeros((len(rows), width), np.int32)
        for i, r in enumerate(rows):
            array[i, : len(r)] = r
        data = tf.data.Dataset.from_tensor_slices(array)
        if shuffle:
            data = data.shuffle(len(rows), seed=0)
        return data.batch(64).map(lambda w: (w[:, :-1], w[:, 1:])).prefetch(2)

    ids = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(vocab_size, 256)(ids)
    x = keras.layers.GRU(512, return_sequences=True)(x)
    model = keras.Model(ids, keras.layers.Dense(vocab_size)(x))
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=PAD))
    fit_for(model, batches(train_poems, True), batches(valid_poems, False), seconds)

    def nll(poems):
        total, count = 0.0, 0
        for inputs, targets in batches(poems, False):
            logits = model(inputs, training=False)
            losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
            real = tf.cast(targets > 0, tf.float32)
            total += float(tf.reduce_sum(losses * real))
            count += int(tf.reduce_sum(real))
        return total, count

    def sample(n, temperature, seed=0, max_length=80):
        rng = np.random.default_rng(seed)
        rows = np.full((n, 1), START, np.int32)
        finished = np.zeros(n, bool)
        for _ in range(max_length):
            logits = model(rows, training=False)[:, -1, :].numpy().astype(np.float64) / temperature
            logits[:, PAD] = -np.inf
            probs = np.exp(logits - logits.max(axis=1, keepdims=True))
            probs /= probs.sum(axis=1, keepdims=True)
            nxt = np.array([rng.choice(vocab_size, p=p) for p in probs], np.int32)
            nxt[finished] = END
            finished |= nxt == END
            rows = np.concatenate([rows, nxt[:, None]], axis=1)
            if finished.all():
                break
        reverse = {i: c for c, i in index.items()}
        return ["".join(reverse.get(int(t), "") for t in row[1:] if t > END) for row in rows]

    return nll, sample


# -- translation ----------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="bench")
class LuongDecoderStep(keras.layers.Layer):
    """Dot attention over encoder outputs, combined with the decoder output, then LayerNorm."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.attention = keras.layers.Attention()
        self.combine = keras.layers.Dense(units, activation="tanh")
        self.norm = keras.layers.LayerNormalization()

    def call(self, decoder_outputs, encoder_outputs, encoder_mask):
        context = self.attention([decoder_outputs, encoder_outputs], mask=[None, encoder_mask])
        return self.norm(self.combine(tf.concat([decoder_outputs, context], axis=-1)))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def translation_peer(train_pairs, valid_pairs, seconds, max_tokens=10_000, max_length=40):
    """The TF NMT tutorial model; returns `translate(sources) -> list of strings` (greedy)."""
    def standardize(texts):
        text = tf.strings.lower(texts)
        text = tf.strings.regex_replace(text, r"([.?!,:;¿¡\"()])", r" \1 ")
        return tf.strings.strip(text)

    src_vec = keras.layers.TextVectorization(max_tokens, standardize=standardize, ragged=True)
    tgt_vec = keras.layers.TextVectorization(max_tokens, standardize=standardize, ragged=True)
    src_vec.adapt(tf.data.Dataset.from_tensor_slices([s for s, _ in train_pairs]).batch(1024))
    tgt_vec.adapt(tf.data.Dataset.from_tensor_slices(["[s] " + t + " [e]" for _, t in train_pairs]).batch(1024))
    tgt_vocab = tgt_vec.get_vocabulary()
    start_id, end_id = tgt_vocab.index("[s]"), tgt_vocab.index("[e]")
    units = 256

    src_ids = keras.Input((None,), dtype="int64")
    tgt_ids = keras.Input((None,), dtype="int64")
    src_embed = keras.layers.Embedding(max_tokens, 256, mask_zero=True)
    encoder_rnn = keras.layers.Bidirectional(keras.layers.GRU(units, return_sequences=True), merge_mode="sum")
    tgt_embed = keras.layers.Embedding(max_tokens, 256, mask_zero=True)
    decoder_rnn = keras.layers.GRU(units, return_sequences=True, return_state=True)
    step = LuongDecoderStep(units)
    project = keras.layers.Dense(max_tokens)

    encoded = encoder_rnn(src_embed(src_ids))
    src_mask = keras.ops.not_equal(src_ids, 0)
    dec_out, _ = decoder_rnn(tgt_embed(tgt_ids))
    logits = project(step(dec_out, encoded, src_mask))
    model = keras.Model([src_ids, tgt_ids], logits)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])

    def batches(pairs, shuffle):
        sources = tf.constant([s for s, _ in pairs])
        targets = tf.constant(["[s] " + t + " [e]" for _, t in pairs])
        data = tf.data.Dataset.from_tensor_slices((sources, targets))
        if shuffle:
            data = data.shuffle(len(pairs), seed=0)

        def to_ids(s, t):
            s = src_vec(s)[:, :max_length].to_tensor()
            t = tgt_vec(t)[:, : max_length + 1].to_tensor()
            return (s, t[:, :-1]), t[:, 1:]

        return data.batch(64).map(to_ids).prefetch(2)

    fit_for(model, batches(train_pairs, True), batches(valid_pairs, False), seconds)

    # Greedy decoding, one token at a time with the GRU state carried (the tutorial's loop).
    state_in = keras.Input((units,))
    token_in = keras.Input((1,), dtype="int64")
    enc_in = keras.Input((None, units))
    mask_in = keras.Input((None,), dtype="bool")
    out, new_state = decoder_rnn(tgt_embed(token_in), initial_state=state_in)
    step_logits = project(step(out, enc_in, mask_in))[:, 0]
    step_model = keras.Model([token_in, state_in, enc_in, mask_in], [step_logits, new_state])
    encode_model = keras.Model(src_ids, encoded)
    step_fn = tf.function(lambda *a: step_model(list(a)), reduce_retracing=True)

    def translate(sources, batch_size=128):
        results = []
        for begin in range(0, len(sources), batch_size):
            chunk = sources[begin:begin + batch_size]
            ids = src_vec(tf.constant(chunk))[:, :max_length].to_tensor()
            enc = encode_model(ids)
            mask = tf.not_equal(ids, 0)
            token = tf.fill((len(chunk), 1), tf.constant(start_id, tf.int64))
            state = tf.zeros((len(chunk), units))
            out_tokens, done = [], np.zeros(len(chunk), bool)
            for _ in range(max_length):
                logits, state = step_fn(token, state, enc, mask)
                nxt = tf.argmax(logits, axis=-1)
                out_tokens.append(nxt.numpy())
                done |= out_tokens[-1] == end_id
                if done.all():
                    break
                token = nxt[:, None]
            columns = np.stack(out_tokens, axis=1)
            for row in columns:
                words = []
                for t in row:
                    if t == end_id:
                        break
                    words.append(tgt_vocab[t])
                results.append(" ".join(words))
        return results

    return translate


def perplexity(nll, count):
    return math.exp(nll / max(1, count))
