"""`Translator`: attention encoder-decoder translation from raw strings, with BLEU and heatmaps."""

import dataclasses
import math
import os

from rnnapps.apps.base import MAX_BATCH_SIZE, App, register_app
from rnnapps.checks import check_int, check_optional_int, check_texts
from rnnapps.builders.seq2seq import Seq2SeqSpec, build_seq2seq, seq2seq_objective
from rnnapps.data.parallel import (
    MARKERS,
    build_translation_vectorizers,
    check_text_options,
    first_pairs,
    held_out_batches,
    pairs_for,
    split_pairs,
    translation_batches,
    translation_vectorizer,
)
from rnnapps.decoding.limits import DEFAULT_LIMITS, RequestLimits
from rnnapps.errors import DataError
from rnnapps.export import warmup as warmup_requests
from rnnapps.export.translation import (  # Translation: public here too
    MAX_TRANSLATION_LENGTH,
    Translation,
    check_decoding_options,
    decoding_facts,
    run_translation_graph,
    translation_endpoints,
    translation_graph,
    translation_results,
)
from rnnapps.text import load_vocabulary, save_vocabulary
from rnnapps.training import optimizer_from
from rnnapps.training.bleu import BleuCallback, TranslationReport, pairs_report, token_match_keys  # noqa: F401
from rnnapps.training.precision import float32_outputs

TARGET_VOCABULARY_FILE = "target_vocabulary.json"


@register_app
class Translator(App):
    """Attention encoder-decoder (seq2seq) translation: raw source strings to target strings.

    Args:
        attention: "luong" (attend with the new decoder state), "bahdanau" (attend with
            the previous one, context fed into the cell) or "none" (plain seq2seq).
        score: "dot", "general", "concat"/"additive" (default: general for Luong,
            additive for Bahdanau).
        input_feeding: Luong input feeding (slower to train: a step loop in the graph).
        cell, units, encoder_units, depth, bidirectional, dropout, attention_units,
            attention_norm, source_embedding_dim, target_embedding_dim: the model (see
            `Seq2SeqSpec`). Default: GRU(256) encoder (bidirectional) and decoder, Luong
            attention, embeddings of 256; `attention_norm` layer-normalizes the
            attentional vector ("auto": wherever it applies, Luong without input feeding).
        source_level, target_level: "word" or "char" tokens per side.
        lowercase, punctuation: text normalisation of both sides.
        source_max_tokens, target_max_tokens: vocabulary caps; min_count: rarer tokens
            become `<unk>`.
        replace_unknown: replace an output `<unk>` by the source token it attends to
            most (copies names and numbers the target vocabulary lacks).
        source_max_length, target_max_length: tokens kept per sentence (default 50
            words / 200 chars); longer sources are truncated.
        optimizer, learning_rate, clipnorm, global_clipnorm, clipvalue,
            optimizer_options: training settings (Adam, clipnorm 1.0 by default).
        strategy, mixed_precision: see `App`.

    Example:
        >>> tr = Translator(attention="luong", units=256)                  # doctest: +SKIP
        >>> tr.fit("spa-eng/spa.txt", epochs=10)                           # doctest: +SKIP
        >>> tr.translate(["I am cold."], beam_width=4)                     # doctest: +SKIP
        ['tengo frío.']
    """

    kind = "translator"

    def __init__(
        self,
        attention="luong", score=None, input_feeding=False,  # attention
        cell="gru", units=256, encoder_units=None, depth=1, bidirectional=True, dropout=0.0,  # recurrent layers
        attention_units=None, attention_norm="auto",  # more attention
        source_embedding_dim=256, target_embedding_dim=256,  # embeddings
        source_level="word", target_level="word", lowercase=True, punctuation="split",  # tokens
        source_max_tokens=20_000, target_max_tokens=20_000, min_count=1,  # vocabularies
        source_max_length=None, target_max_length=None, replace_unknown=True,  # sentences
        optimizer="adam", learning_rate=1e-3,  # optimizer
        clipnorm=1.0, global_clipnorm=None, clipvalue=None, optimizer_options=None,
        strategy=None, mixed_precision=None,  # devices
    ):
        super().__init__(strategy=strategy, mixed_precision=mixed_precision)
        self.spec = Seq2SeqSpec(
            cell=cell, units=units, encoder_units=encoder_units, depth=depth,
            source_embedding_dim=source_embedding_dim, target_embedding_dim=target_embedding_dim,
            bidirectional=bidirectional, dropout=dropout, attention=attention, score=score,
            input_feeding=input_feeding, attention_units=attention_units, attention_norm=attention_norm,
            optimizer=optimizer, learning_rate=learning_rate, clipnorm=clipnorm,
            global_clipnorm=global_clipnorm, clipvalue=clipvalue, optimizer_options=optimizer_options,
        )
        self.text_options = check_text_options(
            source_level=source_level, target_level=target_level, lowercase=lowercase, punctuation=punctuation,
            source_max_tokens=source_max_tokens, target_max_tokens=target_max_tokens, min_count=min_count,
            source_max_length=source_max_length, target_max_length=target_max_length,
        )
        self.replace_unknown = bool(replace_unknown)
        optimizer_from(self.spec)  # validates the optimizer name and options now rather than at fit time
        self.target_vectorizer = None
        self.models = None
        self.max_output_length = self.text_options["target_max_length"]
        self.data_stats = {}
        self.limits = DEFAULT_LIMITS  # bounds of one translate() call (rnnapps.decoding.limits)

    @classmethod
    def from_vocabularies(cls, source_vocabulary, target_vocabulary, **options):
        """An untrained translator over given token lists (for tests, benchmarks, warm starts).

        `target_vocabulary` lists the learned tokens only; the start and end markers are
        put in front of it.

        Example:
            >>> tr = Translator.from_vocabularies(["one", "two"], ["1", "2"], units=8)  # doctest: +SKIP
            >>> tr.translate("one two", max_length=3)                                   # doctest: +SKIP
        """
        translator = cls(**options)
        translator.vectorizer = translator._make_vectorizer(list(source_vocabulary))
        translator.target_vectorizer = translator._make_target_vectorizer(list(MARKERS) + list(target_vocabulary))
        translator._build_models()
        return translator

    # -- configuration -------------------------------------------------------------
    @classmethod
    def _upgrade_saved_config(cls, config):
        # Saves from before `attention_norm` existed have no such layer.
        config.setdefault("attention_norm", False)
        return config

    def get_config(self):
        return {
            **self.spec.to_dict(), **self.text_options, "replace_unknown": self.replace_unknown,
            "mixed_precision": self.mixed_precision,
        }

    def _make_vectorizer(self, vocabulary=None):
        return translation_vectorizer(self.text_options, "source", vocabulary)

    def _make_target_vectorizer(self, vocabulary=None):
        return translation_vectorizer(self.text_options, "target", vocabulary)

    def _get_state(self):
        return {"max_output_length": self.max_output_length, "data_stats": self.data_stats}

    def _set_state(self, state):
        self.max_output_length = int(state.get("max_output_length", self.text_options["target_max_length"]))
        self.data_stats = dict(state.get("data_stats", {}))

    # -- saving (two vocabularies) ---------------------------------------------------
    def _save_extra(self, directory):
        save_vocabulary(self.target_vectorizer.get_vocabulary(), os.path.join(directory, TARGET_VOCABULARY_FILE))

    def _load_extra(self, path):
        self.target_vectorizer = self._make_target_vectorizer(load_vocabulary(os.path.join(path, TARGET_VOCABULARY_FILE)))

    def _embedded_vocabularies(self):
        return [("source", "source_embedding", self.vectorizer), ("target", "target_embedding", self.target_vectorizer)]

    def _build_models(self):
        with self._scope():
            self.models = build_seq2seq(
                self.vectorizer.vocabulary_size, self.target_vectorizer.vocabulary_size, self.spec, compile=False
            )
            self._compile(self.models.train, seq2seq_objective())
            float32_outputs(self.models.train, self.models.decoder_step)
        self.model = self.models.train

    # -- training --------------------------------------------------------------------
    def fit(
        self,
        data,
        targets=None,
        *,
        validation_data=None, validation_split=0.1,  # held-out data
        epochs=10, time_limit=None, lr_schedule="budget", early_stopping_patience=3,  # how long
        batch_size=64, shuffle_buffer=10_000, cache=True, seed=None,  # batches
        checkpoint_dir=None, tensorboard_dir=None, backup_dir=None, resume=False,  # files
        callbacks=None, verbose="auto",  # progress
        bleu_every=None, bleu_samples=200,  # validation BLEU
        **source_options,
    ):
        """Trains on parallel text; calling it again continues training.

        Args:
            data: a tab-separated pairs file (Anki `spa.txt`: source, target, anything
                else ignored), a list of `(source, target)` pairs, a list of sources
                (with `targets`), a TFDS translation dataset name such as
                "ted_hrlr_translate/pt_to_en", or a `tf.data.Dataset` of string pairs.
            targets: the target sentences for a list of sources, or the aligned target
                file for a source file (one sentence per line each).
            validation_data: held-out pairs in any of those forms (without targets);
                otherwise `validation_split` of the pairs is held out (by a hash).
            epochs, batch_size: as in Keras (batches group pairs of similar length).
            time_limit, lr_schedule, early_stopping_patience (on the validation loss),
                checkpoint_dir, tensorboard_dir, backup_dir, resume, callbacks: see `SentimentClassifier.fit`.
            bleu_every: every N epochs, translate up to `bleu_samples` validation pairs
                (greedy) and log their corpus BLEU as `val_bleu`.
            cache: cache the vectorized pairs in memory (True) or in this file path.
            seed: shuffling seed.
            **source_options: for pairs files `source_column` (default 0),
                `target_column` (1), `delimiter` (tab), `encoding`; for TFDS
                `source_key`, `target_key`, `tfds_data_dir`, `download`.

        Returns:
            self, with the Keras `History` in `self.history` (loss, accuracy over real
            target tokens, grad_norm, their validation twins, val_bleu).
        """
        self._check_fit_numbers(epochs, batch_size, validation_split, early_stopping_patience)
        check_optional_int("bleu_every", bleu_every, 1)
        check_int("shuffle_buffer", shuffle_buffer, 1, 1 << 24)
        verbose_flag = verbose not in (0, False)
        source = pairs_for(data, targets, "train", source_options)
        sources = [source]
        train_pairs, validation_pairs = source, None
        if validation_data is not None:
            validation_pairs = pairs_for(validation_data, None, "validation", source_options)
            sources.append(validation_pairs)
        elif validation_split:
            train_pairs, validation_pairs = split_pairs(source, float(validation_split))
        first_fit = not self.is_fitted
        if first_fit:
            self.vectorizer, self.target_vectorizer, stats = build_translation_vectorizers(train_pairs, **self.text_options)
            self.data_stats = dataclasses.asdict(stats)
            longest = min(stats.target_max_length, self.text_options["target_max_length"])
            self.max_output_length = int(min(MAX_TRANSLATION_LENGTH, int(longest * 1.5) + 5))
            self._build_models()
            self._say(verbose_flag, stats.summary(self.vectorizer.vocabulary_size, self.target_vectorizer.vocabulary_size))
        batch_size = int(batch_size)
        validation, bleu_sample = None, None
        if validation_pairs is not None:
            validation, bleu_sample = held_out_batches(
                validation_pairs, self.vectorizer, self.target_vectorizer, batch_size, bleu_samples, cache
            )
            if not bleu_sample and validation_data is not None:
                raise DataError("the validation data is empty: it yielded no pairs")
            if not bleu_sample:
                self._say(verbose_flag, "validation split is empty: training without validation data")
        train = translation_batches(
            train_pairs, self.vectorizer, self.target_vectorizer, batch_size,
            shuffle=True, seed=seed, shuffle_buffer=shuffle_buffer, cache=cache,
        )
        extra = []
        if bleu_every and bleu_sample:
            translate = lambda texts: self.translate(list(texts))  # noqa: E731
            extra.append(BleuCallback.on_pairs(translate, bleu_sample, every=int(bleu_every), verbose=verbose_flag))
        self._fit_model(
            train, validation, epochs, verbose, extra + list(callbacks or []), sources,
            checkpoint_dir=checkpoint_dir, tensorboard_dir=tensorboard_dir, backup_dir=backup_dir, resume=resume,
            early_stopping_patience=early_stopping_patience,
            time_limit=time_limit, lr_schedule=lr_schedule,
            steps_hint=math.ceil(self.data_stats["num_pairs"] / batch_size) if first_fit else None,
            output_prior=translation_batches(
                train_pairs, self.vectorizer, self.target_vectorizer, batch_size, shuffle=False, cache=False
            ) if first_fit else None,
        )
        return self

    # -- translation -----------------------------------------------------------------
    def _translation_options(self, models, limits):
        """`translation_fn`'s keyword arguments other than the beam's (`translate` and `export`)."""
        return dict(
            source_vectorizer=self.vectorizer, target_vocabulary=self.target_vectorizer.get_vocabulary(),
            models=models, target_level=self.text_options["target_level"], replace_unknown=self.replace_unknown,
            limits=limits,
        )

    def _decoder(self, beam_width, num_results):
        """The decoding `tf.function` of one (beam_width, num_results): built once, under a
        lock, and only the last `max_cached_graphs` combinations are kept."""
        limits = RequestLimits.of(self.limits)
        models = self.models

        def build():
            return translation_graph(self._translation_options(models, limits), beam_width, num_results)

        return self._graph((beam_width, num_results, limits, id(models)), build)

    def translate(
        self, sources, beam_width=1, max_length=None, length_penalty=0.0, num_results=1,
        return_details=False, batch_size=64,
    ):
        """Translates raw strings (a string or a list of them), in one in-graph loop per batch.

        Args:
            sources: a string or a list of strings (any length mix; batched internally).
            beam_width: 1 decodes greedily; K > 1 runs beam search with K hypotheses.
            max_length: output tokens at most (default: about 1.5x the longest training
                target, see `max_output_length`).
            length_penalty: GNMT alpha: 0 ranks by log-probability; ~0.6-1.0 favours
                longer translations (useful with wide beams).
            num_results: how many translations per source (<= beam_width), best first.
            return_details: return `Translation` objects (scores, attention weights,
                output and source tokens) instead of strings.

        Returns:
            a string per source (a list of `num_results` strings when it is > 1); a
            single value for a single string; `Translation`s with `return_details`.
            An empty source translates to ""; invalid UTF-8 bytes are repaired;
            sources longer than `source_max_length` tokens are truncated.

        Example:
            >>> tr.translate("I am cold.")                                       # doctest: +SKIP
            'tengo frío.'
            >>> tr.translate(["I am cold."], beam_width=4, num_results=2)         # doctest: +SKIP
            [['tengo frío.', 'estoy frío.']]
        """
        self._require_fitted("translate")
        check_decoding_options(beam_width, num_results, max_length, length_penalty, self.limits)
        check_int("batch_size", batch_size, 1, MAX_BATCH_SIZE)
        single = isinstance(sources, (str, bytes))
        texts = check_texts(sources, "sources")
        rows = []
        if texts:
            length = self.max_output_length if max_length is None else max_length
            chunk = min(int(batch_size), RequestLimits.of(self.limits).max_batch)  # bounded memory per call
            rows = run_translation_graph(self._decoder(beam_width, num_results), texts, length, length_penalty, chunk)
        results = translation_results(texts, rows, num_results, details=return_details)
        return results[0] if single else results

    def plot_attention(self, source, path=None, beam_width=1, title=None):
        """Draws where the model looks: a heatmap of the attention weights translating `source`.

        Source tokens label the columns, output tokens the rows. Returns the PNG path
        (default: a new file in the temporary directory).

        Example:
            >>> tr.plot_attention("I am cold.", "attention.png")  # doctest: +SKIP
            'attention.png'
        """
        from rnnapps.viz.attention import plot_translator_attention

        self._require_fitted("plot attention")
        return plot_translator_attention(self, source, path, beam_width, title)

    # -- evaluation ------------------------------------------------------------------
    def evaluate(
        self, data, targets=None, beam_width=1, max_length=None, length_penalty=0.0, batch_size=64,
        num_examples=3, **source_options,
    ):
        """Corpus BLEU and exact-match rate on held-out pairs (same forms as `fit`).

        BLEU-4 is computed sacreBLEU-style on the detokenized, lowercased translations
        against the raw references; exact match compares lowercase token sequences.
        TFDS names read their "test" split.

        Example:
            >>> print(tr.evaluate("spa_test.txt", beam_width=4))  # doctest: +SKIP
            BLEU 31.42 (62.1/38.0/25.3/17.2, brevity penalty 0.981), exact match 18.0% over 5000 pairs ...
        """
        self._require_fitted("evaluate")
        check_decoding_options(beam_width, 1, max_length, length_penalty, self.limits)
        source = pairs_for(data, targets, "test", source_options)
        with source.reading():
            pairs = first_pairs(source.dataset)
        options = dict(beam_width=beam_width, max_length=max_length, length_penalty=length_penalty, batch_size=batch_size)
        translate = lambda sources: self.translate(sources, **options)  # noqa: E731
        return pairs_report(pairs, translate, token_match_keys(self.target_vectorizer), beam_width, num_examples)

    # -- export ----------------------------------------------------------------------
    def export(
        self, base_dir="saved_models", name=None, beam_width=4, num_results=1, length_penalty=0.0, max_length=None,
        limits=None, warmup=True,
    ):
        """Exports a SavedModel for TF Serving as the next version of `<base_dir>/<name>`.

        Endpoints (only core TF ops; decoding loops run inside the graph; see
        `rnnapps.export.translation.translation_endpoints`): `serving_default(source)`
        (greedy, at most `max_length` tokens, default `max_output_length`), `translate(source,
        max_length)` (beam search with the `beam_width`, `num_results` and `length_penalty`
        fixed here: translations, scores, attention, tokens, source_tokens) and `greedy`.
        `limits`: a `RequestLimits` or dict (`rnnapps.decoding.limits`; `beam_width` at most
        `limits.max_beam_width`). With `warmup`, the export carries TF Serving warm-up
        requests for every endpoint (`assets.extra/tf_serving_warmup_requests`).

        Example:
            >>> tr.export("saved_models", "en_es", beam_width=4)  # doctest: +SKIP
            '/abs/saved_models/en_es/1'
        """
        self._require_fitted("export")
        limits = RequestLimits.of(limits)
        check_decoding_options(beam_width, num_results, max_length, length_penalty, limits)
        default_length = self.max_output_length if max_length is None else int(max_length)
        common = dict(self._translation_options(self.models, limits), length_penalty=float(length_penalty))
        return self._export(
            translation_endpoints(common, beam_width, num_results, default_length),
            [self.models.train, self.models.encoder, self.models.decoder_step, self.vectorizer],
            base_dir,
            name,
            warmup=warmup_requests.translation_requests(self.vectorizer.get_vocabulary()[:40]) if warmup else None,
            limits=limits.to_dict(),
            decoding=decoding_facts(beam_width, num_results, length_penalty, default_length),
        )

