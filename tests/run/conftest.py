"""Fixtures of the tests that play on a Ray cluster into a store on S3."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory):
    """moto's S3 server with the test module's ``BUCKET`` first, so the nodes inherit its
    settings from the environment (as a real cluster's nodes have theirs), then a two-node Ray
    cluster (one CPU a node); yields its address."""
    from automem_core.testing.ray_cluster import local_cluster
    from automem_core.testing.s3_server import in_environment, s3_server

    cache = str(tmp_path_factory.mktemp("nodes"))
    with (
        s3_server(request.module.BUCKET) as env,
        in_environment({**env, "AUTOMEM_CACHE": cache}),
        local_cluster(2) as (c, _),
    ):
        yield c.address
