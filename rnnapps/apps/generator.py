"""`TextGenerator`: char- and word-level recurrent language models with fast generation."""

import dataclasses
import math

import tensorflow as tf

from rnnapps.apps.base import MAX_BATCH_SIZE, App, register_app
from rnnapps.checks import check_optional_int
from rnnapps.builders.language_model import LanguageModelSpec, build_language_model, language_model_objective
from rnnapps.data.corpus import corpus_for, language_model_batches, lm_windows, scan_corpus, split_corpus, stateful_windows
from rnnapps.decoding import check_sampling_options, choice_mode
from rnnapps.decoding.limits import DEFAULT_LIMITS, RequestLimits, check_int, check_seed, check_stops, chunks
from rnnapps.errors import ConfigError, DataError
from rnnapps.export import warmup as warmup_requests
from rnnapps.export.generation import (
    beam_generation_fn,
    generation_endpoints,
    generation_request,
    generation_results,
    generation_serving_fn,
    generation_signature,
)
from rnnapps.text import TextVectorizer
from rnnapps.text.plain import utf8_text
from rnnapps.training.lm_callbacks import PerplexityLogger, SampleText
from rnnapps.training.precision import float32_outputs
from rnnapps.training.lm_metrics import PerplexityReport, total_nll
from rnnapps.training.stateful import StatefulTrainer


@register_app
class TextGenerator(App):
    """A recurrent language model that trains on any corpus and generates text fast.

    Args:
        level: "char" (user-perceived characters; CJK and emoji safe) or "word".
        cell, units, depth, embedding_dim, dropout, recurrent_dropout, connection,
            tie_embeddings, output_dropout: the model (see `LanguageModelSpec`).
        sequence_length: tokens per training window (how far back BPTT reaches).
        max_vocab: keep only the most frequent tokens (default: all for char level,
            20 000 for word level); the rest become `<unk>`.
        min_count: tokens seen fewer times become `<unk>`.
        lowercase: lowercase the text first (default False: case is part of style).
        punctuation: word level: "split" (punctuation marks are tokens) or "keep".
        optimizer, learning_rate, clipnorm, global_clipnorm, clipvalue,
            optimizer_options: training settings (Adam with clipnorm 1.0 by default).
        strategy, mixed_precision: see `App` (a strategy of several replicas cannot train
            with `fit(stateful=True)`).

    Example:
        >>> gen = TextGenerator(level="char", units=128)                 # doctest: +SKIP
        >>> gen.fit("shakespeare.txt", epochs=5)                         # doctest: +SKIP
        >>> gen.generate("ROMEO:", max_length=300, temperature=0.8)      # doctest: +SKIP
    """

    kind = "language_model"

    def __init__(
        self,
        level="char",  # tokens
        cell="gru", units=512, depth=1, embedding_dim=256,  # layers
        dropout=0.0, recurrent_dropout=0.0, connection=None, tie_embeddings=False, output_dropout=0.0,  # more model
        sequence_length=100,  # training windows
        max_vocab=None, min_count=1, lowercase=False, punctuation="split",  # vocabulary
        optimizer="adam", learning_rate=2e-3,  # optimizer
        clipnorm=1.0, global_clipnorm=None, clipvalue=None, optimizer_options=None,
        strategy=None, mixed_precision=None,  # devices
    ):
        super().__init__(strategy=strategy, mixed_precision=mixed_precision)
        if level not in ("char", "word"):
            raise ConfigError(f"level must be 'char' or 'word', got {level!r}")
        if int(sequence_length) < 1:
            raise ConfigError(f"sequence_length must be >= 1, got {sequence_length}")
        if punctuation not in ("split", "keep"):
            raise ConfigError(f"punctuation must be 'split' or 'keep' for a language model, got {punctuation!r}")
        self.spec = LanguageModelSpec(
            embedding_dim=embedding_dim, cell=cell, units=units, depth=depth, dropout=dropout,
            recurrent_dropout=recurrent_dropout, connection=connection, tie_embeddings=tie_embeddings,
            output_dropout=output_dropout, optimizer=optimizer, learning_rate=learning_rate,
            clipnorm=clipnorm, global_clipnorm=global_clipnorm, clipvalue=clipvalue,
            optimizer_options=optimizer_options,
        )
        self.level = level
        self.sequence_length = int(sequence_length)
        self.max_vocab = max_vocab if max_vocab is not None else (20_000 if level == "word" else None)
        self.min_count = int(min_count)
        self.lowercase = bool(lowercase)
        self.punctuation = punctuation
        self.models = None
        self.chars_per_token = 1.0
        self.limits = DEFAULT_LIMITS  # bounds of one generate() call (rnnapps.decoding.limits)

    @classmethod
    def from_vocabulary(cls, vocabulary, **options):
        """An untrained generator over a given token list (for tests, benchmarks, warm starts).

        Example:
            >>> gen = TextGenerator.from_vocabulary(list("abc \n"), units=16, depth=1)  # doctest: +SKIP
            >>> len(gen.generate("ab", max_length=5, seed=0))                           # doctest: +SKIP
            7
        """
        generator = cls(**options)
        generator.vectorizer = generator._make_vectorizer(list(vocabulary))
        generator._build_models()
        return generator

    # -- configuration ---------------------------------------------------------------
    def get_config(self):
        options = ("level", "sequence_length", "max_vocab", "min_count", "lowercase", "punctuation", "mixed_precision")
        return {**{key: getattr(self, key) for key in options}, **dataclasses.asdict(self.spec)}

    def _make_vectorizer(self, vocabulary=None):
        return TextVectorizer(
            vocabulary=vocabulary, level=self.level, lowercase=self.lowercase, punctuation=self.punctuation
        )

    def _get_state(self):
        return {"chars_per_token": self.chars_per_token}

    def _set_state(self, state):
        self.chars_per_token = float(state.get("chars_per_token", 1.0))

    def _build_models(self):
        with self._scope():
            self.models = build_language_model(self.vectorizer.vocabulary_size, self.spec, compile=False)
            self._compile(self.models.train, language_model_objective())
            float32_outputs(self.models.train, self.models.prefill, self.models.step)
        self.model = self.models.train

    # -- training --------------------------------------------------------------------
    def fit(
        self,
        data,
        *,
        validation_data=None, validation_split=0.05,  # held-out data
        epochs=10, time_limit=None, lr_schedule="budget", early_stopping_patience=3,  # how long
        batch_size=64, stateful=False, shuffle_buffer=10_000, seed=None,  # batches
        checkpoint_dir=None, tensorboard_dir=None, backup_dir=None, resume=False,  # files
        callbacks=None, verbose="auto",  # progress
        sample_every=None, sample_prompts=None, sample_temperatures=(0.5, 1.0), sample_length=200,  # samples
        **source_options,
    ):
        """Trains on a corpus; calling it again continues training.

        Args:
            data: a text file, a glob ("books/*.txt"), a list of files, a TFDS name such
                as "tiny_shakespeare", a Python string or list of strings (documents),
                or a `tf.data.Dataset` of strings. Streamed: never loaded whole.
            validation_data: held-out text in any of the same forms; otherwise
                `validation_split` of the lines is held out (by a hash of the line).
            epochs, batch_size: as in Keras (batch_size counts windows).
            stateful: truncated BPTT: row b of every batch continues row b of the
                previous one and the RNN state is carried over (reset at every
                epoch and document start). Otherwise windows are shuffled.
            time_limit: stop training once this much time is spent (seconds, or a string
                such as "15m" or "1h30m"), whichever of it and `epochs` comes first; the
                best validation weights are restored. Resumed fits continue the budget.
            lr_schedule: with `time_limit`: "budget" (default: a short warm-up, then a
                cosine decay to the end of the budget) or "constant".
            early_stopping_patience: epochs without validation improvement before
                stopping (None: off); the best weights are restored.
            sample_every: print samples every N epochs, continuing `sample_prompts`
                (default: an empty prompt) at `sample_temperatures`.
            checkpoint_dir, tensorboard_dir, backup_dir, resume, callbacks: see `SentimentClassifier.fit`.
            seed: shuffling seed.
            **source_options: text_key, tfds_data_dir, download (TFDS); encoding (files).

        Returns:
            self, with the Keras `History` in `self.history` (loss, perplexity,
            bits_per_char, grad_norm and their validation twins).
        """
        self._check_fit_numbers(epochs, batch_size, validation_split, early_stopping_patience)
        check_optional_int("sample_every", sample_every, 1)
        check_int("sample_length", sample_length, 0, RequestLimits.of(self.limits).max_new_tokens)
        check_int("shuffle_buffer", shuffle_buffer, 1, 1 << 24)
        if stateful and self.strategy is not None and self.strategy.num_replicas_in_sync > 1:
            raise ConfigError("stateful training carries per-row state and cannot be split across replicas: use stateful=False")
        verbose_flag = verbose not in (0, False)
        corpus = corpus_for(data, "train", source_options)
        validation_corpus = None
        if validation_data is not None:
            validation_corpus = corpus_for(validation_data, "validation", source_options)
        elif validation_split:
            corpus, validation_corpus = split_corpus(corpus, float(validation_split))
        fresh = self.vectorizer is None
        if fresh:
            self.vectorizer = self._make_vectorizer()
            stats = scan_corpus(corpus, self.vectorizer, max_tokens=self.max_vocab, min_count=self.min_count)
            self.vectorizer.set_vocabulary(stats.vocabulary)
            self.chars_per_token = stats.num_chars / max(1, stats.num_tokens)
            self._build_models()
        else:
            stats = scan_corpus(corpus, self.vectorizer)
        self._say(
            verbose_flag,
            f"corpus: {stats.num_documents} document(s), {stats.num_tokens:,} {self.level} tokens, "
            f"{stats.num_chars:,} characters; vocabulary {self.vectorizer.vocabulary_size:,} ids",
        )
        batch_size = int(batch_size)
        validation = None
        if validation_corpus is not None:
            validation_stats = scan_corpus(validation_corpus, self.vectorizer, allow_empty=True)
            if validation_stats.num_tokens <= 1:
                self._say(verbose_flag, "validation text is empty: training without validation data")
            else:
                validation = language_model_batches(
                    validation_corpus, self.vectorizer, self.sequence_length, batch_size, validation_stats, stateful,
                    shuffle=False,
                )
        train = language_model_batches(
            corpus, self.vectorizer, self.sequence_length, batch_size, stats, stateful,
            shuffle=True, shuffle_buffer=shuffle_buffer, seed=seed,
        )
        model = self.models.train
        if stateful:
            with self._scope():
                model = StatefulTrainer.continuing(self.models, batch_size)
        extra = [PerplexityLogger(self.chars_per_token)]
        if sample_every:
            extra.append(
                SampleText(
                    lambda prompts, **knobs: self.generate(prompts, **knobs),
                    sample_prompts or [""], every=sample_every, temperatures=sample_temperatures,
                    max_length=sample_length, tensorboard_dir=tensorboard_dir,
                )
            )
        self._fit_model(
            train, validation, epochs, verbose, extra + list(callbacks or []), [corpus],
            checkpoint_dir=checkpoint_dir, tensorboard_dir=tensorboard_dir, backup_dir=backup_dir, resume=resume,
            early_stopping_patience=early_stopping_patience, model=model,
            time_limit=time_limit, lr_schedule=lr_schedule,
            steps_hint=math.ceil(stats.num_tokens / self.sequence_length / batch_size),
            output_prior=lm_windows(corpus, self.vectorizer, self.sequence_length, batch_size, shuffle=False) if fresh else None,
        )
        return self

    # -- evaluation ------------------------------------------------------------------
    def evaluate(self, data, batch_size=32, **source_options):
        """Perplexity and bits per character over the whole text.

        The text is cut into `batch_size` contiguous streams read window by window with
        the state carried across windows, so every token is scored with its full
        left context (except the first token of each stream, which has none).

        Example:
            >>> print(gen.evaluate("test.txt"))  # doctest: +SKIP
            perplexity 4.812, 2.2667 bits/char, ...
        """
        self._require_fitted("evaluate")
        check_int("batch_size", batch_size, 1, MAX_BATCH_SIZE)
        corpus = corpus_for(data, "test", source_options)
        stats = scan_corpus(corpus, self.vectorizer, allow_empty=True)
        if stats.num_tokens < 2:
            raise DataError(f"the evaluation text {corpus.description} has fewer than 2 tokens: nothing to score")
        batch_size = max(1, min(int(batch_size), stats.num_tokens // 2))
        windows = stateful_windows(corpus, self.vectorizer, self.sequence_length, batch_size, stats)
        scorer = StatefulTrainer(self.models.forward, batch_size, self.models.state_sizes)
        total, count = total_nll(scorer, windows, corpus)
        return PerplexityReport.from_nll(total, count, stats.num_chars, self.level)

    # -- generation ------------------------------------------------------------------
    def _generation_graph(self, mode, with_stop):
        """The traced sampling function for one choice mode, with or without stop strings.

        One small graph per (mode, stops?) pair (and limits and models), traced on first use
        and kept in the app's locked, bounded graph cache: the common call (temperature > 0,
        no top-k/top-p, no stop) traces one sampling loop and no stop handling, about a
        third of the graph that serves every knob (see `generation_serving_fn`), so a first
        call spends less time tracing and optimising it. Knob values are tensors: changing
        them never retraces.
        """
        limits = RequestLimits.of(self.limits)
        models = self.models

        def build():
            serve = generation_serving_fn(self.vectorizer, models, self.level, limits, mode=mode)
            # autograph=False: the loops are explicit `tf.while_loop`s, and AutoGraph's
            # source transformation of every function the graph calls was most (~85%)
            # of the tracing time of a first call.
            return tf.function(serve, input_signature=generation_signature(with_stop=with_stop), autograph=False)

        return self._graph((mode, with_stop, limits, id(models)), build)

    def generate(
        self, prompts="", max_length=200, temperature=1.0, top_k=0, top_p=1.0, seed=None,
        num_samples=1, beam_width=None, stop=None, return_details=False,
    ):
        """Continues prompts, fast: one in-graph loop carries the RNN state (O(N) per text).

        Args:
            prompts: a string or a list of strings (batched together; ragged is fine).
                An empty prompt starts from a line break (char level) or the most
                frequent token (word level), which is not part of the output.
            max_length: new tokens per text (0 gives the prompt back).
            temperature: 0 = greedy; below 1 is more conservative, above 1 more varied.
            top_k: sample among the k most likely tokens (0 = off; > vocabulary = all).
            top_p: nucleus sampling: the smallest set of tokens with this much
                probability mass (1 = off).
            seed: an int: the same seed gives the same text (stateless RNG); None
                draws a fresh seed.
            num_samples: texts per prompt (returned prompt by prompt).
            beam_width: use beam search with this width instead of sampling (the
                most likely continuation; temperature/top_k/top_p are ignored).
            stop: a string or list of strings: each text ends before the first one
                generated (single-token stops end the loop early).
            return_details: return a dict with "text" (full texts), "generated" (new
                text only) and "token_ids" instead of the list of full texts.

        Returns:
            the full texts (prompt + continuation): a list, or a string for a string prompt.

        Example:
            >>> gen.generate(["ROMEO:", "JULIET:"], max_length=100, temperature=0.7, seed=1)  # doctest: +SKIP
        """
        self._require_fitted("generate")
        single = isinstance(prompts, (str, bytes))
        prompts = [prompts] if single else list(prompts)
        prompts = [utf8_text(p) for p in prompts]
        limits = RequestLimits.of(self.limits)
        max_length = check_int("max_length", max_length, 0, limits.max_new_tokens)
        check_sampling_options(max_length, temperature, top_k, top_p, self.vectorizer.vocabulary_size, limits.max_new_tokens)
        num_samples = check_int("num_samples", num_samples, 1, limits.max_num_samples)
        if beam_width is not None:
            beam_width = check_int("beam_width", beam_width, 1, limits.max_beam_width)
        stops = check_stops(stop)
        batch = [p for p in prompts for _ in range(num_samples)]
        seed = check_seed(seed)
        if not batch:
            return [] if not return_details else {"text": [], "generated": [], "token_ids": []}
        mode = None if beam_width is not None else choice_mode(
            float(temperature), int(top_k), float(top_p), self.vectorizer.vocabulary_size
        )
        texts, generated, token_ids = [], [], []
        for chunk in chunks(batch, limits.max_batch):  # bounded memory per graph call
            if beam_width is not None:
                outputs = self._beam_generate(chunk, max_length, beam_width, stops)
            else:
                request = generation_request(chunk, max_length, temperature, top_k, top_p, seed, stops)
                outputs = self._generation_graph(mode, bool(stops))(**request)
            for results, more in zip((texts, generated, token_ids), generation_results(outputs)):
                results += more
        if return_details:
            return {"text": texts, "generated": generated, "token_ids": token_ids}
        return texts[0] if single and num_samples == 1 else texts

    def _beam_generate(self, prompts, max_length, beam_width, stops):
        limits, models = RequestLimits.of(self.limits), self.models
        fn = self._graph(
            ("beam", beam_width, limits, id(models)),
            lambda: beam_generation_fn(self.vectorizer, models, self.level, beam_width, limits),
        )
        return fn(tf.constant(prompts, tf.string), tf.constant(max_length, tf.int32), tf.constant(stops, tf.string, shape=[len(stops)]))

    # -- export ----------------------------------------------------------------------
    def export(self, base_dir="saved_models", name=None, limits=None, warmup=True):
        """Exports a SavedModel for TF Serving as the next version of `<base_dir>/<name>`.

        Endpoints (only core TF ops; the generation loop runs inside the graph):
        - `serving_default(prompt: string[None])` -> `text`, `generated`: string[None],
          `token_ids`: int32[None, None] (200 new tokens, temperature 1, fresh seed 0).
        - `generate(prompt, max_length: int32, temperature: float32, top_k: int32,
          top_p: float32, seed: int64)` -> the same outputs, with per-request knobs.
        With `warmup`, the export carries TF Serving warm-up requests for both
        (`assets.extra/tf_serving_warmup_requests`).

        Example:
            >>> gen.export("saved_models", "shakespeare")  # doctest: +SKIP
        """
        self._require_fitted("export")
        limits = RequestLimits.of(limits)
        return self._export(
            generation_endpoints(self.vectorizer, self.models, self.level, limits),
            [self.models.train, self.models.prefill, self.models.step, self.vectorizer],
            base_dir,
            name,
            warmup=warmup_requests.generation_requests(
                [t for t in self.vectorizer.get_vocabulary() if t.strip()][:8], joiner="" if self.level == "char" else " "
            ) if warmup else None,
            limits=limits.to_dict(), level=self.level,
        )

