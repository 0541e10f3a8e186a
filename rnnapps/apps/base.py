"""`App`: what every app shares: saving whole, loading, strategies, fitting with callbacks.

A saved app is one directory:

    config.json       app name, format version, constructor options, learned state (labels ...)
    vocabulary.json   the token vocabulary (JSON list; id of token i is i + 2)
    model.keras       the Keras model on int ids, optimizer state included
    history.json      the training history, when there is one: {"epochs": {key: [per epoch]},
                      "steps": {"step": [...], "grad_norm": [...], ...}} (`rnnapps diagnose history`)

No pickle anywhere: the directory can be inspected, versioned and loaded safely.
"""

import contextlib
import importlib
import json
import os
import warnings

import tensorflow as tf

import rnnapps
from rnnapps.checks import check_int, check_optional_int, check_real
from rnnapps.dataset_iteration import ends_promptly
from rnnapps.errors import ConfigError, DataError, ModelFileError
from rnnapps.apps.graph_cache import GraphCache
from rnnapps.apps.saved import (  # noqa: F401  (is_saved_app, read_saved_config: public here too)
    CONFIG_FILE, FORMAT_VERSION, HISTORY_FILE, MODEL_FILE, VOCABULARY_FILE, check_declared_sizes,
    check_model_file_sizes, is_saved_app, load_model_file, read_saved_config,
)
from rnnapps.export import export_serving
from rnnapps.io_utils import replace_directory
from rnnapps.text import load_vocabulary, save_vocabulary
from rnnapps.training import (
    GradientNormMonitor,
    HeadEnsembleModel,
    check_precision,
    compile_model,
    default_callbacks,
    precision_scope,
)
from rnnapps.training.history import TrainingHistory
from rnnapps.training.optim import copy_optimizer_state
from rnnapps.training.output_prior import dataset_targets, init_output_bias
from rnnapps.training.resume import EpochHistoryLog, app_identity, backup_location, check_backup_identity, merge_history
from rnnapps.training.time_budget import check_lr_schedule, parse_time_limit

MAX_EPOCHS = 1_000_000
MAX_BATCH_SIZE = 1 << 20  # rows per training/prediction batch
# Options that are layer sizes: a loaded model's weights must have them.
SIZE_OPTIONS = ("units", "hidden_units", "embedding_dim", "source_embedding_dim", "target_embedding_dim")
_APPS = {}


def register_app(cls):
    """Class decorator: lets `rnnapps.load` find the app class named in a save's config."""
    _APPS[cls.__name__] = cls
    return cls


def load(path, strategy=None):
    """Loads any app saved with `app.save(path)`.

    Args:
        path: the saved directory.
        strategy: optional `tf.distribute.Strategy` to rebuild the model under.

    Example:
        >>> clf = rnnapps.load("models/sentiment")  # doctest: +SKIP
        >>> clf.predict(["what a film"]).labels     # doctest: +SKIP
    """
    document = read_saved_config(path)
    importlib.import_module("rnnapps.apps")  # registers every app class
    cls = _APPS.get(document["app"])
    if cls is None:
        raise ModelFileError(f"{path} holds an unknown app type {document['app']!r}")
    return cls._from_saved(os.fspath(path), document, strategy)


class App:
    """Base class of the apps. Subclasses set `kind` and implement the hooks below.

    `self.spec` holds the model options, the one optimizer spec included (a
    `rnnapps.training.OptimizerSettings`): `_compile` compiles with it.

    Args (of every app):
        strategy: a `tf.distribute.Strategy` to build and train under.
        mixed_precision: None, "mixed_bfloat16" (CPUs, TPUs) or "mixed_float16" (GPUs):
            compute in 16 bits with float32 weights; outputs (logits) stay float32.
    """

    kind = "app"
    max_cached_graphs = 8  # lazily built serving graphs kept (see `_graph`)
    rebuild_on_load = True  # the save holds the train model: `_after_load` rebuilds `self.models` around it

    def __init__(self, strategy=None, mixed_precision=None):
        if strategy is not None and not isinstance(strategy, tf.distribute.Strategy):
            raise ConfigError(f"strategy must be a tf.distribute.Strategy, got {type(strategy).__name__}")
        self.strategy = strategy
        self.mixed_precision = check_precision(mixed_precision)
        self.model = None
        self.vectorizer = None
        self.history = None
        self.step_history = None
        self._graphs = GraphCache(self.max_cached_graphs)

    # -- hooks ---------------------------------------------------------------------
    def get_config(self):
        """Constructor options, JSON-serializable (enough to rebuild an untrained app)."""
        raise NotImplementedError

    def _make_vectorizer(self, vocabulary=None):
        """A `TextVectorizer` configured from this app's options."""
        raise NotImplementedError

    def _get_state(self):
        """Learned, JSON-serializable state beyond vocabulary and weights (e.g. label names)."""
        return {}

    def _set_state(self, state):
        pass

    def _build_models(self):
        """Builds `self.models` (train and inference models over one set of layers) from the
        vectorizers and `self.spec` in `_scope()`, compiles the train model with `_compile`
        and makes it `self.model` (apps with `rebuild_on_load`)."""
        raise NotImplementedError

    def _after_load(self):
        """Called once a save is loaded (model, vocabulary and state in place).

        With `rebuild_on_load`, the inference models are rebuilt around fresh layers
        (`_build_models`) and given the loaded train model's weights and optimizer state."""
        if self.rebuild_on_load:
            loaded = self.model
            self._build_models()
            self._adopt_loaded_model(loaded)

    def _adopt_loaded_model(self, loaded):
        """Gives the rebuilt train model (`self.model`) the loaded model's weights and optimizer
        state, so a loaded app's `fit` continues with the saved iteration count and Adam's
        moments instead of a fresh optimizer (same builder, so the same weight and slot order).

        Example:
            >>> loaded = self.model; self._build_models(); self._adopt_loaded_model(loaded)  # doctest: +SKIP
        """
        self.model.set_weights(loaded.get_weights())
        with self._scope():
            copy_optimizer_state(
                getattr(loaded, "optimizer", None), getattr(self.model, "optimizer", None), self.model.trainable_variables
            )

    def _save_extra(self, directory):
        """Writes files beyond config, vocabulary and model into a save (e.g. a second vocabulary)."""

    def _load_extra(self, path):
        """Reads what `_save_extra` wrote; called after the vocabulary, before the model."""

    def _vocabularies(self):
        """Every vocabulary the model's shapes depend on (a backup must match them all)."""
        return [vectorizer.get_vocabulary() for _, _, vectorizer in self._embedded_vocabularies()]

    def _embedded_vocabularies(self):
        """`(side, embedding layer name, vectorizer)` of each vocabulary the model embeds."""
        return [("", "embedding", self.vectorizer)]

    def _check_vocabulary(self, path):
        """Raises `ModelFileError` when the loaded model and vocabularies do not belong together."""
        for side, layer, vectorizer in self._embedded_vocabularies():
            try:
                expected = self.model.get_layer(layer).input_dim
            except ValueError:
                raise ModelFileError(f"{path}: the model has no {layer} layer; it is not a {self.kind}'s model") from None
            if expected != vectorizer.vocabulary_size:
                raise ModelFileError(
                    f"{path}: the {side}{' ' if side else ''}vocabulary has {vectorizer.vocabulary_size} ids but the "
                    f"model expects {expected}; the files come from different saves"
                )

    def _declared_sizes(self):
        """The layer sizes this app's options promise (`units`, `embedding_dim` ...), >0 ints."""
        config = self.get_config()
        return {
            key: value for key in SIZE_OPTIONS
            if type(value := config.get(key)) is int and value > 0
        }

    def _check_model_file_sizes(self, model_path):
        """Refuses a `model.keras` that declares layers far larger than the app's options and
        vocabularies, before Keras allocates them (a tampered file must not exhaust memory)."""
        sizes = list(self._declared_sizes().values()) + [len(v) + 4 for v in self._vocabularies()]
        check_model_file_sizes(model_path, 4 * max(sizes + [1]))

    def _check_sizes(self, path):
        """Raises `ModelFileError` when config.json's sizes are not those of the loaded weights."""
        check_declared_sizes(path, self._declared_sizes(), self.model.weights)

    # -- shared machinery ----------------------------------------------------------
    @property
    def is_fitted(self):
        return self.model is not None

    def _require_fitted(self, action):
        if not self.is_fitted:
            raise ConfigError(f"cannot {action}: this {type(self).__name__} is not trained yet (call fit() or rnnapps.load())")

    @contextlib.contextmanager
    def _scope(self):
        """Where models, optimizers and `compile` must happen: the strategy's scope and
        the mixed-precision policy (restored on exit, so it never leaks to other models)."""
        with contextlib.ExitStack() as stack:
            if self.strategy is not None:
                stack.enter_context(self.strategy.scope())
            stack.enter_context(precision_scope(self.mixed_precision))
            yield

    @staticmethod
    def _check_fit_numbers(epochs, batch_size, validation_split=0.0, early_stopping_patience=None):
        """`ConfigError` for a fit option out of range (every app's `fit` calls this first)."""
        check_int("epochs", epochs, 1, MAX_EPOCHS)
        check_int("batch_size", batch_size, 1, MAX_BATCH_SIZE)
        check_real("validation_split", validation_split or 0.0, 0.0, 1.0, high_open=True)
        check_optional_int("early_stopping_patience", early_stopping_patience, 0)

    def _graph(self, key, build):
        """The lazily built serving graph (or table) for `key`: built once under the cache's
        lock, shared by every thread; `fit` empties the cache, since training changes weights."""
        return self._graphs.get(key, build)

    def _export(self, endpoints, tracked, base_dir, name, warmup=None, **facts):
        """Publishes a SavedModel (see `rnnapps.export.export_serving`) with the metadata every
        app writes: its name, config, `facts`, and the endpoints' real request/response specs."""
        self._require_fitted("export")
        metadata = {"app": type(self).__name__, **facts, "config": self.get_config()}
        return export_serving(endpoints, tracked, base_dir, name or self.kind, metadata=metadata, warmup=warmup)

    def _compile(self, model, objective):
        """Compiles `model` (inside `_scope()`) for `objective`, a builder's `(loss, metrics)`,
        with a fresh optimizer of the app's one optimizer spec, `self.spec`
        (`rnnapps.training.compile_model`, which the builders' `compile=True` uses too)."""
        compile_model(model, objective, self.spec)

    def _say(self, verbose, message):
        if verbose:
            print(message, flush=True)

    def save(self, path):
        """Saves the whole app (model, vocabulary, config) to the directory `path`.

        The directory is written next to its final place and renamed into it, so a
        crash never leaves a half-written save, and an existing save is only replaced
        once the new one is complete and on disk (a kill mid-replacement is repaired by the
        next save or load). A non-empty directory that is not provably an rnnapps save
        (see `is_saved_app`) is refused with `ModelFileError` and left untouched.

        Example:
            >>> clf.save("models/sentiment")  # doctest: +SKIP
        """
        self._require_fitted("save")
        document = {
            "format_version": FORMAT_VERSION,
            "app": type(self).__name__,
            "rnnapps_version": rnnapps.__version__,
            "config": self.get_config(),
            "state": self._get_state(),
        }

        def write(directory):
            with open(os.path.join(directory, CONFIG_FILE), "w", encoding="utf-8") as handle:
                json.dump(document, handle, ensure_ascii=False, indent=2)
            save_vocabulary(self.vectorizer.get_vocabulary(), os.path.join(directory, VOCABULARY_FILE))
            self._save_extra(directory)
            if self.history is not None:
                history = TrainingHistory.of(self.history, self.step_history)
                with open(os.path.join(directory, HISTORY_FILE), "w", encoding="utf-8") as handle:
                    json.dump(history.to_dict(), handle)
            self.model.save(os.path.join(directory, MODEL_FILE))

        return replace_directory(write, path, is_saved_app)

    @classmethod
    def _from_saved(cls, path, document, strategy):
        if document["app"] != cls.__name__:
            raise ModelFileError(f"{path} holds a {document['app']}, not a {cls.__name__}")
        try:
            app = cls(**cls._upgrade_saved_config(dict(document.get("config", {}))), strategy=strategy)
        except (TypeError, ConfigError) as error:
            raise ModelFileError(f"{path}/{CONFIG_FILE} has invalid options: {error}") from None
        app.vectorizer = app._make_vectorizer(load_vocabulary(os.path.join(path, VOCABULARY_FILE)))
        app._load_extra(path)
        model_path = os.path.join(path, MODEL_FILE)
        if not os.path.isfile(model_path):
            raise ModelFileError(f"{path} is incomplete: {MODEL_FILE} is missing")
        app._check_model_file_sizes(model_path)
        with app._scope():
            app.model = load_model_file(model_path)
        app._check_vocabulary(path)
        app._check_sizes(path)
        try:
            app._set_state(document.get("state", {}))
            app._after_load()
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
            raise ModelFileError(
                f"{path} is damaged or was edited ({type(error).__name__}: {error}); save the app again"
            ) from None
        history_path = os.path.join(path, HISTORY_FILE)
        if os.path.isfile(history_path):
            try:
                app.history = TrainingHistory.load(history_path)
                app.step_history = app.history.steps
            except ModelFileError:
                warnings.warn(f"{history_path} is damaged: the app is loaded without its training history")
        return app

    @classmethod
    def _upgrade_saved_config(cls, config):
        """Fills options that older saves lack with the values those saves were made with."""
        return config

    @classmethod
    def load(cls, path, strategy=None):
        """Loads a saved app of this class (see `rnnapps.load`)."""
        return cls._from_saved(os.fspath(path), read_saved_config(path), strategy)

    def _output_layer(self):
        """The train model's output layer: "logits", or a tied "embedding" (its output bias)."""
        names = {layer.name for layer in self.models.train.layers}
        return self.models.train.get_layer("logits" if "logits" in names else "embedding")

    def _fit_model(self, train, validation, epochs, verbose, callbacks, sources, checkpoint_dir=None,
                   tensorboard_dir=None, backup_dir=None, early_stopping_patience=3, model=None, resume=False,
                   time_limit=None, lr_schedule="budget", steps_hint=None, output_prior=None):
        """Runs `model.fit` with the default callbacks; reading failures become `DataError`.

        `model` is what to fit when it is not `self.model` itself (e.g. a training-time
        wrapper around the app's layers); checkpoints still save the whole app.
        `resume=True` (or a `backup_dir`) trains through `BackupAndRestore`: a rerun of
        the same fit after a crash continues at the last finished epoch, optimizer
        state and epoch history included, and refuses a backup of another app/vocabulary.
        `time_limit` (seconds or "15m") ends training once spent, whichever of it and
        `epochs` comes first; `lr_schedule` plans the rate over it; `steps_hint` is the
        estimated batches per epoch for the progress line. `output_prior`, for freshly
        built models, is a dataset of `(inputs, targets)` batches (unshuffled is fine) whose
        target frequencies start the output bias (`rnnapps.training.output_prior`).
        """
        check_int("epochs", epochs, 1, MAX_EPOCHS)
        self._graphs.clear()  # graphs built before this fit must not outlive its weights
        time_limit = parse_time_limit(time_limit)
        check_lr_schedule(lr_schedule)
        location = backup_location(self.kind, resume, backup_dir, checkpoint_dir)
        if location is not None and backup_dir is None:
            self._say(verbose, f"resumable training: backup in {location} (rerun the same fit after a crash to continue)")
        backup_dir = location
        if backup_dir is not None:
            identity = app_identity(type(self).__name__, self.get_config(), self._vocabularies())
            identity["state"] = json.loads(json.dumps(self._get_state()))
            check_backup_identity(backup_dir, identity)
        all_callbacks = default_callbacks(
            has_validation=validation is not None,
            save_fn=self.save,
            checkpoint_dir=checkpoint_dir,
            early_stopping_patience=early_stopping_patience,
            tensorboard_dir=tensorboard_dir,
            backup_dir=backup_dir,
            extra=callbacks,
            verbose=verbose not in (0, False),
            time_limit=time_limit,
            lr_schedule=lr_schedule,
            steps_hint=steps_hint,
            base_learning_rate=float(self.spec.learning_rate),  # what a time-budget schedule scales
            per_head=isinstance(model or self.model, HeadEnsembleModel),
        )
        with contextlib.ExitStack() as stack:
            for source in sources:
                stack.enter_context(source.reading())
            # Streams have unknown length, so Keras warns at the end of every first
            # epoch that the input "ran out of data": expected here, not a problem.
            stack.enter_context(warnings.catch_warnings())
            warnings.filterwarnings("ignore", message=".*ran out of data.*")
            if output_prior is not None:  # freshly built models only (a backup, if any, is restored after)
                init_output_bias(self._output_layer(), dataset_targets(output_prior))
            try:
                history = (model or self.model).fit(
                    ends_promptly(train),
                    validation_data=None if validation is None else ends_promptly(validation),
                    epochs=int(epochs),
                    callbacks=all_callbacks,
                    verbose=verbose,
                    shuffle=False,  # the pipeline shuffles; Keras cannot shuffle a tf.data stream
                )
            except tf.errors.ResourceExhaustedError as error:
                raise DataError(f"out of memory while training ({error.message.splitlines()[0]}): lower batch_size or max_length") from None
        for callback in all_callbacks:
            if isinstance(callback, EpochHistoryLog):
                history = merge_history(callback.previous, history)
            elif isinstance(callback, GradientNormMonitor):
                self.step_history = callback.steps
        self.history = history
        return history

