"""Request batching: concurrent calls merge into one, each caller gets its own rows and errors."""

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import tensorflow as tf

from rnnapps.serving.batching import AsyncBatcher, Batcher, batchable
from rnnapps.serving.servable import Signature


def test_concurrent_calls_are_merged_and_split_back():
    calls = []

    def run(inputs):
        calls.append(len(inputs["x"]))
        time.sleep(0.05)  # long enough for the other callers to queue up
        if (inputs["x"] < 0).any():
            raise ValueError("negative")
        return {"y": inputs["x"] * 10, "z": np.stack([inputs["x"], inputs["x"]], axis=1)}

    batcher = Batcher(run, max_rows=8)
    results = {}

    def call(i):
        try:
            results[i] = batcher({"x": np.array([i, i + 100])})
        except ValueError as error:
            results[i] = error

    threads = [threading.Thread(target=call, args=(i,)) for i in (-1, 1, 2, 3, 4, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert isinstance(results[-1], ValueError)  # a bad call fails alone ...
    for i in (1, 2, 3, 4, 5):  # ... and the others still get their own rows
        assert results[i]["y"].tolist() == [i * 10, (i + 100) * 10]
        assert results[i]["z"].shape == (2, 2)
    assert max(calls) > 2 and max(calls) <= 8  # merged, within max_rows
    assert batcher({"x": np.zeros([0], int)})["y"].shape == (0,)


def _slow_times_ten(calls):
    def run(inputs):
        calls.append(len(inputs["x"]))
        time.sleep(0.05)  # long enough for the other requests to queue up
        if (inputs["x"] < 0).any():
            raise ValueError("negative")
        return {"y": inputs["x"] * 10}

    return run


def test_async_batcher_merges_waiting_requests_and_keeps_errors_apart():
    calls = []

    async def scenario():
        batcher = AsyncBatcher(_slow_times_ten(calls), ThreadPoolExecutor(2), max_rows=8, max_concurrent=1)
        first = asyncio.ensure_future(batcher({"x": np.array([0])}))  # runs alone at once
        await asyncio.sleep(0.01)
        rest = [batcher({"x": np.array([i, i + 100])}) for i in (-1, 1, 2, 3, 4, 5)]
        results = await asyncio.gather(first, *rest, return_exceptions=True)
        return batcher, results

    batcher, results = asyncio.run(scenario())
    assert results[0]["y"].tolist() == [0]
    assert isinstance(results[1], ValueError)  # the bad request fails alone ...
    for i, result in zip((1, 2, 3, 4, 5), results[2:]):  # ... the others get their own rows
        assert result["y"].tolist() == [i * 10, (i + 100) * 10]
    assert calls[0] == 1  # the lone first request did not wait for company
    assert max(calls) == 8  # 4 requests of 2 rows merged, max_rows respected
    assert batcher.rows == 1 + 8 + 4  # the failed merged call is not counted twice


def test_async_batcher_runs_unmergeable_requests_alone_and_survives_a_cancelled_caller():
    calls = []

    async def scenario():
        batcher = AsyncBatcher(_slow_times_ten(calls), ThreadPoolExecutor(2), max_rows=4, max_concurrent=1)
        big = await batcher({"x": np.arange(6)})  # more rows than max_rows: one call of its own
        running = asyncio.ensure_future(batcher({"x": np.array([1])}))
        await asyncio.sleep(0.01)
        gone = asyncio.ensure_future(batcher({"x": np.array([2])}))
        await asyncio.sleep(0)
        gone.cancel()  # the client hung up while queued
        kept = await batcher({"x": np.array([3])})
        return big, await running, kept

    big, running, kept = asyncio.run(scenario())
    assert big["y"].tolist() == list(range(0, 60, 10))
    assert running["y"].tolist() == [10] and kept["y"].tolist() == [30]
    assert calls[0] == 6


@pytest.mark.parametrize("inputs, outputs, expected", [
    ({"text": [None]}, {"p": [None, 3], "label": [None]}, True),
    ({"text": [None], "max_length": []}, {"p": [None]}, False),
    ({"text": [None]}, {"tokens": [None, None]}, False),
])
def test_only_row_shaped_signatures_are_batchable(inputs, outputs, expected):
    class Fake:
        structured_input_signature = ((), {k: tf.TensorSpec(v, tf.string) for k, v in inputs.items()})
        structured_outputs = {k: tf.TensorSpec(v, tf.float32) for k, v in outputs.items()}

    assert batchable(Signature("s", Fake())) is expected


def _asgi_post(app, body_messages):
    """Runs one `POST /v1/models/m:predict` through the ASGI `app`; returns the sent messages."""
    sent, incoming = [], list(body_messages)

    async def receive():
        return incoming.pop(0)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/models/m:predict", "headers": [(b"content-length", b"2")]}
    asyncio.run(app(scope, receive, send))
    return sent


def test_the_predict_fast_path_answers_unexpected_errors_as_json_and_ignores_gone_clients():
    from rnnapps.serving.rest import PredictFastPath

    class Starlette:  # only its `state` is read; nothing reaches it in this test
        state = object()

    async def broken(path, chunks, declared):
        assert [chunk async for chunk in chunks] == [b"{}"] and declared == "2"
        raise KeyError("boom")

    sent = _asgi_post(PredictFastPath(broken, Starlette()), [{"type": "http.request", "body": b"{}"}])
    assert sent[0]["status"] == 500 and (b"content-type", b"application/json") in sent[0]["headers"]
    assert sent[1]["body"] == b'{"error":"KeyError: \'boom\'"}'

    async def reads(path, chunks, declared):
        return 200, b"".join([chunk async for chunk in chunks])

    assert _asgi_post(PredictFastPath(reads, Starlette()), [{"type": "http.disconnect"}]) == []
