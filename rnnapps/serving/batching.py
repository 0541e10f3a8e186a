"""Request batching: concurrent requests to one signature run as one call.

A signature whose inputs and outputs all have a free first (batch) dimension and fixed
other dimensions (the classifier's `serving_default`: texts in, a label and a row of
probabilities per text out) answers a batch of 8 texts in little more time than one, so
under load the server concatenates the rows of the requests waiting for it, runs them
once and hands each request its own rows. A lone request runs at once, at most
`max_concurrent` batches run at a time, and a batch holds at most `max_rows` rows.
`Batcher` serves threads (the gRPC server's) and never waits for a batch to fill;
`AsyncBatcher` serves the REST event loop and, under steady load only, waits a moment
(2 ms at most) for as many rows as its last call had, which keeps calls full. Signatures with scalar inputs (knobs) or ragged outputs (generated
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
        if not _mergeable(job, self.max_rows):
            return self._run(inputs)  # nothing to gain from merging
        with self._cond:
            self._queue.append(job)
        while True:
            with self._cond:
                while not job.done and not (self._queue and self._active < self.max_concurrent):
                    self._cond.wait()
                if job.done:
                    break
                batch = _take(self._queue, self.max_rows)
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

    def _execute(self, batch):
        self.calls += 1
        run_merged(self._run, batch)
        for job in batch:
            job.done = True


def run_merged(run, jobs):
    """Runs `jobs` (each with `.inputs` and `.rows`) as one call of `run`, setting each job's
    `.outputs` to its own rows, or, if the merged call fails, one call per job, setting
    `.outputs` or `.error` (so an error reaches only the request that caused it)."""
    if len(jobs) > 1:
        try:
            merged = {key: np.concatenate([job.inputs[key] for job in jobs]) for key in jobs[0].inputs}
            outputs = run(merged)
            bounds = np.cumsum([job.rows for job in jobs])[:-1]
            pieces = {key: np.split(value, bounds) for key, value in outputs.items()}
            for index, job in enumerate(jobs):
                job.outputs = {key: parts[index] for key, parts in pieces.items()}
            return
        except Exception:  # noqa: BLE001 - retried one by one below, each gets its own error
            pass
    for job in jobs:
        try:
            job.outputs = run(job.inputs)
        except Exception as error:  # noqa: BLE001 - handed to the caller that owns the job
            job.error = error


def _take(queue, max_rows):
    """Pops the queue's first jobs, at most `max_rows` rows in all (at least one job)."""
    batch, rows = [], 0
    while queue and (not batch or rows + queue[0].rows <= max_rows):
        job = queue.popleft()
        batch.append(job)
        rows += job.rows
    return batch


def _mergeable(job, max_rows):
    return 0 < job.rows < max_rows and all(len(value) == job.rows for value in job.inputs.values())


class AsyncBatcher:
    """The `Batcher` for an asyncio server: requests wait on the event loop, not in threads.

    A request's rows join a queue; while fewer than `max_concurrent` merged calls run, a
    drain task takes everything queued (at most `max_rows` rows) and runs it as one call
    in `executor`. Before each merged call the task yields to the event loop once, so
    requests whose bytes have already arrived join that call. Compared with `Batcher`,
    a request costs no thread hop and no thread wake-up of its own: one hop per merged call.

    Example:
        >>> async def demo():
        ...     batcher = AsyncBatcher(lambda inputs: {"y": inputs["x"] * 2}, executor=None)
        ...     return (await batcher({"x": np.array([1, 2])}))["y"].tolist()
        >>> import asyncio; asyncio.run(demo())
        [2, 4]
    """

    def __init__(self, run, executor, max_rows=64, max_concurrent=1, timeout=0.002):
        self._run = run
        self._executor = executor
        self.max_rows = int(max_rows)
        self.max_concurrent = int(max_concurrent)
        self.timeout = float(timeout)
        self._queue = collections.deque()
        self._queued_rows = 0
        self._last_rows = 1  # rows of the last merged call: how many to wait for next time
        self._filled = None  # (rows wanted, asyncio.Event) while a drain task waits for rows
        self._draining = 0
        self.calls = 0
        self.rows = 0

    async def __call__(self, inputs):
        import asyncio

        loop = asyncio.get_running_loop()
        job = _Job(inputs)
        if not _mergeable(job, self.max_rows):
            return await loop.run_in_executor(self._executor, self._run, inputs)
        job.done = loop.create_future()
        self._queue.append(job)
        self._queued_rows += job.rows
        if self._filled is not None and self._queued_rows >= self._filled[0]:
            self._filled[1].set()
        if self._draining < self.max_concurrent:
            self._draining += 1
            loop.create_task(self._drain(loop))
        return await job.done

    async def _drain(self, loop):
        import asyncio

        try:
            while self._queue:
                await asyncio.sleep(0)  # requests already read by the loop join this call
                await self._wait_for_rows()
                batch = _take(self._queue, self.max_rows)
                if not batch:
                    continue
                self._last_rows = sum(job.rows for job in batch)
                self._queued_rows -= self._last_rows
                self.calls += 1
                self.rows += self._last_rows
                try:
                    await loop.run_in_executor(self._executor, run_merged, self._run, batch)
                except BaseException as error:  # noqa: BLE001 - e.g. the executor shut down
                    for job in batch:
                        job.error = job.error or error
                for job in batch:
                    if job.done.done():  # the client went away
                        continue
                    if job.error is not None:
                        job.done.set_exception(job.error)
                    else:
                        job.done.set_result(job.outputs)
        finally:
            self._draining -= 1

    async def _wait_for_rows(self):
        """Under steady load, the clients answered by the last merged call send their next
        requests within a fraction of a millisecond: wait up to `timeout` for as many rows
        as that call had, so calls stay full instead of alternating big and small. A lone
        request (last call: one row) never waits."""
        import asyncio

        wanted = min(self._last_rows, self.max_rows)
        if self.timeout <= 0 or self._queued_rows >= wanted or self._filled is not None:
            return
        self._filled = (wanted, asyncio.Event())
        try:
            await asyncio.wait_for(self._filled[1].wait(), self.timeout)
        except asyncio.TimeoutError:
            pass
        finally:
            self._filled = None
