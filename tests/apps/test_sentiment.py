"""SentimentClassifier end to end: fit from every source, predict, evaluate, save/load, bad input."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import rnnapps
from rnnapps.errors import ConfigError, DataError, DataUnavailableError, ModelFileError
from tests.helpers import run_app_test, tiny_sentiment_data

SMALL = dict(cell="gru", units=8, embedding_dim=8)


def test_learns_the_toy_task_and_reports_named_labels(trained_classifier):
    texts, labels = tiny_sentiment_data(per_class=20, seed=99)
    report = trained_classifier.evaluate(texts, labels)
    assert report.accuracy >= 0.9
    assert trained_classifier.label_names == ["negative", "neutral", "positive"]
    assert trained_classifier.task == "multiclass"
    predictions = trained_classifier.predict(["the film was superb", "dreadful acting"])
    assert predictions.labels == ["positive", "negative"]
    np.testing.assert_allclose(predictions.probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert predictions.probabilities.shape == (2, 3)


def test_evaluate_report_is_consistent(trained_classifier):
    texts, labels = tiny_sentiment_data(per_class=10, seed=5)
    report = trained_classifier.evaluate(texts, labels)
    assert report.num_examples == 30
    assert report.confusion.shape == (3, 3) and report.confusion.sum() == 30
    assert report.confusion.sum(axis=1).tolist() == [10, 10, 10]
    assert np.isclose(report.accuracy, np.trace(report.confusion) / 30)
    assert set(report.per_class) == {"negative", "neutral", "positive"}
    assert 0.0 < report.macro_f1 <= 1.0 and report.loss > 0
    assert "macro-F1" in str(report) and "neutral" in str(report)
    assert json.loads(json.dumps(report.to_dict()))["num_examples"] == 30


def test_single_string_and_empty_list(trained_classifier):
    assert len(trained_classifier.predict("superb")) == 1
    empty = trained_classifier.predict([])
    assert len(empty) == 0 and empty.probabilities.shape == (0, 3)


def test_bad_input_gets_defined_predictions(trained_classifier):
    texts = ["", "   \t\n", b"great \xff\xfe film", "x" * (1 << 20), "зззз 春眠 👍🏽", "superb"]
    predictions = trained_classifier.predict(texts)
    assert len(predictions) == len(texts)
    assert np.all(np.isfinite(predictions.probabilities))
    # Empty and whitespace-only texts both become one unknown token: same answer.
    np.testing.assert_allclose(predictions.probabilities[0], predictions.probabilities[1], rtol=1e-6)
    # Order is kept although predict sorts by length internally.
    assert predictions.labels[5] == "positive"
    with pytest.raises(DataError, match="text 1 must be str or bytes"):
        trained_classifier.predict(["fine", None])


def test_predictions_do_not_depend_on_batching(trained_classifier):
    texts, _ = tiny_sentiment_data(per_class=5, seed=3)
    together = trained_classifier.predict(texts, batch_size=64).probabilities
    one_by_one = np.concatenate([trained_classifier.predict([t]).probabilities for t in texts])
    np.testing.assert_allclose(together, one_by_one, rtol=1e-4, atol=1e-5)


def test_save_load_round_trip_is_identical(trained_classifier, tmp_path):
    texts, _ = tiny_sentiment_data(per_class=5, seed=11)
    path = trained_classifier.save(tmp_path / "clf")
    assert sorted(os.listdir(path)) == ["config.json", "history.json", "model.keras", "vocabulary.json"]
    loaded = rnnapps.load(path)
    assert isinstance(loaded, rnnapps.SentimentClassifier)
    assert loaded.label_names == trained_classifier.label_names
    assert loaded.get_config() == trained_classifier.get_config()
    np.testing.assert_array_equal(loaded.predict(texts).probabilities, trained_classifier.predict(texts).probabilities)
    # Class-level load works too, and saving again over the old save replaces it.
    assert rnnapps.SentimentClassifier.load(path).label_names == loaded.label_names
    loaded.save(path)
    assert sorted(os.listdir(tmp_path)) == ["clf"]


def test_save_never_overwrites_foreign_directories(trained_classifier, tmp_path):
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "chapter1.tex").write_text("work")
    with pytest.raises(ModelFileError, match="refusing to overwrite"):
        trained_classifier.save(precious)
    assert (precious / "chapter1.tex").read_text() == "work"


def test_damaged_saves_give_clear_errors(trained_classifier, tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        rnnapps.load(tmp_path / "missing")
    path = trained_classifier.save(tmp_path / "clf")
    (tmp_path / "clf" / "model.keras").write_bytes(b"not a zip file")
    with pytest.raises(ModelFileError, match="corrupted"):
        rnnapps.load(path)
    path = trained_classifier.save(tmp_path / "clf2")
    (tmp_path / "clf2" / "config.json").write_text("{ broken")
    with pytest.raises(ModelFileError, match="corrupted"):
        rnnapps.load(path)
    path = trained_classifier.save(tmp_path / "clf3")
    (tmp_path / "clf3" / "vocabulary.json").write_text(json.dumps(["only", "three", "tokens"]))
    with pytest.raises(ModelFileError, match="different saves"):
        rnnapps.load(path)
    path = trained_classifier.save(tmp_path / "clf4")
    os.remove(tmp_path / "clf4" / "model.keras")
    with pytest.raises(ModelFileError, match="missing"):
        rnnapps.load(path)


def test_unfitted_and_bad_options():
    clf = rnnapps.SentimentClassifier()
    with pytest.raises(ConfigError, match="not trained yet"):
        clf.predict(["x"])
    with pytest.raises(ConfigError, match="not trained yet"):
        clf.save("/tmp/never-written")
    with pytest.raises(ConfigError, match="cell"):
        rnnapps.SentimentClassifier(cell="transformer")
    with pytest.raises(ConfigError, match="level"):
        rnnapps.SentimentClassifier(level="byte")
    with pytest.raises(ConfigError, match="only one of"):
        rnnapps.SentimentClassifier(clipnorm=2.0, global_clipnorm=1.0)
    with pytest.raises(ConfigError, match="unknown data options"):
        clf.fit(["a", "b"], ["x", "y"], colour="red")


@pytest.mark.parametrize(
    "texts, labels, message",
    [
        ([], [], "empty"),
        (["a", "b"], ["x"], "mismatched lengths"),
        (["a", "b"], ["x", "x"], "at least two classes"),
        (["a", 3], ["x", "y"], "must be str or bytes"),
    ],
)
def test_bad_training_data(texts, labels, message):
    with pytest.raises(DataError, match=message):
        rnnapps.SentimentClassifier(**SMALL).fit(texts, labels, epochs=1, verbose=0)


def test_fit_logs_grad_norm_and_checkpoints_the_whole_app(tmp_path):
    texts, labels = tiny_sentiment_data(per_class=10)
    clf = rnnapps.SentimentClassifier(**SMALL)
    clf.fit(texts, labels, epochs=2, validation_split=0.3, checkpoint_dir=tmp_path / "ckpt", verbose=0)
    history = clf.history.history
    assert len(history["grad_norm"]) == 2
    assert all(np.isfinite(v) and v > 0 for v in history["grad_norm"])
    assert "val_loss" in history and "val_grad_norm" not in history
    best = rnnapps.load(tmp_path / "ckpt" / "best")
    assert best.label_names == clf.label_names


def test_fit_resumes_from_backup_after_a_crash(tmp_path):
    texts, labels = tiny_sentiment_data(per_class=8)

    class CrashAfterSecondEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("simulated crash")

    backup = tmp_path / "backup"
    first = rnnapps.SentimentClassifier(**SMALL)
    with pytest.raises(RuntimeError, match="simulated crash"):
        first.fit(texts, labels, epochs=4, validation_split=0, backup_dir=str(backup),
                  callbacks=[CrashAfterSecondEpoch()], early_stopping_patience=None, verbose=0)
    assert backup.exists()
    ran = []

    class CountEpochs(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            ran.append(epoch)

    second = rnnapps.SentimentClassifier(**SMALL)
    second.fit(texts, labels, epochs=4, validation_split=0, backup_dir=str(backup), early_stopping_patience=None,
               callbacks=[CountEpochs()], verbose=0)
    # Only epochs 3-4 ran (a fit that ignored the backup would run all four); the history
    # also holds the two epochs before the crash.
    assert ran == [2, 3]
    assert second.history.epoch == [0, 1, 2, 3] and len(second.history.history["loss"]) == 4


def test_fit_again_continues_and_rejects_new_labels(trained_classifier, tmp_path):
    clf = rnnapps.load(trained_classifier.save(tmp_path / "clf"))
    texts, labels = tiny_sentiment_data(per_class=4, seed=8)
    clf.fit(texts, labels, epochs=1, validation_split=0, verbose=0)
    assert clf.label_names == ["negative", "neutral", "positive"]
    with pytest.raises(DataError, match="does not know"):
        clf.fit(["so so"], ["meh"], epochs=1, validation_split=0, verbose=0)


def test_binary_task_with_integer_labels_and_names():
    texts, labels = tiny_sentiment_data(per_class=15, classes=("negative", "positive"))
    ints = [1 if label == "positive" else 0 for label in labels]
    clf = rnnapps.SentimentClassifier(**SMALL, bidirectional=True, pooling="attention")
    clf.fit(texts, ints, label_names=["neg", "pos"], epochs=10, validation_split=0, verbose=0)
    assert clf.task == "binary" and clf.label_names == ["neg", "pos"]
    predictions = clf.predict(["superb and wonderful", "awful and dull"])
    assert predictions.probabilities.shape == (2, 2)
    np.testing.assert_allclose(predictions.probabilities.sum(axis=1), 1.0, rtol=1e-6)
    assert predictions.labels == ["pos", "neg"]


def test_multi_label_predictions_are_lists(tmp_path):
    texts = ["great plot", "dull acting", "great acting", "dull plot"] * 8
    labels = [["good", "plot"], ["bad", "acting"], ["good", "acting"], ["bad", "plot"]] * 8
    clf = rnnapps.SentimentClassifier(**SMALL)
    clf.fit(texts, labels, epochs=30, validation_split=0, batch_size=8, verbose=0)
    assert clf.task == "multilabel" and clf.label_names == ["acting", "bad", "good", "plot"]
    predictions = clf.predict(["great plot", "dull acting"])
    assert predictions.labels == [["good", "plot"], ["acting", "bad"]]
    report = clf.evaluate(texts, labels)
    assert report.accuracy == 1.0 and report.confusion.shape == (4, 2, 2)


def test_fit_from_csv_folder_and_tf_data(tmp_path):
    texts, labels = tiny_sentiment_data(per_class=6)
    tsv = tmp_path / "reviews.tsv"
    tsv.write_text("id\treview\tsentiment\n" + "".join(f"{i}\t{t}\t{l}\n" for i, (t, l) in enumerate(zip(texts, labels))))
    clf = rnnapps.SentimentClassifier(**SMALL)
    clf.fit(str(tsv), text_column="review", label_column="sentiment", epochs=1, validation_split=0, verbose=0)
    assert clf.label_names == ["negative", "neutral", "positive"]
    assert clf.evaluate(str(tsv), text_column="review", label_column="sentiment").num_examples == len(texts)

    root = tmp_path / "aclImdb" / "train"
    for index, (text, label) in enumerate(zip(texts, labels)):
        (root / label).mkdir(parents=True, exist_ok=True)
        (root / label / f"{index}_7.txt").write_text(text)
    (root / "unsup").mkdir()
    (root / "unsup" / "0_0.txt").write_text("unlabelled")
    clf = rnnapps.SentimentClassifier(**SMALL).fit(str(root), epochs=1, validation_split=0, verbose=0)
    assert clf.label_names == ["negative", "neutral", "positive"]

    dataset = tf.data.Dataset.from_tensor_slices((texts, [["negative", "neutral", "positive"].index(l) for l in labels]))
    clf = rnnapps.SentimentClassifier(**SMALL).fit(dataset.batch(4), label_names=["neg", "neu", "pos"], epochs=1, validation_split=0, verbose=0)
    assert clf.label_names == ["neg", "neu", "pos"]

    with pytest.raises(DataError, match="label column 'stars' not found"):
        rnnapps.SentimentClassifier(**SMALL).fit(str(tsv), text_column="review", label_column="stars", verbose=0)


def test_tfds_name_offline_gives_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr("rnnapps.data.tfds.internet_reachable", lambda *a, **k: False)
    with pytest.raises(DataUnavailableError, match="internet") as info:
        rnnapps.SentimentClassifier(**SMALL).fit("imdb_reviews", tfds_data_dir=str(tmp_path), verbose=0)
    assert "data_dir" in str(info.value) and "aclImdb" in str(info.value)


def test_char_level_handles_cjk_and_emoji():
    texts = ["好看 👍🏽", "很好 😀", "难看 👎", "很差 😠"] * 6
    labels = ["positive", "positive", "negative", "negative"] * 6
    clf = rnnapps.SentimentClassifier(level="char", **SMALL)
    clf.fit(texts, labels, epochs=25, validation_split=0, batch_size=8, verbose=0)
    vocabulary = clf.vectorizer.get_vocabulary()
    assert "👍🏽" in vocabulary and "好" in vocabulary
    assert clf.predict(["好看 👍🏽", "难看 👎"]).labels == ["positive", "negative"]


def test_empty_validation_data_is_an_error_but_an_empty_split_is_not():
    texts, labels = tiny_sentiment_data(per_class=3)
    nothing = tf.data.Dataset.from_tensor_slices((["a"], ["negative"])).take(0)
    with pytest.raises(DataError, match="empty"):
        rnnapps.SentimentClassifier(**SMALL).fit(texts, labels, validation_data=nothing, epochs=1, verbose=0)
    clf = rnnapps.SentimentClassifier(**SMALL)
    clf.fit(texts, labels, validation_split=0.0001, epochs=1, verbose=0)
    assert "loss" in clf.history.history and "val_loss" not in clf.history.history


def test_passes_the_shared_app_checks(tmp_path):
    texts, labels = tiny_sentiment_data(per_class=8)
    run_app_test(
        rnnapps.SentimentClassifier(**SMALL),
        lambda app, **options: app.fit(texts, labels, batch_size=16, validation_split=0.0, **options),
        lambda app: app.predict(texts[:6]).probabilities.round(5).tolist(),
        ("serving_default", {"text": texts[:6]}, "label", lambda app: app.predict(texts[:6]).labels),
        [
            (lambda app: app.predict(["fine", None]), DataError, "text 1 must be str or bytes"),
            (lambda app: app.predict("fine", batch_size=0), ConfigError, "batch_size"),
        ],
        tmp_path,
    )


def test_default_model_has_a_bag_of_ngrams_head_trained_apart(trained_classifier):
    model = trained_classifier.model
    assert type(model).__name__ == "HeadEnsembleModel" and model.head_names == ["recurrent", "ngram"]
    assert trained_classifier.vectorizer.ngrams["ngram_range"] == [2, 5]
    history = trained_classifier.history.history
    assert {"recurrent_loss", "ngram_loss"} <= set(history)
    # The prediction is the mean of the heads' predictions.
    ids = trained_classifier.vectorizer(tf.constant(["superb film", "a dreadful plot"]))
    heads = keras.ops.convert_to_numpy(model.head_outputs(ids))
    np.testing.assert_allclose(
        trained_classifier.predict(["superb film", "a dreadful plot"]).probabilities, heads.mean(axis=1), rtol=1e-5
    )


def test_the_ngram_head_knows_unknown_words_by_their_pieces():
    # Training has "superb"/"dreadful"; the test words are outside the vocabulary, so only
    # their character n-grams can tell them apart.
    keras.utils.set_random_seed(5)
    texts, labels = tiny_sentiment_data(per_class=30)
    clf = rnnapps.SentimentClassifier(**SMALL, ngram_dim=16, ngram_dropout=0.0)
    clf.fit(texts, labels, epochs=30, batch_size=16, validation_split=0.0, early_stopping_patience=None, verbose=0)
    ids = clf.vectorizer(tf.constant(["superbbb", "dreadfull"]))
    bag = keras.ops.convert_to_numpy(clf.model.head_outputs(ids))[:, 1]
    assert clf.vectorizer.token_to_id("superbbb") == clf.vectorizer.token_to_id("dreadfull") == 1
    assert [clf.label_names[i] for i in bag.argmax(axis=1)] == ["positive", "negative"]


def test_no_bag_with_zero_buckets_and_saves_from_before_the_bag_load_without_one(tmp_path):
    texts, labels = tiny_sentiment_data(per_class=6)
    clf = rnnapps.SentimentClassifier(**SMALL, ngram_buckets=0)
    clf.fit(texts, labels, epochs=1, validation_split=0.0, verbose=0)
    assert type(clf.model).__name__ == "GradNormModel" and clf.vectorizer.ngrams is None
    clf.save(tmp_path / "old")
    config_path = tmp_path / "old" / "config.json"
    document = json.loads(config_path.read_text())
    for key in ("ngram_buckets", "ngram_range", "max_ngrams", "ngram_dim", "ngram_dropout"):
        del document["config"][key]  # as saves made before the option existed
    config_path.write_text(json.dumps(document))
    again = rnnapps.load(tmp_path / "old")
    assert again.spec.ngram_buckets == 0
    np.testing.assert_allclose(again.predict(texts[:4]).probabilities, clf.predict(texts[:4]).probabilities, rtol=1e-6)


def test_bad_ngram_options():
    with pytest.raises(ConfigError, match="ngram_range"):
        rnnapps.SentimentClassifier(ngram_range=(5, 2))
    with pytest.raises(ConfigError, match="ngram_buckets"):
        rnnapps.SentimentClassifier(ngram_buckets=-1)
    with pytest.raises(ConfigError, match="max_ngrams"):
        rnnapps.SentimentClassifier(max_ngrams=0)
