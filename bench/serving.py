#!/usr/bin/env python
"""Serving throughput and latency: `rnnapps serve` over loopback HTTP vs the SavedModel in-process.

For each app, the same request (one text / prompt / source per request) is sent by
`--clients` concurrent threads, first straight to the export's signature in this process
(`tf.saved_model.load(...).signatures[...]`: the ceiling), then as REST predict requests
to an `rnnapps serve` subprocess on 127.0.0.1 (HTTP/1.1 keep-alive, one connection per
client thread, JSON in and out). The two sides take turns for `--rounds` rounds (which
goes first alternates), never running at the same time; a round lasts `--seconds` or
`--requests`, whichever ends first, after one short untimed warm-up per side. A side's
figures come from its fastest round (noise from other processes only slows a round down).
Printed per app: requests/s, p50 and p99 latency of both sides and the throughput ratio.
The server merges concurrent classifier requests into one call (`rnnapps serve`'s default
batching; `--no-batching` measures without it).
Target: the classifier's REST throughput >= 0.7x in-process at 8 clients (exit status 1 on a miss).

The exports have the apps' default sizes (classifier: LSTM(64), embedding 128; language
model and poet: GRU(512), embedding 256; translator: bidirectional GRU(256) encoder, beam 4),
trained one epoch on the bundled samples or tiny data, since weights do not change the cost:

    python bench/serving.py                       # 2-5 minutes on 2 CPU cores, exports included
    python bench/serving.py --apps sentiment      # the target alone: about 1 minute
    python bench/serving.py --base saved_models   # the quickstart's exports instead
    python bench/serving.py --apps sentiment --seconds 10
"""

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # before TensorFlow is imported anywhere

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
TARGET_RATIO = 0.7

# One request per app: (signature, columnar inputs).
REQUESTS = {
    "sentiment": ("serving_default", {"text": ["the film was wonderful but the ending felt long and dull"]}),
    "language_model": ("generate", {"prompt": ["the cat"], "max_length": 20, "temperature": 0.8, "top_k": 0, "top_p": 1.0, "seed": 1}),
    "poetry": ("generate", {"form": "wujue", "acrostic": [""], "first_line": [""], "mood": [""], "rhyme": False,
                            "no_repeat": False, "temperature": 0.8, "top_k": 0, "seed": 1}),
    "translator": ("translate", {"source": ["three one four one five"], "max_length": 20}),
}


def export_apps(base, apps):
    import keras

    import rnnapps
    from rnnapps.data.synthetic import reversed_numbers
    from tests.helpers import tiny_sentiment_data

    keras.utils.set_random_seed(0)
    samples = os.path.join(ROOT, "rnnapps", "samples")
    if "sentiment" in apps:
        clf = rnnapps.SentimentClassifier()
        clf.fit(*tiny_sentiment_data(per_class=20), epochs=1, validation_split=0.0, verbose=0)
        clf.export(base, "sentiment")
    if "language_model" in apps:
        gen = rnnapps.TextGenerator(level="char")
        gen.fit(os.path.join(samples, "dialogue.txt"), epochs=1, validation_split=0, verbose=0)
        gen.export(base, "language_model")
    if "poetry" in apps:
        poet = rnnapps.PoetryGenerator()
        poet.fit(os.path.join(samples, "poems.txt"), epochs=1, validation_split=0, verbose=0)
        poet.export(base, "poetry")
    if "translator" in apps:
        tr = rnnapps.Translator()
        tr.fit(reversed_numbers(300, seed=0), epochs=1, validation_split=0, verbose=0)
        tr.export(base, "translator", beam_width=4)


def run_clients(call, clients, seconds, max_requests):
    """Runs `call()` from `clients` threads until the time or request budget is spent;
    returns (requests/s, latencies in seconds)."""
    latencies, lock, deadline = [], threading.Lock(), time.perf_counter() + seconds
    errors = []

    def worker(make):
        try:
            one = make()
            while time.perf_counter() < deadline:
                with lock:
                    if len(latencies) >= max_requests:
                        return
                start = time.perf_counter()
                one()
                with lock:
                    latencies.append(time.perf_counter() - start)
        except Exception as error:  # report, do not hang the bench
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(call,)) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"a client failed: {errors[0]!r}")
    return len(latencies) / elapsed, np.array(latencies)


def in_process(version_dir, signature, inputs):
    import tensorflow as tf

    from rnnapps.serving.servable import Servable

    servable = Servable.load("bench", 1, version_dir)
    specs = servable.signature(signature).inputs
    tensors = {key: tf.constant(value, dtype=specs[key].dtype) for key, value in inputs.items()}
    fn = servable.signature(signature).fn
    return lambda: (lambda: fn(**tensors))


def over_http(port, name, signature, inputs):
    """A client per thread on one keep-alive socket. The request bytes are built once and
    the response is read by its Content-Length, as load generators (wrk, ab) do:
    http.client's header parsing would cost the client as much CPU as the server spends."""
    body = json.dumps({"signature_name": signature, "inputs": inputs}).encode()
    request = (f"POST /v1/models/{name}:predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body

    def make():
        connection = socket.create_connection(("127.0.0.1", port), timeout=120)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffer = b""

        def one():
            nonlocal buffer
            connection.sendall(request)
            while b"\r\n\r\n" not in buffer:
                buffer += connection.recv(65536) or _closed()
            head, buffer = buffer.split(b"\r\n\r\n", 1)
            length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")))
            while len(buffer) < length:
                buffer += connection.recv(65536) or _closed()
            payload, buffer = buffer[:length], buffer[length:]
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"{head.splitlines()[0]!r}: {payload[:300]!r}")

        return one

    return make


def _closed():
    raise ConnectionError("the server closed the connection")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_served(port, names, process, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"rnnapps serve exited with status {process.returncode}")
        try:
            for name in names:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", f"/v1/models/{name}")
                if connection.getresponse().status != 200:
                    raise ConnectionError
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("rnnapps serve did not become ready")


def summary(rate, latencies):
    return f"{rate:8.1f} req/s  p50 {np.percentile(latencies, 50) * 1000:7.1f} ms  p99 {np.percentile(latencies, 99) * 1000:7.1f} ms"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", help="serve these exports (a folder of model bases) instead of exporting fresh ones")
    parser.add_argument("--apps", nargs="+", default=list(REQUESTS), choices=list(REQUESTS))
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default: 8)")
    parser.add_argument("--seconds", type=float, default=2.0, help="time budget per round and side (default: 2)")
    parser.add_argument("--requests", type=int, default=5000, help="request budget per round and side (default: 5000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per app (default: 3)")
    parser.add_argument("--no-batching", action="store_true", help="run rnnapps serve --no-batching")
    parser.add_argument("--workers", type=int, default=8, help="rnnapps serve --workers (default: 8)")
    parser.add_argument("--batch-threads", type=int, help="rnnapps serve --batch-threads (default: the server's)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        base = args.base
        if base is None:
            base = os.path.join(scratch, "saved_models")
            started = time.perf_counter()
            export_apps(base, args.apps)
            print(f"exported {', '.join(args.apps)} in {time.perf_counter() - started:.0f} s", flush=True)
        from rnnapps.serving.registry import versions_on_disk

        port = free_port()
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        command = [sys.executable, "-m", "rnnapps.cli", "serve", *[os.path.join(base, a) for a in args.apps],
                   "--port", str(port), "--poll-seconds", "0", "--workers", str(args.workers), "--no-demo"] + (["--no-batching"] if args.no_batching else [])
        if args.batch_threads is not None:
            command += ["--batch-threads", str(args.batch_threads)]
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        results = {}
        try:
            wait_until_served(port, args.apps, server)
            for name in args.apps:
                signature, inputs = REQUESTS[name]
                version_dir = os.path.join(base, name, str(versions_on_disk(os.path.join(base, name))[-1]))
                local = in_process(version_dir, signature, inputs)
                remote = over_http(port, name, signature, inputs)
                for make in (local, remote):  # untimed warm-up of both sides
                    run_clients(make, args.clients, 1.0, 4 * args.clients)
                runs = {"local": [], "remote": []}
                for round_ in range(args.rounds):
                    order = (("local", local), ("remote", remote))
                    for side, make in order if round_ % 2 == 0 else order[::-1]:
                        runs[side].append(run_clients(make, args.clients, args.seconds, args.requests))
                results[name] = tuple(max(runs[side], key=lambda run: run[0]) for side in ("local", "remote"))
                (rate_in, lat_in), (rate_http, lat_http) = results[name]
                print(f"{name:15s} in-process {summary(rate_in, lat_in)}\n{'':15s} rnnapps serve {summary(rate_http, lat_http)}"
                      f"   ratio {rate_http / rate_in:.2f}", flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)
    if "sentiment" not in results:
        return 0
    (rate_in, _), (rate_http, _) = results["sentiment"]
    ratio = rate_http / rate_in
    verdict = "PASS" if ratio >= TARGET_RATIO else "MISS"
    print(f"classifier REST/in-process throughput at {args.clients} clients: {ratio:.2f} (target >= {TARGET_RATIO}) {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
