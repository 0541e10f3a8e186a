"""One `rnnapps serve` subprocess over the tiny exports, shared by the serving tests.

Besides the four apps it serves `switch`, a copy of the sentiment export in a model base
of its own that the version-switch test adds versions to and removes them from. Limits
are lowered so the limit tests send small requests.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APPS = ("sentiment", "language_model", "poetry", "translator")
LIMITS = {"--max-body-bytes": 20000, "--max-rows": 16, "--max-string-bytes": 2000, "--max-new-tokens": 500}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A running `rnnapps serve`: `url`, `grpc_target`, `get()`, `post()`, `log()`."""

    def __init__(self, process, port, grpc_port, log_path, switch_base):
        self.process, self.port, self.grpc_port = process, port, grpc_port
        self.url = f"http://127.0.0.1:{port}"
        self.grpc_target = f"127.0.0.1:{grpc_port}"
        self.log_path, self.switch_base = log_path, switch_base

    def request(self, method, path, body=None, headers=None, timeout=60):
        """(status, headers, parsed JSON body) of one request; HTTP errors are returned too."""
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw, status, head = response.read(), response.status, dict(response.headers)
        except urllib.error.HTTPError as error:
            raw, status, head = error.read(), error.code, dict(error.headers)
        return status, head, json.loads(raw) if raw else None

    def get(self, path):
        status, _, payload = self.request("GET", path)
        return status, payload

    def post(self, path, body):
        status, _, payload = self.request("POST", path, body)
        return status, payload

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()


def wait_for(condition, timeout, what, server=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server is not None and server.process.poll() is not None:
            raise RuntimeError(f"rnnapps serve exited ({server.process.returncode}):\n{server.log()[-3000:]}")
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"timed out waiting for {what}" + (f":\n{server.log()[-3000:]}" if server else ""))


@pytest.fixture(scope="session")
def server(tiny_exports, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("serve")
    switch_base = scratch / "switch"
    switch_base.mkdir()
    shutil.copytree(tiny_exports["sentiment"], switch_base / "1")
    bases = [os.path.dirname(tiny_exports[name]) for name in APPS] + [f"switch={switch_base}"]
    port, grpc_port = free_port(), free_port()
    log_path = scratch / "serve.log"
    command = [sys.executable, "-m", "rnnapps.cli", "serve", *bases, "--port", str(port), "--grpc-port", str(grpc_port),
               "--poll-seconds", "0.3"] + [str(item) for pair in LIMITS.items() for item in pair]
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), TF_CPP_MIN_LOG_LEVEL="3")
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    running = Server(process, port, grpc_port, log_path, switch_base)
    try:
        wait_for(lambda: all(running.get(f"/v1/models/{name}")[0] == 200 for name in APPS + ("switch",)), 300,
                 "the models to be served", running)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
