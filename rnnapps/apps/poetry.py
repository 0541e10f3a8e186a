"""`PoetryGenerator`: classical Chinese poems from a char-level recurrent LM, exactly in form."""

import dataclasses
import math

import tensorflow as tf

from rnnapps.apps.base import MAX_BATCH_SIZE, App, register_app
from rnnapps.builders.language_model import LanguageModelSpec, build_language_model, language_model_objective
from rnnapps.checks import check_real
from rnnapps.data.poem_batches import END, REQUIRED_TOKENS, START, check_poem_vocabulary, poem_batches, scan_poems
from rnnapps.data.poems import is_valid_poem, poem_form, poem_source
from rnnapps.decoding import check_sampling_options
from rnnapps.decoding.limits import DEFAULT_LIMITS, RequestLimits, check_int, check_seed, chunks
from rnnapps.decoding.poetry import PoemTables
from rnnapps.errors import ConfigError, DataError
from rnnapps.export import warmup as warmup_requests
from rnnapps.export.poetry import poem_endpoints, poem_request, poem_serving_fn, poem_signature
from rnnapps.text import TextVectorizer
from rnnapps.text.chinese import is_hanzi
from rnnapps.text.poem_forms import FORMS, canonical_form, poem_requests
from rnnapps.text.vectorizer import CONTROL_MARKERS
from rnnapps.training.lm_callbacks import PerplexityLogger, perplexity_figures
from rnnapps.training.lm_metrics import PoetryReport, total_nll
from rnnapps.training.precision import float32_outputs

MAX_POEMS = 10_000


@register_app
class PoetryGenerator(App):
    """Writes classical Chinese poems: exact forms, acrostics, first lines, rhyme.

    A char-level recurrent language model (`rnnapps.builders.build_language_model`)
    trained on whole poems; generation runs one in-graph sampling loop whose logit
    masks (`rnnapps.decoding.poetry`) make every poem exactly of the asked form.

    Args:
        cell, units, depth, embedding_dim, dropout, recurrent_dropout, connection,
            tie_embeddings, output_dropout: the model (see `LanguageModelSpec`);
            default a GRU(512) whose 512-wide character embedding is also its output
            layer, dropout 0.35 on its inputs and outputs (a Tang corpus of ~6k poems
            overfits by the 4th epoch without dropout; tying cuts the parameters of
            the ~5k-character tables by a third and learns faster). `embedding_dim=None`
            means `units`; `tie_embeddings=None` ties when `embedding_dim == units`.
        titles: train with each poem's title before it, so a `mood` (a title-like
            text) can prime generation.
        untitled_share: with titles, this share of the training poems (drawn anew
            each epoch) comes without its title, so poems written with no mood
            start the way the model was trained to start them.
        max_vocab: keep the most frequent characters only (default all); the rest
            become `<unk>`, which is never generated.
        min_count: characters seen fewer times become `<unk>`.
        optimizer, learning_rate, clipnorm, global_clipnorm, clipvalue,
            optimizer_options: training settings (Adam 5e-3, clipnorm 1.0).
        strategy, mixed_precision: see `App`.

    Example:
        >>> poet = PoetryGenerator()                                   # doctest: +SKIP
        >>> poet.fit("chinese-poetry/json/poet.tang.*.json")          # doctest: +SKIP
        >>> print(poet.generate(form="qijue", acrostic="春眠不觉"))     # doctest: +SKIP
    """

    kind = "poetry"
    max_cached_graphs = 6  # poem tables (with and without rhyme groups) and the graphs built on them

    def __init__(
        self,
        cell="gru", units=512, depth=1, embedding_dim=None,  # layers
        dropout=0.35, recurrent_dropout=0.0, connection=None, tie_embeddings=None, output_dropout=0.35,  # more model
        titles=True, untitled_share=0.4,  # training sequences
        max_vocab=None, min_count=1,  # vocabulary
        optimizer="adam", learning_rate=5e-3,  # optimizer
        clipnorm=1.0, global_clipnorm=None, clipvalue=None, optimizer_options=None,
        strategy=None, mixed_precision=None,  # devices
    ):
        super().__init__(strategy=strategy, mixed_precision=mixed_precision)
        embedding_dim = units if embedding_dim is None else embedding_dim
        if tie_embeddings is None:  # tie when the widths allow it (the spec checks the values)
            tie_embeddings = embedding_dim == units
        self.spec = LanguageModelSpec(
            embedding_dim=embedding_dim, cell=cell, units=units, depth=depth, dropout=dropout,
            recurrent_dropout=recurrent_dropout, connection=connection, tie_embeddings=tie_embeddings,
            output_dropout=output_dropout, optimizer=optimizer, learning_rate=learning_rate,
            clipnorm=clipnorm, global_clipnorm=global_clipnorm, clipvalue=clipvalue,
            optimizer_options=optimizer_options,
        )
        if max_vocab is not None and int(max_vocab) < 1:
            raise ConfigError(f"max_vocab must be >= 1 or None, got {max_vocab}")
        if int(min_count) < 1:
            raise ConfigError(f"min_count must be >= 1, got {min_count}")
        self.titles = bool(titles)
        self.untitled_share = check_real("untitled_share", untitled_share, 0.0, 1.0)
        self.max_vocab = None if max_vocab is None else int(max_vocab)
        self.min_count = int(min_count)
        self.models = None
        self.form_counts = {}
        self.limits = DEFAULT_LIMITS  # bounds of one generate() call (rnnapps.decoding.limits)

    @classmethod
    def from_vocabulary(cls, characters, **options):
        """An untrained poet over the given characters (tests, demos, warm starts).

        Args:
            characters: a string or list of the characters it may write (the markers
                and "，", "。" are added).
            **options: constructor options.

        Example:
            >>> poet = PoetryGenerator.from_vocabulary("春夏秋冬山水花月", units=8, depth=1, embedding_dim=8)  # doctest: +SKIP
            >>> len(poet.generate(form="wujue", seed=0))                                                      # doctest: +SKIP
            24
        """
        poet = cls(**options)
        rest = [c for c in dict.fromkeys(characters) if c not in REQUIRED_TOKENS]
        poet.vectorizer = poet._make_vectorizer(list(REQUIRED_TOKENS) + rest)
        poet._build_models()
        return poet

    # -- configuration ---------------------------------------------------------------
    def get_config(self):
        options = ("titles", "untitled_share", "max_vocab", "min_count", "mixed_precision")
        return {**{key: getattr(self, key) for key in options}, **dataclasses.asdict(self.spec)}

    def _make_vectorizer(self, vocabulary=None):
        return TextVectorizer(vocabulary=vocabulary, level="char", lowercase=False, markers=CONTROL_MARKERS)

    def _get_state(self):
        return {"form_counts": self.form_counts}

    def _set_state(self, state):
        self.form_counts = dict(state.get("form_counts", {}))

    def _build_models(self):
        check_poem_vocabulary(self.vectorizer.get_vocabulary())
        with self._scope():
            self.models = build_language_model(self.vectorizer.vocabulary_size, self.spec, compile=False)
            self._compile(self.models.train, language_model_objective())
            float32_outputs(self.models.train, self.models.prefill, self.models.step)
        self.model = self.models.train

    @property
    def main_form(self):
        """The most common regular form of the training poems ("free" if none)."""
        regular = {f: n for f, n in self.form_counts.items() if f in FORMS}
        return max(sorted(regular), key=regular.get) if regular else "free"

    # -- training --------------------------------------------------------------------
    def fit(
        self,
        data,
        *,
        validation_data=None, validation_split=0.05,  # held-out data
        form=None, author=None, max_length=None,  # which poems
        epochs=10, time_limit=None, lr_schedule="budget", early_stopping_patience=3,  # how long
        batch_size=64, shuffle_buffer=10_000, seed=None,  # batches
        checkpoint_dir=None, tensorboard_dir=None, backup_dir=None, resume=False,  # files
        callbacks=None, verbose="auto",  # progress
    ):
        """Trains on a poem corpus, each poem one sequence; calling it again continues.

        Args:
            data: chinese-poetry JSON files (a glob such as "poet.tang.*.json"), a
                `tang.npz`, a text file (one poem per line, optionally `title<TAB>poem`
                or `title:poem`), a list of them, or a list of poem strings/`Poem`s.
            validation_data: held-out poems in the same forms; otherwise
                `validation_split` of the poems (by a hash of the text) is held out.
            form: keep only poems of this form ("wujue", "qijue", "wulv", "qilv",
                "free", or a list).
            author: keep only poems by this author (or a list).
            max_length: keep only poems of at most this many characters.
            epochs, batch_size, time_limit, lr_schedule, early_stopping_patience,
                checkpoint_dir, tensorboard_dir, backup_dir, resume, callbacks, seed,
                verbose: as for `TextGenerator.fit`.

        Returns:
            self, with the Keras `History` in `self.history`.

        Raises:
            DataError: an empty corpus, no poem matching the filters, unreadable files.
        """
        self._check_fit_numbers(epochs, batch_size, validation_split, early_stopping_patience)
        check_int("shuffle_buffer", shuffle_buffer, 1, 1 << 24)
        verbose_flag = verbose not in (0, False)
        source = poem_source(data, form=form, author=author, max_length=max_length)
        filters = source.describe_filters()
        validation_source = None
        if validation_data is not None:
            validation_source = poem_source(validation_data, form=form, author=author, max_length=max_length)
            train_source = source
        elif validation_split:
            train_source, validation_source = source.split(float(validation_split))
        else:
            train_source = source
        fresh = self.vectorizer is None
        if fresh:
            vectorizer = self._make_vectorizer()
            stats = scan_poems(train_source, vectorizer, self.titles, self.max_vocab, self.min_count, filters)
            vectorizer.set_vocabulary(stats.vocabulary)
            self.vectorizer = vectorizer  # only once the corpus proved usable: a failed fit leaves the app as it was
            self._build_models()
        else:
            stats = scan_poems(train_source, filters=filters)
        self.form_counts = stats.forms
        forms = ", ".join(f"{f} {n}" for f, n in sorted(stats.forms.items(), key=lambda item: -item[1]))
        self._say(verbose_flag, f"poems: {stats.num_poems:,} ({forms}), {stats.num_chars:,} characters; vocabulary {self.vectorizer.vocabulary_size:,} ids")
        validation, readers = None, []
        if validation_source is not None:
            try:
                scan_poems(validation_source, filters=filters)
                validation, validation_reader = poem_batches(validation_source, self.vectorizer, batch_size, self.titles)
                readers.append(validation_reader)
            except DataError:
                if validation_data is not None:
                    raise
                self._say(verbose_flag, "no poem fell into the validation split: training without validation data")
        train, reader = poem_batches(
            train_source, self.vectorizer, batch_size, self.titles, shuffle=True, shuffle_buffer=shuffle_buffer, seed=seed,
            untitled_share=self.untitled_share,
        )
        self._fit_model(
            train, validation, epochs, verbose, [PerplexityLogger()] + list(callbacks or []), [reader] + readers,
            checkpoint_dir=checkpoint_dir, tensorboard_dir=tensorboard_dir, backup_dir=backup_dir,
            early_stopping_patience=early_stopping_patience, resume=resume,
            time_limit=time_limit, lr_schedule=lr_schedule,
            output_prior=poem_batches(train_source, self.vectorizer, batch_size, self.titles)[0] if fresh else None,
            steps_hint=math.ceil(stats.num_poems / int(batch_size)),
        )
        return self

    # -- generation ------------------------------------------------------------------
    def _tables(self, need_rhyme=False):
        """`PoemTables` of the vocabulary; rhyme groups when pypinyin is installed.

        Kept in the graph cache: concurrent first calls build them once; when rhyme is
        asked of tables built without pypinyin, they are built again (or the install
        hint is raised)."""
        tokens = self.vectorizer.tokens_by_id()
        tables = self._graph("poem_tables", lambda: PoemTables.of_vocabulary(tokens, START, END))
        if need_rhyme and not tables.has_rhymes:
            tables = self._graph(("poem_tables", "rhyme"), lambda: PoemTables.of_vocabulary(tokens, START, END, need_rhyme=True))
        return tables

    def _serving(self, need_rhyme=False, limits=None):
        """The poem `tf.function` for these tables and limits (cached, thread-safe: a
        function is always used with the very tables it was built from)."""
        tables = self._tables(need_rhyme)
        limits = RequestLimits.of(self.limits if limits is None else limits)
        models = self.models

        def build():
            serve = poem_serving_fn(self.vectorizer, models, tables, limits)
            return tf.function(serve, input_signature=poem_signature(), autograph=False)

        return self._graph((id(tables), id(models), limits), build)

    def generate(
        self, form=None, acrostic=None, first_line=None, mood=None, rhyme=False, no_repeat=False,
        temperature=0.8, top_k=0, seed=None, num_poems=1,
    ):
        """Writes poems that are exactly of `form`, in one in-graph sampling loop.

        Args:
            form: "wujue" (4 x 5), "qijue" (4 x 7), "wulv" (8 x 5), "qilv" (8 x 7),
                "free" (the model decides; up to 200 characters), or 五绝/七绝/五律/七律;
                default: the most common form of the training poems.
            acrostic: each line starts with the next of these characters (at most one
                per line; fixed forms only).
            first_line: the poem's first line, kept as given (its characters; a
                trailing "，" may be included). In the free form, the poem's opening.
            mood: a title-like text that primes the model and does not appear in
                the poem (at most 64 characters; characters the model does not know
                are read as `<unk>`).
            rhyme: even lines end on characters of one rhyme group (needs pypinyin).
            no_repeat: no Han character twice in a poem.
            temperature: 0 = greedy; lower is safer, higher more varied.
            top_k: sample among the k most likely allowed characters (0 = off).
            seed: an int reproduces the poems exactly; None draws a fresh one.
            num_poems: poems per request row.
            acrostic, first_line and mood may also be lists (one poem each, equal
            lengths or length 1).

        Returns:
            a poem string (lines with "，"/"。", no line breaks), or a list of them
            when a list was given or `num_poems > 1`.

        Raises:
            ConfigError: unknown form, an acrostic longer than the poem, characters
                the model does not know, a first line of the wrong length, rhyme in
                the free form or without pypinyin, bad sampling options.

        Example:
            >>> poet.generate(form="qijue", acrostic="春眠不觉", rhyme=True, seed=1)  # doctest: +SKIP
        """
        self._require_fitted("generate")
        form = canonical_form(form if form is not None else self.main_form)
        check_sampling_options(0, temperature, top_k, 1.0, self.vectorizer.vocabulary_size)
        check_int("num_poems", num_poems, 1, MAX_POEMS)
        if rhyme and form == "free":
            raise ConfigError("rhyme needs a fixed form (wujue, qijue, wulv or qilv), not the free form")
        known = set(self.vectorizer.get_vocabulary()) - {START, END}
        rows = poem_requests(form, acrostic, first_line, mood, known)
        batch = [row for row in rows for _ in range(int(num_poems))]
        serve = self._serving(need_rhyme=bool(rhyme))
        seed = check_seed(seed)
        poems = []
        for chunk in chunks(batch, RequestLimits.of(self.limits).max_batch):  # bounded memory per call
            outputs = serve(**poem_request(form, chunk, rhyme, no_repeat, temperature, top_k, seed))
            poems += [p.decode("utf-8") for p in outputs["poem"].numpy()]
        single = num_poems == 1 and not any(isinstance(v, (list, tuple)) for v in (acrostic, first_line, mood))
        return poems[0] if single else poems

    # -- evaluation ------------------------------------------------------------------
    def evaluate(self, data, form=None, num_samples=100, temperature=1.0, seed=0, batch_size=64):
        """Character perplexity on held-out poems and the form validity of sampled poems.

        Args:
            data: held-out poems (any form `fit` accepts).
            form: the form to sample (default: the most common regular form of the
                training poems; "wujue" if there was none).
            num_samples: poems sampled with and without the form constraints.
            temperature, seed: sampling settings of those poems.
            batch_size: poems scored per step.

        Returns:
            a `PoetryReport`.

        Example:
            >>> print(poet.evaluate("held_out.json"))  # doctest: +SKIP
        """
        self._require_fitted("evaluate")
        form = canonical_form(form if form is not None else (self.main_form if self.main_form != "free" else "wujue"))
        if form == "free":
            raise ConfigError("evaluate needs a fixed form to measure validity against")
        check_int("num_samples", num_samples, 1, MAX_POEMS)
        check_int("batch_size", batch_size, 1, MAX_BATCH_SIZE)
        check_sampling_options(0, temperature, 0, 1.0)
        check_int("seed", seed, -(2**63), 2**63 - 1)
        source = poem_source(data)
        stats = scan_poems(source)
        batches, reader = poem_batches(source, self.vectorizer, batch_size, self.titles)
        total, count = total_nll(self.models.train, batches, reader)
        mean = total / max(1, count)
        perplexity, bits = perplexity_figures(mean)
        constrained = self.generate(form=form, temperature=temperature, seed=seed, num_poems=int(num_samples))
        free = self.generate(form="free", temperature=temperature, seed=seed, num_poems=int(num_samples))
        return PoetryReport(
            perplexity=perplexity,
            bits_per_char=bits,
            num_poems=stats.num_poems,
            num_tokens=count,
            form=form,
            num_samples=int(num_samples),
            constrained_validity=sum(is_valid_poem(p, form) for p in constrained) / len(constrained),
            free_validity=sum(is_valid_poem(p, form) for p in free) / len(free),
            free_any_form_validity=sum(poem_form(p, strict=True) is not None for p in free) / len(free),
        )

    # -- export ----------------------------------------------------------------------
    def export(self, base_dir="saved_models", name=None, limits=None, warmup=True):
        """Exports a SavedModel for TF Serving as the next version of `<base_dir>/<name>`.

        Endpoints (core TF ops only; the constrained sampling loop runs in the graph):
        - `serving_default(prompt: string[None])`: a free-form poem opening with each
          prompt (temperature 0.8, seed 0).
        - `generate(form: string[], acrostic, first_line, mood: string[None],
          rhyme: bool[], no_repeat: bool[], temperature: float32[], top_k: int32[],
          seed: int64[])`: one poem per row of acrostic/first_line/mood.
        Both return `poem: string[None]` and `token_ids: int32[None, None]`. Rhyme
        works when pypinyin is installed at export time.

        Args:
            base_dir: the TF Serving model base path.
            name: the model name (default "poetry").
            limits: a `RequestLimits` or dict (rows per request; see `rnnapps.decoding.limits`).
            warmup: write TF Serving warm-up requests for both endpoints
                (`assets.extra/tf_serving_warmup_requests`).

        Example:
            >>> poet.export("saved_models", "poetry")  # doctest: +SKIP
        """
        self._require_fitted("export")
        limits = RequestLimits.of(limits)
        tables = self._tables()
        # The endpoint is the very tf.function `generate` runs (traced once, reused here).
        serve = self._serving(limits=limits)
        serve.get_concrete_function()
        return self._export(
            poem_endpoints(serve),
            [self.models.train, self.models.prefill, self.models.step, self.vectorizer],
            base_dir,
            name,
            warmup=warmup_requests.poetry_requests(
                [c for c in self.vectorizer.get_vocabulary() if is_hanzi(c)][:4], rhyme=tables.has_rhymes
            ) if warmup else None,
            rhyme=tables.has_rhymes, limits=limits.to_dict(),
        )
