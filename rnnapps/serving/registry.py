"""Which model versions are served, and the poller that follows the export directories.

Like TF Serving, each model name watches one base directory (`saved_models/<name>/`) whose
integer subdirectories are versions. A poll serves the highest `num_versions` versions:
a new version is loaded and warmed up completely before it is added, and only then are
versions that fell out of the window dropped; requests in flight keep the version they
started with. Deleting the newest version rolls back to the one below it on the next poll.
A version that fails to load is retried on the next polls (a copy may still be arriving),
then given up; the versions already served stay.

Example:
    >>> registry = ModelRegistry({"sentiment": "saved_models/sentiment"})  # doctest: +SKIP
    >>> registry.poll(); registry.get("sentiment").version                # doctest: +SKIP
    1
"""

import os
import sys
import threading

from rnnapps.errors import ConfigError
from rnnapps.serving.errors import ServingError
from rnnapps.serving.servable import Servable

MAX_LOAD_ATTEMPTS = 5


def versions_on_disk(base_path):
    """Integer version directories of a model base that hold a `saved_model.pb`, ascending."""
    try:
        entries = os.listdir(base_path)
    except OSError:
        return []
    return sorted(
        int(entry) for entry in entries
        if entry.isdigit() and os.path.isfile(os.path.join(base_path, entry, "saved_model.pb"))
    )


class ModelRegistry:
    """The served versions of every model, updated by `poll()` (or a polling thread).

    Args:
        bases: `{model name: base directory}`.
        num_versions: how many of the highest versions to serve (TF Serving's
            `latest { num_versions }` policy); requests without a version get the highest.
        warmup: replay each version's warm-up requests before serving it.
        batching: `{"max_rows": ..., "max_concurrent": ...}` to merge concurrent requests
            (`rnnapps.serving.batching`), or None.
        log: where load/unload messages go (a `print`-like function).
    """

    def __init__(self, bases, num_versions=1, warmup=True, batching=None, log=None):
        self.bases = {name: os.path.abspath(path) for name, path in bases.items()}
        if isinstance(num_versions, bool) or not isinstance(num_versions, int) or num_versions < 1:
            raise ConfigError(f"num_versions must be an integer >= 1, got {num_versions!r}")
        self.num_versions = num_versions
        self.warmup = warmup
        self.batching = batching
        self.log = log or (lambda message: print(message, file=sys.stderr, flush=True))
        self._lock = threading.Lock()
        self._poll_lock = threading.Lock()
        self._served = {name: {} for name in self.bases}  # version -> Servable
        self._states = {name: {} for name in self.bases}  # version -> (state, error code, message)
        self._attempts = {name: {} for name in self.bases}  # version -> failed loads
        self._stop = threading.Event()
        self._thread = None

    # -- polling ---------------------------------------------------------------------
    def poll(self):
        """One pass over every base directory: load new versions, then drop old ones."""
        with self._poll_lock:  # the polling thread and a caller never load the same version twice
            for name, base in self.bases.items():
                self._poll_model(name, base)

    def _poll_model(self, name, base):
        attempts = self._attempts[name]
        candidates = [v for v in versions_on_disk(base) if attempts.get(v, 0) < MAX_LOAD_ATTEMPTS]
        wanted = candidates[-self.num_versions:]
        for version in wanted:
            if version not in self._served[name]:
                self._load(name, version, os.path.join(base, str(version)))
        served = self._served[name]
        keep = [v for v in wanted if v in served]
        if not keep:
            keep = sorted(served)[-self.num_versions:]  # nothing new loaded: keep what works
        for version in sorted(set(served) - set(keep)):
            self._set_state(name, version, "UNLOADING")
            with self._lock:
                served = dict(self._served[name])
                del served[version]
                self._served[name] = served
            self._set_state(name, version, "END")
            self.log(f"rnnapps serve: {name} version {version} unloaded")

    def _load(self, name, version, path):
        self._set_state(name, version, "LOADING")
        try:
            servable = Servable.load(name, version, path, batching=self.batching)
            count = servable.warm_up() if self.warmup else 0
        except ServingError as error:
            self._attempts[name][version] = self._attempts[name].get(version, 0) + 1
            gave_up = self._attempts[name][version] >= MAX_LOAD_ATTEMPTS
            self._set_state(name, version, "END", error.code, str(error))
            self.log(f"rnnapps serve: {name} version {version} failed to load"
                     f"{' (giving up)' if gave_up else ' (will retry)'}: {error}")
            return
        with self._lock:
            # Copy-on-write: a request that already picked the old dict keeps a consistent view.
            self._served[name] = {**self._served[name], version: servable}
        self._set_state(name, version, "AVAILABLE")
        self.log(f"rnnapps serve: {name} version {version} available ({path}; {count} warm-up requests)")

    def _set_state(self, name, version, state, code="OK", message=""):
        with self._lock:
            self._states[name][version] = (state, code, message)

    def start(self, poll_seconds=1.0):
        """Polls every `poll_seconds` in a daemon thread (after one synchronous poll)."""
        self.poll()
        if poll_seconds and poll_seconds > 0:
            def loop():
                while not self._stop.wait(poll_seconds):
                    try:
                        self.poll()
                    except Exception as error:  # a poll must never kill the poller
                        self.log(f"rnnapps serve: poll failed: {error!r}")

            self._thread = threading.Thread(target=loop, name="rnnapps-serve-poll", daemon=True)
            self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    # -- lookups ---------------------------------------------------------------------
    def names(self):
        return sorted(self.bases)

    def get(self, name, version=None):
        """The servable of `name` at `version` (None: the highest served), or a 404 `ServingError`."""
        if name not in self.bases:
            raise ServingError("NOT_FOUND", f"no model named {name!r} is served (served: {', '.join(self.names()) or 'none'})")
        served = self._served[name]
        if version is None:
            if not served:
                raise ServingError("NOT_FOUND", f"model {name!r} has no version available yet (watching {self.bases[name]})")
            return served[max(served)]
        if int(version) not in served:
            raise ServingError("NOT_FOUND", f"model {name!r} version {version} is not served (served: {sorted(served) or 'none'})")
        return served[int(version)]

    def status(self, name, version=None):
        """TF Serving's `GetModelStatusResponse` for a model (one version or all it has seen)."""
        from tensorflow_serving.apis import get_model_status_pb2

        if name not in self.bases:
            raise ServingError("NOT_FOUND", f"no model named {name!r} is served (served: {', '.join(self.names()) or 'none'})")
        with self._lock:
            states = dict(self._states[name])
        if version is not None:
            if int(version) not in states:
                raise ServingError("NOT_FOUND", f"model {name!r} has no version {version}")
            states = {int(version): states[int(version)]}
        if not states:
            raise ServingError("NOT_FOUND", f"model {name!r} has no versions yet (watching {self.bases[name]})")
        response = get_model_status_pb2.GetModelStatusResponse()
        for number in sorted(states, reverse=True):
            state, code, message = states[number]
            entry = response.model_version_status.add(version=number)
            entry.state = get_model_status_pb2.ModelVersionStatus.State.Value(state)
            entry.status.error_code = _error_code(code)
            entry.status.error_message = message
        return response


def _error_code(name):
    """The number of a canonical code name in the status proto's enum (tensorflow.error.Code)."""
    from tensorflow_serving.apis import status_pb2

    return status_pb2.StatusProto.DESCRIPTOR.fields_by_name["error_code"].enum_type.values_by_name[name].number
