"""`SentimentClassifier`: a recurrent text classifier from raw strings to named labels."""

import dataclasses
import math

import numpy as np
import tensorflow as tf

from rnnapps.apps.base import MAX_BATCH_SIZE, App, register_app
from rnnapps.checks import check_int, check_known_options, check_texts
from rnnapps.builders import ClassifierSpec, build_classifier, classifier_objective
from rnnapps.data import (
    encode_labels,
    labelled_texts,
    make_training_batches,
    scan,
    split_validation,
)
from rnnapps.data.pipeline import SORT_CHUNK_BATCHES
from rnnapps.data.sources import label_order
from rnnapps.dataset_iteration import ends_promptly
from rnnapps.decoding.limits import run_by_length
from rnnapps.errors import ConfigError, DataError
from rnnapps.export import text_signature
from rnnapps.export import warmup as warmup_requests
from rnnapps.export.classifier import ClassifierPredictions, classifier_serving_fn
from rnnapps.text import TextVectorizer, build_vocabulary
from rnnapps.text.embeddings import embedding_matrix, read_word_vectors
from rnnapps.text.ngrams import check_ngram_options
from rnnapps.training.metrics import labelled_report
from rnnapps.training.precision import float32_outputs

DEFAULT_MAX_LENGTH = {"word": 400, "char": 1000}
SOURCE_OPTIONS = ("text_column", "label_column", "delimiter", "label_separator", "tfds_data_dir", "download")


@register_app
class SentimentClassifier(App):
    """Recurrent text classifier: binary, multi-class or multi-label, raw strings in.

    Args:
        level: "word" or "char" tokens (char: CJK and emoji safe).
        max_length: tokens kept per text (default 400 words / 1000 chars).
        max_tokens: vocabulary size cap; min_count: drop rarer tokens.
        lowercase, punctuation: text normalisation (see `rnnapps.text.split_words`).
        multi_label: force/forbid multi-label; default: inferred from the labels.
        threshold: probability above which a label is predicted (multi-label).
        ngram_buckets: a bag-of-n-grams head beside the recurrent one, over this many
            hash buckets of the tokens' character n-grams (0: no bag head). Its n-grams
            keep what unknown words, misspellings, hashtags and word forms say; the two
            heads train each on its own loss, each keeps the weights of its own best
            epoch (`rnnapps.training.HeadSelection`), and the prediction is their mean.
        ngram_range: (shortest, longest) n-gram in characters; each word is wrapped in
            spaces first (at char level: n-grams of consecutive characters).
        max_ngrams: distinct n-grams kept per text; ngram_dim, ngram_dropout: the bag's
            embedding width and dropout.
        embedding_vectors: GloVe-style vector file or {word: vector} dict to start the
            embedding from (its dimension then sets `embedding_dim`).
        strategy, mixed_precision: see `App`.
        cell, units, depth, bidirectional, merge_mode, dropout, recurrent_dropout,
            connection, embedding_dim, trainable_embeddings, pooling, attention_units,
            hidden_units, head_dropout, optimizer, learning_rate, clipnorm,
            global_clipnorm, clipvalue, optimizer_options: see `ClassifierSpec`.

    Example:
        >>> clf = SentimentClassifier(cell="lstm", bidirectional=True)
        >>> clf.fit(["great film", "awful plot"], ["positive", "negative"], epochs=2)  # doctest: +SKIP
        >>> clf.predict(["great film"]).labels                                           # doctest: +SKIP
        ['positive']
    """

    kind = "sentiment"
    rebuild_on_load = False  # its one model is the loaded model, optimizer state included

    def __init__(
        self,
        level="word",  # tokens
        cell="lstm", units=64, depth=1, bidirectional=False, merge_mode="concat",  # layers
        dropout=0.0, recurrent_dropout=0.0, connection=None,  # more layers
        embedding_dim=128, trainable_embeddings=True,  # embeddings
        pooling="last", attention_units=None, hidden_units=0, head_dropout=0.0,  # head
        optimizer="adam", learning_rate=1e-3,  # optimizer
        clipnorm=1.0, global_clipnorm=None, clipvalue=None, optimizer_options=None,
        max_length=None, max_tokens=20_000, min_count=1, lowercase=True, punctuation="split",  # vocabulary
        ngram_buckets=200_000, ngram_range=(2, 5), max_ngrams=2_000,  # bag-of-n-grams head
        ngram_dim=32, ngram_dropout=0.3,
        multi_label=None, threshold=0.5,  # labels
        embedding_vectors=None,  # pretrained vectors
        strategy=None, mixed_precision=None,  # devices
    ):
        super().__init__(strategy=strategy, mixed_precision=mixed_precision)
        self.spec = ClassifierSpec(
            embedding_dim=embedding_dim,
            trainable_embeddings=trainable_embeddings,
            cell=cell,
            units=units,
            depth=depth,
            bidirectional=bidirectional,
            merge_mode=merge_mode,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            connection=connection,
            pooling=pooling,
            attention_units=attention_units,
            hidden_units=hidden_units,
            head_dropout=head_dropout,
            ngram_buckets=ngram_buckets,
            ngram_dim=ngram_dim,
            ngram_dropout=ngram_dropout,
            optimizer=optimizer,
            learning_rate=learning_rate,
            clipnorm=clipnorm,
            global_clipnorm=global_clipnorm,
            clipvalue=clipvalue,
            optimizer_options=optimizer_options,
        )
        if level not in DEFAULT_MAX_LENGTH:
            raise ConfigError(f"level must be 'word' or 'char', got {level!r}")
        if not 0.0 < float(threshold) < 1.0:
            raise ConfigError(f"threshold must be in (0, 1), got {threshold}")
        if max_tokens is not None and int(max_tokens) < 1:
            raise ConfigError(f"max_tokens must be >= 1 or None, got {max_tokens}")
        self.text_options = dict(
            level=level,
            max_length=DEFAULT_MAX_LENGTH[level] if max_length is None else int(max_length),
            max_tokens=None if max_tokens is None else int(max_tokens),
            min_count=int(min_count),
            lowercase=bool(lowercase),
            punctuation=punctuation,
        )
        ngram_range, _, max_ngrams = check_ngram_options(ngram_range, max(int(ngram_buckets), 1), max_ngrams)
        self.text_options.update(ngram_range=list(ngram_range), max_ngrams=max_ngrams)
        self._make_vectorizer()  # validates the text options now rather than at fit time
        self.multi_label = multi_label
        self.threshold = float(threshold)
        self.embedding_vectors = embedding_vectors
        self.label_names = None
        self.task = None

    # -- configuration -------------------------------------------------------------
    def get_config(self):
        return {
            **self.spec.to_dict(), **self.text_options, "multi_label": self.multi_label, "threshold": self.threshold,
            "mixed_precision": self.mixed_precision,
        }

    def _make_vectorizer(self, vocabulary=None):
        options = {k: self.text_options[k] for k in ("level", "max_length", "lowercase", "punctuation")}
        ngrams = None
        if self.spec.ngram_buckets:
            ngrams = {
                "ngram_range": self.text_options["ngram_range"],
                "buckets": int(self.spec.ngram_buckets),
                "max_ngrams": self.text_options["max_ngrams"],
            }
        return TextVectorizer(vocabulary=vocabulary, ngrams=ngrams, **options)

    def _declared_sizes(self):
        sizes = super()._declared_sizes()
        if self.spec.ngram_buckets:  # the n-gram embedding's rows and width
            sizes.update(ngram_rows=int(self.spec.ngram_buckets) + 1, ngram_dim=int(self.spec.ngram_dim))
        return sizes

    @classmethod
    def _upgrade_saved_config(cls, config):
        # Saves from before the bag-of-n-grams head have no n-gram options: they had no bag.
        config.setdefault("ngram_buckets", 0)
        return config

    def _get_state(self):
        return {"label_names": self.label_names, "task": self.task}

    def _set_state(self, state):
        self.label_names = list(state["label_names"])
        self.task = state["task"]

    # -- training ------------------------------------------------------------------
    def _source(self, data, labels, split, label_names, source_options):
        check_known_options(source_options, SOURCE_OPTIONS)
        return labelled_texts(data, labels, split=split, label_names=label_names, **source_options)

    def _build(self, summary, source, verbose):
        """First fit: vocabulary, label names, task and model from the scanned training data."""
        multi_label = source.multi_label if self.multi_label is None else bool(self.multi_label)
        if multi_label != source.multi_label:
            raise DataError(f"multi_label={self.multi_label} but the data has {'lists of' if source.multi_label else 'single'} labels")
        label_names = label_order(summary.label_counts, source.label_names)
        if len(label_names) < 2 and not multi_label:
            raise DataError(f"need at least two classes to train a classifier; the data only has {label_names}")
        vocabulary = build_vocabulary(
            [summary.token_counts], max_tokens=self.text_options["max_tokens"], min_count=self.text_options["min_count"]
        )
        vectorizer = self._make_vectorizer(vocabulary)
        weights = None
        if self.embedding_vectors is not None:
            vectors, dim = read_word_vectors(self.embedding_vectors, wanted=vocabulary)
            if not vectors:
                raise DataError("none of the vocabulary was found in embedding_vectors")
            self.spec.embedding_dim = dim
            weights, coverage = embedding_matrix(vocabulary, vectors, dim)
            self._say(verbose, f"pretrained vectors cover {coverage:.1%} of the vocabulary (dimension {dim})")
        task = "multilabel" if multi_label else ("binary" if len(label_names) == 2 else "multiclass")
        with self._scope():
            self.model = build_classifier(
                vectorizer.vocabulary_size, len(label_names), task, self.spec, weights, compile=False
            )
            self._compile(self.model, classifier_objective(task))
            float32_outputs(self.model)
        self.vectorizer, self.label_names, self.task = vectorizer, label_names, task

    def _check_labels(self, summary, where):
        unknown = sorted(set(summary.label_counts) - set(self.label_names))
        if unknown:
            raise DataError(f"{where} has labels {unknown} the classifier does not know (it knows {self.label_names})")

    def fit(
        self,
        data,
        labels=None,
        *,
        validation_data=None, validation_labels=None, validation_split=0.1,  # held-out data
        epochs=10, time_limit=None, lr_schedule="budget", early_stopping_patience=3,  # how long
        batch_size=32, bucketing=True, shuffle_buffer=10_000, cache=True, seed=None,  # batches
        checkpoint_dir=None, tensorboard_dir=None, backup_dir=None, resume=False,  # files
        callbacks=None, verbose="auto",  # progress
        label_names=None,  # the labels
        **source_options,
    ):
        """Trains on labelled texts; calling it again continues training.

        Args:
            data: texts (with `labels`), a CSV/TSV path, a class-folder path (aclImdb
                layout), a TFDS name such as "imdb_reviews", or a `tf.data.Dataset` of
                `(text, label)`.
            labels: labels for a list of texts: names, integers, or lists (multi-label).
            validation_data, validation_labels: held-out data in any of the same forms;
                otherwise `validation_split` of the data is held out (by a hash of the text).
            epochs, batch_size: as in Keras.
            bucketing: batch texts of similar length together (less padding, faster).
            time_limit: stop training once this much time is spent (seconds, or a string
                such as "15m" or "1h30m"), whichever of it and `epochs` comes first; the
                best validation weights are restored. Resumed fits continue the budget.
            lr_schedule: with `time_limit`: "budget" (default: a short warm-up, then a
                cosine decay to the end of the budget) or "constant".
            early_stopping_patience: epochs without improvement before stopping (None: off);
                the best weights are restored at the end.
            checkpoint_dir: save the whole app to `<checkpoint_dir>/best` on improvement.
            tensorboard_dir: write TensorBoard logs there.
            backup_dir: BackupAndRestore state; rerun the same fit after a crash to resume.
            resume: train resumably even without `backup_dir` (the backup then goes to
                `<checkpoint_dir>/backup`, or `rnnapps_backup/<kind>`); a rerun continues
                at the last finished epoch with the optimizer state and the history.
            callbacks: extra Keras callbacks.
            label_names: names for integer labels / the label order.
            cache: cache vectorized examples in memory (True) or in this file path.
            seed: shuffling seed.
            **source_options: text_column, label_column, delimiter, label_separator
                (CSV/TSV), tfds_data_dir, download (TFDS).

        Returns:
            self, with the Keras `History` in `self.history`.
        """
        self._check_fit_numbers(epochs, batch_size, validation_split, early_stopping_patience)
        check_int("shuffle_buffer", shuffle_buffer, 1, 1 << 24)
        verbose_flag = verbose not in (0, False)
        source = self._source(data, labels, "train", label_names, source_options)
        sources = [source]
        train_examples, validation_examples = source.dataset, None
        if validation_data is not None:
            validation_source = self._source(validation_data, validation_labels, "test", label_names, source_options)
            sources.append(validation_source)
            validation_examples = validation_source.dataset
        elif validation_split:
            train_examples, validation_examples = split_validation(source.dataset, float(validation_split))
            validation_source = dataclasses.replace(source, dataset=validation_examples)
        scanner = self.vectorizer or self._make_vectorizer()
        summary = scan(dataclasses.replace(source, dataset=train_examples), scanner, source.multi_label)
        self._say(
            verbose_flag,
            f"training data: {summary.num_examples} texts, {len(summary.label_counts)} labels, "
            f"{len(summary.token_counts)} distinct tokens, mean length {summary.mean_length:.1f} tokens",
        )
        if self.is_fitted:
            self._check_labels(summary, "the training data")
        else:
            self._build(summary, source, verbose_flag)
        validation = None
        encoder = encode_labels(self.label_names, self.task)
        if validation_examples is not None:
            validation_summary = scan(
                dataclasses.replace(validation_source, dataset=validation_examples),
                scanner,
                source.multi_label,
                allow_empty=validation_data is None,
            )
            if validation_summary.num_examples == 0:  # a split of very little data can come out empty
                self._say(verbose_flag, "validation split is empty: training without validation data")
            else:
                self._check_labels(validation_summary, "the validation data")
                validation = make_training_batches(
                    validation_examples, self.vectorizer, encoder, int(batch_size),
                    sort_chunk=SORT_CHUNK_BATCHES if bucketing else None,
                    shuffle=False,
                )
        train = make_training_batches(
            train_examples, self.vectorizer, encoder, int(batch_size),
            sort_chunk=SORT_CHUNK_BATCHES if bucketing else None,
            seed=seed, shuffle_buffer=shuffle_buffer, cache=cache,
        )
        self._fit_model(
            train, validation, epochs, verbose, callbacks, sources,
            checkpoint_dir=checkpoint_dir, tensorboard_dir=tensorboard_dir, backup_dir=backup_dir, resume=resume,
            early_stopping_patience=early_stopping_patience,
            time_limit=time_limit, lr_schedule=lr_schedule,
            steps_hint=math.ceil(summary.num_examples / int(batch_size)),
        )
        return self

    # -- inference -----------------------------------------------------------------
    def _serving_fn(self):
        """The prediction `tf.function`, built once under a lock (apps serve many threads)."""
        model = self.model

        def build():
            serve = classifier_serving_fn(self.vectorizer, model, self.label_names, self.task, self.threshold)
            return tf.function(serve, input_signature=text_signature(), reduce_retracing=True)

        return self._graph(id(model), build)

    def predict(self, texts, batch_size=256):
        """Predicts labels and probabilities for raw strings (a string or a list of them).

        Empty or whitespace-only texts get a defined prediction (the model's answer to a
        single unknown token); invalid UTF-8 bytes are repaired; texts longer than
        `max_length` tokens are truncated.

        Example:
            >>> clf.predict(["great film", "dull"]).labels  # doctest: +SKIP
            ['positive', 'negative']
        """
        self._require_fitted("predict")
        batch_size = check_int("batch_size", batch_size, 1, MAX_BATCH_SIZE)
        texts = check_texts(texts)
        serve = self._serving_fn()
        rows = run_by_length(texts, batch_size, serve)
        probabilities = np.zeros((len(texts), len(self.label_names)), dtype="float32")
        for index, row in enumerate(rows):
            probabilities[index] = row["probabilities"]
        class_ids = probabilities.argmax(axis=-1) if len(texts) else np.zeros((0,), "int64")
        if self.task == "multilabel":
            labels = [[n for n, p in zip(self.label_names, row) if p >= self.threshold] for row in probabilities]
        else:
            labels = [self.label_names[i] for i in class_ids]
        return ClassifierPredictions(labels, probabilities, class_ids, list(self.label_names))

    def evaluate(self, data, labels=None, batch_size=256, label_names=None, **source_options):
        """Scores the classifier on labelled data (same forms as `fit`; TFDS names read "test").

        Returns:
            a `ClassificationReport`: accuracy, macro-F1, per-class precision/recall/F1,
            confusion matrix and mean loss; `print(report)` shows a table.

        Example:
            >>> print(clf.evaluate("imdb_reviews"))  # doctest: +SKIP
        """
        self._require_fitted("evaluate")
        batch_size = check_int("batch_size", batch_size, 1, MAX_BATCH_SIZE)
        source = self._source(data, labels, "test", label_names, source_options)
        serve = self._serving_fn()
        truths, predictions = [], []
        with source.reading():
            for texts, label_batch in ends_promptly(source.dataset.ragged_batch(int(batch_size))):
                predictions.append(serve(texts)["probabilities"].numpy())
                names = label_batch.to_list() if self.task == "multilabel" else label_batch.numpy().tolist()
                truths.extend(names)
        if not truths:
            raise DataError(f"the evaluation data is empty: {source.description} yielded no examples")
        return labelled_report(truths, np.concatenate(predictions), self.label_names, self.task, self.threshold)

    # -- export --------------------------------------------------------------------
    def export(self, base_dir="saved_models", name=None, warmup=True):
        """Exports a SavedModel for TF Serving as the next version of `<base_dir>/<name>`.

        Signature `serving_default`: `text: string[None]` -> `label: string[None]`,
        `probabilities: float[None, C]`, `class_id: int32[None]`, `classes: string[None, C]`
        (the class names of the probability columns). Only core TF ops, so
        stock TF Serving runs it. With `warmup`, the export carries TF Serving warm-up
        requests (`assets.extra/tf_serving_warmup_requests`). Returns the version directory.

        Example:
            >>> clf.export("saved_models", "sentiment")  # doctest: +SKIP
            '/abs/saved_models/sentiment/1'
        """
        self._require_fitted("export")
        serve = classifier_serving_fn(self.vectorizer, self.model, self.label_names, self.task, self.threshold)
        return self._export(
            [("serving_default", serve, text_signature())],
            [self.model, self.vectorizer],
            base_dir,
            name,
            warmup=warmup_requests.classifier_requests(self.vectorizer.get_vocabulary()[:40]) if warmup else None,
            task=self.task, label_names=self.label_names, threshold=self.threshold,
        )
