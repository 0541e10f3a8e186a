"""Resumable training: what `BackupAndRestore` does not keep by itself.

Keras' `BackupAndRestore` saves the weights, the optimizer state and the epoch number
into a backup directory at every epoch end, and a rerun of the same `fit` continues
from there. Two things are added here:

- `check_backup_identity`: the backup also records which app it belongs to (its
  config and a digest of its vocabulary). A rerun with other data or options would
  otherwise load weights of the wrong shape (or, worse, of the right shape for another
  vocabulary); it is refused with a `ConfigError` instead.
- `check_backup_folder`: Keras deletes the whole backup directory once a fit finishes,
  so a backup may only go to a new or empty directory, or one that holds nothing but
  backup files; a folder with anything else in it (say, the checkpoint folder) is
  refused with a `ConfigError` before training starts.
- `EpochHistoryLog`: the epoch logs are written next to the backup, so the resumed
  run's history continues the interrupted one instead of starting at its first
  resumed epoch.
"""

import hashlib
import json
import os
import re

import keras

from rnnapps.errors import ConfigError

IDENTITY_FILE = "rnnapps_app.json"
HISTORY_FILE = "rnnapps_history.json"
KERAS_METADATA_FILE = "training_metadata.json"  # written by keras.callbacks.BackupAndRestore
KERAS_WEIGHTS_FILE = "latest.weights.h5"  # written by keras.callbacks.BackupAndRestore
# Every name a backup directory can hold: Keras' files (and their ".bkp" copies) and ours
# (and the temporaries of their atomic writes).
_BACKUP_ENTRY = re.compile(
    rf"({re.escape(KERAS_WEIGHTS_FILE)}|{re.escape(KERAS_METADATA_FILE)})(\.bkp)?"
    rf"|({re.escape(IDENTITY_FILE)}|{re.escape(HISTORY_FILE)})(\.tmp-\d+)?"
)


def check_backup_folder(backup_dir):
    """Raises `ConfigError` unless `backup_dir` is new, empty or holds only backup files.

    Keras' `BackupAndRestore` deletes its whole directory after a successful fit: a
    folder with other files in it would lose them.

    Example:
        >>> check_backup_folder("a/new/folder")
    """
    backup_dir = os.fspath(backup_dir)
    if not os.path.lexists(backup_dir):
        return
    if not os.path.isdir(backup_dir) or os.path.islink(backup_dir):
        raise ConfigError(f"backup_dir {backup_dir} is not a directory: give a new or empty folder for the backup")
    foreign = sorted(entry for entry in os.listdir(backup_dir) if not _BACKUP_ENTRY.fullmatch(entry))
    if foreign:
        shown = ", ".join(foreign[:3]) + (" ..." if len(foreign) > 3 else "")
        raise ConfigError(
            f"backup_dir {backup_dir} holds files that are not an rnnapps backup ({shown}); the backup folder "
            "is deleted once training finishes, so give a new or empty folder (e.g. a subfolder 'backup')"
        )


def app_identity(app_name, config, vocabularies):
    """A JSON-able description of what a backup belongs to (vocabularies as digests).

    Args:
        app_name: the app class name.
        config: the app's constructor options (`get_config()`).
        vocabularies: every token list the model's shapes depend on.

    Example:
        >>> app_identity("TextGenerator", {"units": 8}, [["a", "b"]])["vocabularies"][0]["size"]
        2
    """
    digests = []
    for vocabulary in vocabularies:
        data = json.dumps(list(vocabulary), ensure_ascii=False).encode("utf-8")
        digests.append({"size": len(vocabulary), "sha256": hashlib.sha256(data).hexdigest()})
    return {"app": app_name, "config": json.loads(json.dumps(config)), "vocabularies": digests}


def check_backup_identity(backup_dir, identity):
    """Records `identity` in a new backup, or checks that an existing backup matches it.

    Args:
        backup_dir: the `BackupAndRestore` directory.
        identity: from `app_identity` (plus anything else that must match).

    Raises:
        ConfigError: the backup directory holds the training state of another app,
            other options or another vocabulary, or files that are not a backup.

    Example:
        >>> check_backup_identity("backup", app_identity("TextGenerator", {}, [["a"]]))  # doctest: +SKIP
    """
    check_backup_folder(backup_dir)
    path = os.path.join(os.fspath(backup_dir), IDENTITY_FILE)
    # Only a backup that holds a training state (Keras writes its metadata at the first
    # epoch end) has something to protect; one left by a fit that failed earlier is reused.
    has_state = os.path.isfile(os.path.join(os.fspath(backup_dir), KERAS_METADATA_FILE))
    if os.path.isfile(path) and has_state:
        try:
            with open(path, encoding="utf-8") as handle:
                recorded = json.load(handle)
        except ValueError:
            recorded = None
        if recorded != identity:
            differences = []
            if recorded is None:
                differences.append("its description is unreadable")
            else:
                if recorded.get("app") != identity["app"]:
                    differences.append(f"it belongs to a {recorded.get('app')}")
                old, new = recorded.get("config", {}), identity["config"]
                changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
                if changed:
                    differences.append(f"options differ: {', '.join(changed)}")
                if recorded.get("vocabularies") != identity["vocabularies"]:
                    differences.append("the vocabulary built from the data differs")
            raise ConfigError(
                f"the backup in {backup_dir} belongs to another training ({'; '.join(differences)}): "
                "rerun with the same data and options to resume, or use a new backup directory"
            )
        return
    os.makedirs(os.fspath(backup_dir), exist_ok=True)
    atomic_write_text(path, json.dumps(identity, ensure_ascii=False, indent=1))


def backup_location(kind, resume=False, backup_dir=None, checkpoint_dir=None):
    """The `BackupAndRestore` directory of a fit: `backup_dir`, else (with `resume`) next to
    the checkpoints, else `rnnapps_backup/<kind>` in the working directory; None: no backup.

    Example:
        >>> backup_location("poetry", resume=True)
        'rnnapps_backup/poetry'
    """
    if backup_dir is not None:
        return os.fspath(backup_dir)
    if not resume:
        return None
    if checkpoint_dir is not None:
        return os.path.join(os.fspath(checkpoint_dir), "backup")
    return os.path.join("rnnapps_backup", kind)


def atomic_write_text(path, text):
    """Writes `text` to `path` via a temporary file and a rename (never half-written)."""
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


def _plain(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class EpochHistoryLog(keras.callbacks.Callback):
    """Keeps the epoch logs in `<backup_dir>/rnnapps_history.json` across interruptions.

    Place it after `BackupAndRestore`: on a resumed fit `previous` then holds the logs of
    the epochs the backup already covers (so the history continues without a gap or a
    repeat), and every finished epoch is appended and written atomically.

    Args:
        backup_dir: the `BackupAndRestore` directory.

    Example:
        >>> log = EpochHistoryLog("backup")                                     # doctest: +SKIP
        >>> model.fit(x, y, callbacks=[keras.callbacks.BackupAndRestore("backup"), log])  # doctest: +SKIP
    """

    def __init__(self, backup_dir):
        super().__init__()
        self.path = os.path.join(os.fspath(backup_dir), HISTORY_FILE)
        self.previous = {}
        self._logs = {}

    def on_train_begin(self, logs=None):
        done = int(getattr(self.model, "_initial_epoch", None) or 0)
        recorded = {}
        if done and os.path.isfile(self.path):
            try:
                with open(self.path, encoding="utf-8") as handle:
                    recorded = json.load(handle)
            except ValueError:
                recorded = {}
        # The backup may be one epoch behind this log (killed between the two writes):
        # the backup's epoch count decides.
        self.previous = {key: list(values)[:done] for key, values in recorded.items()}
        self._logs = {key: list(values) for key, values in self.previous.items()}

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self._logs.setdefault(key, []).append(_plain(value))
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        atomic_write_text(self.path, json.dumps(self._logs))


def merge_history(previous, history):
    """Puts the epochs of an interrupted run in front of a resumed run's Keras `History`.

    Example:
        >>> h = keras.callbacks.History(); h.history = {"loss": [0.5]}; h.epoch = [2]
        >>> merge_history({"loss": [0.9, 0.7]}, h).history["loss"]
        [0.9, 0.7, 0.5]
    """
    if not previous:
        return history
    done = max((len(values) for values in previous.values()), default=0)
    merged = {}
    for key in list(previous) + [k for k in history.history if k not in previous]:
        before = list(previous.get(key, [None] * done))
        merged[key] = before + list(history.history.get(key, []))
    history.history = merged
    history.epoch = list(range(done)) + list(history.epoch)
    return history
