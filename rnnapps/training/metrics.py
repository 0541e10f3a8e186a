"""Classification metrics computed over a whole evaluation set (not a sample)."""

import dataclasses

import numpy as np

from rnnapps.errors import DataError


@dataclasses.dataclass
class ClassificationReport:
    """Evaluation of a classifier.

    Attributes:
        label_names: class names, in id order.
        accuracy: fraction of exactly right predictions (multi-label: all labels right).
        macro_f1: unweighted mean of per-class F1.
        per_class: name -> {"precision", "recall", "f1", "support"}.
        confusion: `[C, C]` counts, rows = true class, columns = predicted class
            (multi-label: `[C, 2, 2]`, one `[[tn, fp], [fn, tp]]` per class).
        num_examples: how many examples were scored.
        micro_f1: F1 over all label decisions (multi-label only).
        loss: mean loss of the model on the data, when known.
    """

    label_names: list
    accuracy: float
    macro_f1: float
    per_class: dict
    confusion: np.ndarray
    num_examples: int
    micro_f1: float = None
    loss: float = None

    def to_dict(self):
        values = dataclasses.asdict(self)
        values["confusion"] = self.confusion.tolist()
        return values

    def __str__(self):
        width = max([9] + [len(name) for name in self.label_names])
        lines = [
            f"examples: {self.num_examples}   accuracy: {self.accuracy:.4f}   macro-F1: {self.macro_f1:.4f}"
            + (f"   micro-F1: {self.micro_f1:.4f}" if self.micro_f1 is not None else "")
            + (f"   loss: {self.loss:.4f}" if self.loss is not None else ""),
            f"{'class':<{width}}  precision  recall     f1  support",
        ]
        for name in self.label_names:
            row = self.per_class[name]
            lines.append(
                f"{name:<{width}}  {row['precision']:9.4f}  {row['recall']:6.4f}  {row['f1']:5.4f}  {row['support']:7d}"
            )
        if self.confusion.ndim == 2:
            lines.append("confusion matrix (rows: true, columns: predicted):")
            lines.append(" " * width + "  " + " ".join(f"{name[:8]:>8}" for name in self.label_names))
            for name, row in zip(self.label_names, self.confusion):
                lines.append(f"{name:<{width}}  " + " ".join(f"{int(v):8d}" for v in row))
        return "\n".join(lines)


def _ratio(numerator, denominator):
    return float(numerator) / float(denominator) if denominator else 0.0


def _f1(precision, recall):
    return _ratio(2 * precision * recall, precision + recall)


def _mean_f1(per_class):
    return float(np.mean([row["f1"] for row in per_class.values()])) if per_class else 0.0


def classification_report(true_ids, predicted_ids, label_names, loss=None):
    """Accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix.

    Example:
        >>> report = classification_report([0, 1, 1], [0, 1, 0], ["neg", "pos"])
        >>> round(report.accuracy, 3), report.confusion.tolist()
        (0.667, [[1, 0], [1, 1]])
    """
    true_ids = np.asarray(true_ids, dtype=np.int64)
    predicted_ids = np.asarray(predicted_ids, dtype=np.int64)
    count = len(label_names)
    confusion = np.zeros((count, count), dtype=np.int64)
    np.add.at(confusion, (true_ids, predicted_ids), 1)
    per_class = {}
    for index, name in enumerate(label_names):
        true_positive = confusion[index, index]
        precision = _ratio(true_positive, confusion[:, index].sum())
        recall = _ratio(true_positive, confusion[index, :].sum())
        per_class[name] = {
            "precision": precision,
            "recall": recall,
            "f1": _f1(precision, recall),
            "support": int(confusion[index, :].sum()),
        }
    return ClassificationReport(
        label_names=list(label_names),
        accuracy=_ratio(np.trace(confusion), confusion.sum()),
        macro_f1=_mean_f1(per_class),
        per_class=per_class,
        confusion=confusion,
        num_examples=int(len(true_ids)),
        loss=loss,
    )


def multilabel_report(true_multi_hot, predicted_multi_hot, label_names, loss=None):
    """Subset accuracy, macro/micro-F1 and per-label scores for multi-label predictions.

    Example:
        >>> report = multilabel_report([[1, 0], [1, 1]], [[1, 0], [1, 0]], ["a", "b"])
        >>> report.accuracy, report.per_class["b"]["recall"]
        (0.5, 0.0)
    """
    truth = np.asarray(true_multi_hot).astype(bool)
    predicted = np.asarray(predicted_multi_hot).astype(bool)
    confusion = np.zeros((len(label_names), 2, 2), dtype=np.int64)
    per_class = {}
    for index, name in enumerate(label_names):
        t, p = truth[:, index], predicted[:, index]
        tp, fp, fn = int((t & p).sum()), int((~t & p).sum()), int((t & ~p).sum())
        confusion[index] = [[int((~t & ~p).sum()), fp], [fn, tp]]
        precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        per_class[name] = {"precision": precision, "recall": recall, "f1": _f1(precision, recall), "support": int(t.sum())}
    tp, fp, fn = confusion[:, 1, 1].sum(), confusion[:, 0, 1].sum(), confusion[:, 1, 0].sum()
    return ClassificationReport(
        label_names=list(label_names),
        accuracy=float(np.mean(np.all(truth == predicted, axis=1))) if len(truth) else 0.0,
        macro_f1=_mean_f1(per_class),
        per_class=per_class,
        confusion=confusion,
        num_examples=int(len(truth)),
        micro_f1=_f1(_ratio(tp, tp + fp), _ratio(tp, tp + fn)),
        loss=loss,
    )


def labelled_report(truths, probabilities, label_names, task, threshold=0.5):
    """The report of a classifier's `probabilities` `[N, C]` against the true label names
    (`bytes` or str; lists of them for task "multilabel"), mean loss included;
    `DataError` for a label outside `label_names`."""
    index = {name: i for i, name in enumerate(label_names)}
    decode = lambda name: name.decode("utf-8") if isinstance(name, bytes) else name  # noqa: E731
    if task == "multilabel":
        truth = np.zeros_like(probabilities)
        for row, names in enumerate(truths):
            for name in map(decode, names):
                if name not in index:
                    raise DataError(f"evaluation label {name!r} is unknown to the classifier ({label_names})")
                truth[row, index[name]] = 1.0
        clipped = np.clip(probabilities, 1e-7, 1 - 1e-7)
        loss = float(-np.mean(truth * np.log(clipped) + (1 - truth) * np.log(1 - clipped)))
        return multilabel_report(truth, probabilities >= threshold, label_names, loss=loss)
    unknown = sorted({decode(n) for n in truths} - set(index))
    if unknown:
        raise DataError(f"evaluation labels {unknown} are unknown to the classifier ({label_names})")
    true_ids = np.array([index[decode(n)] for n in truths])
    loss = float(-np.mean(np.log(np.clip(probabilities[np.arange(len(true_ids)), true_ids], 1e-7, 1.0))))
    return classification_report(true_ids, probabilities.argmax(-1), label_names, loss=loss)
