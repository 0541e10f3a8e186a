"""`classification_report` and `multilabel_report` against hand-computed examples."""

import json

import numpy as np
import pytest

from rnnapps.training.metrics import classification_report, multilabel_report

NAMES = ["negative", "neutral", "positive"]
TRUE = [0, 0, 1, 1, 2, 2, 2]
PREDICTED = [0, 1, 1, 1, 2, 0, 2]


def test_multiclass_report_by_hand():
    report = classification_report(TRUE, PREDICTED, NAMES, loss=0.25)
    np.testing.assert_array_equal(report.confusion, [[1, 1, 0], [0, 2, 0], [1, 0, 2]])
    assert report.accuracy == pytest.approx(5 / 7)
    assert report.num_examples == 7 and report.loss == 0.25
    negative, neutral, positive = (report.per_class[name] for name in NAMES)
    assert (negative["precision"], negative["recall"], negative["f1"]) == pytest.approx((0.5, 0.5, 0.5))
    assert (neutral["precision"], neutral["recall"], neutral["f1"]) == pytest.approx((2 / 3, 1.0, 0.8))
    assert (positive["precision"], positive["recall"], positive["f1"]) == pytest.approx((1.0, 2 / 3, 0.8))
    assert [report.per_class[name]["support"] for name in NAMES] == [2, 2, 3]
    assert report.macro_f1 == pytest.approx(0.7)
    assert report.micro_f1 is None


def test_class_never_seen_nor_predicted_scores_zero_not_nan():
    report = classification_report([0, 1], [0, 1], ["a", "b", "c"])
    assert report.per_class["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert report.accuracy == 1.0
    assert report.macro_f1 == pytest.approx(2 / 3)


def test_report_text_names_the_classes():
    text = str(classification_report(TRUE, PREDICTED, NAMES, loss=0.25))
    for name in NAMES:
        assert name in text
    assert "accuracy: 0.7143" in text and "macro-F1: 0.7000" in text and "loss: 0.2500" in text
    assert "confusion matrix" in text


def test_to_dict_is_json_serialisable():
    values = classification_report(TRUE, PREDICTED, NAMES).to_dict()
    assert json.loads(json.dumps(values))["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 2]]


TRUE_HOT = [[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]]
PREDICTED_HOT = [[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 1, 1]]


def test_multilabel_report_by_hand():
    report = multilabel_report(TRUE_HOT, PREDICTED_HOT, ["a", "b", "c"])
    assert report.accuracy == pytest.approx(0.25)  # only row 1 is entirely right
    a, b, c = (report.per_class[name] for name in "abc")
    assert (a["precision"], a["recall"], a["f1"], a["support"]) == pytest.approx((1.0, 1.0, 1.0, 2))
    assert (b["precision"], b["recall"], b["f1"], b["support"]) == pytest.approx((0.5, 0.5, 0.5, 2))
    assert (c["precision"], c["recall"], c["f1"], c["support"]) == pytest.approx((1.0, 0.5, 2 / 3, 2))
    assert report.macro_f1 == pytest.approx(13 / 18)
    assert report.micro_f1 == pytest.approx(8 / 11)  # tp 4, fp 1, fn 2
    np.testing.assert_array_equal(report.confusion, [[[2, 0], [0, 2]], [[1, 1], [1, 1]], [[2, 0], [1, 1]]])
    text = str(report)
    assert all(name in text for name in "abc") and "micro-F1: 0.7273" in text


def test_report_text_with_long_and_no_label_names():
    from rnnapps.training.metrics import classification_report

    report = classification_report([0, 1], [0, 1], ["a-very-long-class-name", "b"])
    assert "a-very-long-class-name" in str(report)
    empty = classification_report([], [], [])
    assert "examples: 0" in str(empty)
