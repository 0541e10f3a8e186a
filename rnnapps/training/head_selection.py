"""`HeadSelection`: early stopping and best-weight restoring per head of a `HeadEnsembleModel`."""

import math

import keras


class HeadSelection(keras.callbacks.Callback):
    """Keeps each head's weights of the epoch where that head's own loss was lowest.

    A recurrent head over words is often best after one or two epochs, while a bag of
    n-grams beside it needs ten: early stopping on one loss for the whole model would
    stop the bag half-trained, or keep an over-fitted recurrent head. This callback
    watches `val_<head>_loss` of every head (`<head>_loss` without validation data),
    snapshots a head's weights whenever its loss improves, stops training once no head
    has improved for `patience` epochs (None: never stops), and at the end of training
    puts every head's best weights back. It replaces `EarlyStopping` for such models.

    Two limits: a `checkpoint_dir` checkpoint (`SaveBestApp`) is the whole model at the
    epoch of the lowest summed validation loss, not this mix of epochs; and a resumed fit
    (`BackupAndRestore`) starts the selection afresh from the restored weights.

    Args:
        patience: epochs without improvement of any head before stopping, or None.
        verbose: print what was restored.

    Example:
        >>> model.fit(data, validation_data=held_out, callbacks=[HeadSelection(patience=3)])  # doctest: +SKIP
    """

    def __init__(self, patience=3, verbose=0):
        super().__init__()
        self.patience = None if patience is None else int(patience)
        self.verbose = verbose

    def on_train_begin(self, logs=None):
        self.groups = self.model.head_weights()
        self.best = {head: math.inf for head in self.groups}
        self.best_epoch = {head: None for head in self.groups}
        self.waited = {head: 0 for head in self.groups}
        self.snapshots = {}

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        for head, weights in self.groups.items():
            value = logs.get(f"val_{head}_loss", logs.get(f"{head}_loss"))
            if value is None:
                continue
            value = float(value)
            if value < self.best[head]:  # a NaN never improves
                self.best[head], self.best_epoch[head], self.waited[head] = value, epoch, 0
                self.snapshots[head] = [weight.numpy() for weight in weights]
            else:
                self.waited[head] += 1
        if self.patience is not None and all(waited >= self.patience for waited in self.waited.values()):
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        for head, values in self.snapshots.items():
            for weight, value in zip(self.groups[head], values):
                weight.assign(value)
        if self.verbose and self.snapshots:
            kept = ", ".join(f"{head} from epoch {self.best_epoch[head] + 1}" for head in self.snapshots)
            print(f"restored each head's best weights: {kept}", flush=True)
