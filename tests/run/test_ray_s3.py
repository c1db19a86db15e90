"""The whole path past one machine: 24 MiniHack episodes with the embedded player, played on a
two-node Ray cluster into an S3 store (moto's server), a worker node lost mid-run; the store
then holds every episode exactly once, read back from a fresh mirror."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from automem_core.run.config import RunConfig
from automem_core.run.runner import RunResult, run
from automem_core.store.reader import connect
from automem_core.store.remote import open_root, remote_of
from automem_core.store.remote_pull import pull
from automem_core.testing.ray_cluster import local_cluster
from automem_core.testing.s3_server import s3_server

ray = pytest.importorskip("ray")
pytest.importorskip("moto.server")

BUCKET = "automem-ray"


@pytest.fixture
def s3_and_cluster(tmp_path, monkeypatch):
    """The S3 server first, so the cluster's nodes (and their workers) inherit its settings
    from the environment, as a real cluster's nodes have theirs."""
    with s3_server(BUCKET) as env:
        for key, value in {**env, "AUTOMEM_CACHE": str(tmp_path / "cache")}.items():
            monkeypatch.setenv(key, value)
        with local_cluster(2) as (c, (worker,)):
            yield c, worker


@pytest.mark.slow
def test_a_ray_run_into_s3_loses_a_node_and_still_holds_every_episode_once(
    s3_and_cluster, tmp_path, monkeypatch
):
    c, worker = s3_and_cluster
    url = f"s3://{BUCKET}/sweep"
    # The driver's mirror is not the nodes' (as on machines of their own): the shares publish
    # through their own mirrors, the run's lock is only in the driver's.
    monkeypatch.setenv("AUTOMEM_CACHE", str(tmp_path / "driver"))
    root = open_root(url)
    cfg = RunConfig(
        game="minihack", tasks=("MazeWalk-9x9", "Corridor-R3"), seeds=tuple(range(12)),
        data=root, max_steps=100, concurrency=2, executor="ray", run_id="sweep",
    )  # fmt: skip
    out: dict[str, object] = {}
    thread = threading.Thread(target=lambda: out.update(result=_run(cfg)))
    thread.start()
    store = remote_of(root)
    commits = store.key("runs/sweep/commits")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        store.fs.invalidate_cache()
        if store.fs.exists(commits) and len(store.fs.ls(commits)) >= 2:
            break
        time.sleep(0.1)
    store.fs.invalidate_cache()
    at_kill = len(store.fs.ls(commits))
    c.remove_node(worker)
    thread.join(timeout=300)
    result = out.get("result")
    assert 2 <= at_kill < 24, "the node was not lost mid-run"
    assert isinstance(result, RunResult), result
    assert len({e.episode_id for e in result.episodes}) == len(result.episodes) == 24

    assert any((tmp_path / "cache").rglob("episodes.parquet"))  # the nodes' own mirrors
    monkeypatch.setenv("AUTOMEM_CACHE", str(tmp_path / "reader"))
    fresh = open_root(url)
    assert fresh != root
    pull(fresh)
    con = connect(fresh)
    count, distinct = con.execute(
        "SELECT count(*), count(DISTINCT episode_id) FROM episodes"
    ).fetchone()
    assert count == distinct == 24
    assert con.execute("SELECT status FROM runs").fetchone() == ("finished",)


def _run(cfg: RunConfig) -> RunResult | BaseException:
    try:
        return asyncio.run(run(cfg, progress=False))
    except BaseException as exc:  # reported by the test's assertion
        return exc
