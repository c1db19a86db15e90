"""Fixtures of the tests of a store on object storage: moto's S3 server, and local caches that
stand for machines."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def s3(request):
    """A moto S3 server and the test module's ``BUCKET``; credentials and endpoint only in the
    environment."""
    from automem_core.testing.s3_server import in_environment, s3_server

    bucket = request.module.BUCKET
    with s3_server(bucket) as env, in_environment(env):
        yield f"s3://{bucket}"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh local cache: a machine that has never read the store; ``cache(name)`` moves to
    another one (or back)."""

    def use(name: str) -> None:
        monkeypatch.setenv("AUTOMEM_CACHE", str(tmp_path / name))

    use("first")
    return use
