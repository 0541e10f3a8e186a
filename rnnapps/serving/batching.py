"""Request batching: concurrent requests to one signature run as one call.

A signature whose inputs and outputs all have a free first (batch) dimension and fixed
other dimensions (the classifier's `serving_default`: texts in, a label and a row of
probabilities per text out) answers a batch of 8 texts in little more time than one, so
under load the server concatenates the rows of the requests waiting for it, runs them
once and hands each request its own rows. Nothing waits for a batch to fill: a request
that finds a free slot runs at once with whatever is queued (so a lone request costs no
extra latency), at most `max_concurrent` batches run at a time, and a batch holds at most
`max_rows` rows. Signatures with scalar inputs (knobs) or ragged outputs (generated
tokens) are never batched: each request runs alone. If a merged call fails, its requests
are run one by one, so an error reaches only the request that caused it.

Example:
    >>> batcher = Batcher(lambda inputs: {"y": inputs["x"] * 2}, max_rows=64)
    >>> batcher({"x": np.array([1, 2])})["y"].tolist()
    [2, 4]
"""

import collections
import threading

import numpy as np


def batchable(signature):
    """True if every input and output of `signature` is `[None, fixed dims...]`."""
    specs = list(signature.inputs.values()) + list(signature.outputs.values())
    for spec in specs:
        shape = spec.shape.as_list() if spec.shape.rank is not None else None
        if not shape or shape[0] is not None or any(dim is None for dim in shape[1:]):
            return False
    return True


class _Job:
    __slots__ = ("inputs", "rows", "done", "outputs", "error")

    def __init__(self, inputs):
        self.inputs = inputs
        self.rows = len(next(iter(inputs.values())))
        self.done, self.outputs, self.error = False, None, None


class Batcher:
    """Runs `run(inputs) -> outputs` (dicts of arrays, rows first) for concurrent callers,
    merging the rows of waiting calls.

    Args:
        run: the signature call.
        max_rows: most rows in one merged call.
        max_concurrent: merged calls running at the same time.
    """

    def __init__(self, run, max_rows=64, max_concurrent=1):
        self._run = run
        self.max_rows = int(max_rows)
        self.max_concurrent = int(max_concurrent)
        self._queue = collections.deque()
        self._cond = threading.Condition()
        self._active = 0
        self.calls = 0  # merged calls made (for tests and curiosity)

    def __call__(self, inputs):
        job = _Job(inputs)
        if job.rows == 0 or job.rows >= self.max_rows or any(len(value) != job.rows for value in inputs.values()):
            return self._run(inputs)  # nothing to gain from merging
        with self._cond:
            self._queue.append(job)
        while True:
            with self._cond:
                while not job.done and not (self._queue and self._active < self.max_concurrent):
                    self._cond.wait()
                if job.done:
                    break
                batch = self._take()
                self._active += 1
            try:
                self._execute(batch)
            finally:
                with self._cond:
                    self._active -= 1
                    self._cond.notify_all()
        if job.error is not None:
            raise job.error
        return job.outputs

    def _take(self):
        batch, rows = [], 0
        while self._queue and (not batch or rows + self._queue[0].rows <= self.max_rows):
            job = self._queue.popleft()
            batch.append(job)
            rows += job.rows
        return batch

    def _execute(self, batch):
        self.calls += 1
        if len(batch) > 1:
            try:
                merged = {key: np.concatenate([job.inputs[key] for job in batch]) for key in batch[0].inputs}
                outputs = self._run(merged)
                bounds = np.cumsum([job.rows for job in batch])[:-1]
                pieces = {key: np.split(value, bounds) for key, value in outputs.items()}
                for index, job in enumerate(batch):
                    job.outputs = {key: parts[index] for key, parts in pieces.items()}
                    job.done = True
                return
            except Exception:  # noqa: BLE001 - retried one by one below, each gets its own error
                pass
        for job in batch:
            try:
                job.outputs = self._run(job.inputs)
            except Exception as error:  # noqa: BLE001 - handed to the caller that owns the job
                job.error = error
            job.done = True
