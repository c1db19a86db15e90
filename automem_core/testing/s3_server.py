"""A local S3 server (moto's) for tests and benchmarks of the store on object storage.

``with s3_server("bucket") as env:`` starts the server on a free port, creates the bucket and
yields the environment a client needs to reach it (endpoint and placeholder keys); the caller
puts that environment where the store will read it (``os.environ``, a subprocess, Ray nodes).
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def s3_server(bucket: str) -> Iterator[dict[str, str]]:
    """A moto S3 server holding ``bucket``; yields the client environment for it."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
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
        server.stop()


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
