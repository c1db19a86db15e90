"""A local S3 server (moto's) for tests and benchmarks of the store on object storage.

``with s3_server("bucket") as env:`` starts the server on a free port, creates the bucket and
yields the environment a client needs to reach it (endpoint and placeholder keys); the caller
puts that environment where the store will read it (``os.environ``, a subprocess, Ray nodes).
The server runs in a thread of this process, or (``own_process``) in a process of its own, as
an object store runs on other machines: its work then takes no time from this process.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def s3_server(
    bucket: str,
    latency_s: float = 0.0,
    own_process: bool = False,
    on_request: Callable[[str], None] | None = None,
) -> Iterator[dict[str, str]]:
    """A moto S3 server holding ``bucket``; yields the client environment for it. With
    ``latency_s``, every request is answered that much later (a network's round trip; the
    server answers requests side by side, as an object store does). With ``own_process``, the
    server runs in a child process and ``on_request`` is called with each request line it
    logs (in this process's server, moto's requests are logged to the ``werkzeug`` logger)."""
    import boto3

    port = free_port()
    if own_process:
        stop = _start_process(port, latency_s, on_request or (lambda line: None))
    else:
        stop = _start_slow(port, latency_s) if latency_s > 0 else _start(port)
    env = {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
    }
    try:
        boto3.client(
            "s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
            aws_access_key_id="test", aws_secret_access_key="test",
        ).create_bucket(Bucket=bucket)  # fmt: skip
        yield env
    finally:
        stop()


def _start(port: int) -> Callable[[], None]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    stop: Callable[[], None] = server.stop
    return stop


def _slow_server(port: int, latency_s: float) -> Any:
    """moto's application behind a threaded WSGI server that waits ``latency_s`` first."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    app = DomainDispatcherApplication(create_backend_app)

    def slow(environ: dict[str, Any], start_response: Any) -> Any:
        if latency_s > 0:
            time.sleep(latency_s)
        return app(environ, start_response)

    return make_server("127.0.0.1", port, slow, threaded=True)


def _start_slow(port: int, latency_s: float) -> Callable[[], None]:
    server = _slow_server(port, latency_s)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join()

    return stop


def _start_process(
    port: int, latency_s: float, on_request: Callable[[str], None]
) -> Callable[[], None]:
    """The server in a child process (``python -m automem_core.testing.s3_server``); its
    request lines are read from its error stream by a thread of this process, which drains the
    stream to its end whatever ``on_request`` does (a full pipe would stall the server)."""
    command = [sys.executable, "-m", "automem_core.testing.s3_server", str(port), str(latency_s)]
    child = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert child.stderr is not None
    stream = child.stderr
    ready, ended = threading.Event(), threading.Event()

    def read() -> None:
        for line in stream:
            if line.startswith("ready"):
                ready.set()
            elif "HTTP/1." in line:
                with contextlib.suppress(Exception):
                    on_request(line)
        ended.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def stop() -> None:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        reader.join(5)
        stream.close()

    try:
        deadline = time.monotonic() + 60
        while not ready.is_set() and not ended.is_set() and time.monotonic() < deadline:
            ready.wait(0.05)
        if not ready.is_set():
            raise RuntimeError(f"the S3 server did not start on port {port}")
    except BaseException:
        stop()
        raise
    return stop


def _serve(port: int, latency_s: float) -> None:
    server = _slow_server(port, latency_s)
    print("ready", file=sys.stderr, flush=True)
    server.serve_forever()


@contextlib.contextmanager
def in_environment(env: dict[str, str]) -> Iterator[None]:
    """``env`` set in ``os.environ`` for the block, the previous values restored after."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


if __name__ == "__main__":
    _serve(int(sys.argv[1]), float(sys.argv[2]))
