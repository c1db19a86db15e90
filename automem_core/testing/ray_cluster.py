"""A Ray cluster on this machine, for the tests and ``benchmarks/cluster.py``: Ray's own test
cluster (``ray.cluster_utils.Cluster``), one CPU per node, this process its driver."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def local_cluster(nodes: int = 2) -> Iterator[tuple[Any, list[Any]]]:
    """A head node and ``nodes`` - 1 worker nodes; yields (the cluster, its worker nodes), with
    Ray connected to it, and takes both down after."""
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False}
    )
    workers = [cluster.add_node(num_cpus=1) for _ in range(nodes - 1)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    try:
        yield cluster, workers
    finally:
        ray.shutdown()
        cluster.shutdown()  # type: ignore[no-untyped-call]
