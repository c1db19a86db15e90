"""The Ray executor on a real two-node Ray cluster started here (one CPU a node): it plays what
the in-process executor plays, and a worker node lost mid-run costs no episode and no duplicate."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from automem_core.run.config import RunConfig
from automem_core.run.executors import make_executor
from automem_core.run.runner import RunResult, run
from automem_core.store.catalog import scan_run
from automem_core.store.layout import Layout
from automem_core.store.reader import connect
from automem_core.testing.fake_game import SCAFFOLD_DIR
from automem_core.testing.ray_cluster import local_cluster

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def cluster():
    """A head node and one worker node, one CPU each; this process is the driver."""
    with local_cluster(2) as (c, (worker,)):
        yield c, worker


def fake_cfg(root: Path, **more) -> RunConfig:
    base = dict(
        game="fake", tasks=("grid",), seeds=tuple(range(6)), data=root, max_steps=8,
        scaffold=str(SCAFFOLD_DIR),
    )  # fmt: skip
    return RunConfig(**{**base, **more})


def actions(root: Path) -> list[tuple]:
    con = connect(root)
    return con.execute(
        "SELECT e.seed, s.step, s.action FROM steps s JOIN episodes e USING (episode_id) "
        "ORDER BY 1, 2"
    ).fetchall()


@pytest.mark.slow
def test_ray_plays_what_one_process_plays_over_both_nodes(cluster, tmp_path):
    local = asyncio.run(run(fake_cfg(tmp_path / "a"), progress=False))
    seen = []
    remote = asyncio.run(
        run(fake_cfg(tmp_path / "b", executor="ray"), progress=False, on_episode=seen.append)
    )
    assert len(remote.episodes) == 6 and all(e.status == "ok" for e in remote.episodes)
    assert sorted(e.episode_id for e in seen) == sorted(e.episode_id for e in remote.episodes)
    assert actions(tmp_path / "a") == actions(tmp_path / "b") and len(local.episodes) == 6
    again = asyncio.run(run(fake_cfg(tmp_path / "b", executor="ray"), progress=False))
    assert again.skipped == 6 and again.episodes == []  # resume: nothing left to play


def published(root: Path, run_id: str) -> set[str]:
    return set(scan_run(Layout(root).run_dir(run_id)).episodes())


@pytest.mark.slow
def test_a_worker_node_lost_mid_run_costs_no_episode_and_no_duplicate(cluster, tmp_path):
    c, worker = cluster
    seeds = tuple(range(12))
    cfg = RunConfig(
        game="minihack", tasks=("MazeWalk-9x9", "Corridor-R3"), seeds=seeds, data=tmp_path,
        max_steps=100, concurrency=2, executor="ray", run_id="lost",
    )  # fmt: skip
    out: dict[str, RunResult | BaseException] = {}

    def drive() -> None:
        try:
            out["result"] = asyncio.run(run(cfg, progress=False))
        except BaseException as exc:  # reported by the assertion below
            out["result"] = exc

    thread = threading.Thread(target=drive)
    thread.start()
    deadline = time.monotonic() + 120
    while len(published(tmp_path, "lost")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    at_kill = len(published(tmp_path, "lost"))
    c.remove_node(worker)  # its raylet and workers die; its share is run again on the head
    thread.join(timeout=300)
    try:
        c.add_node(num_cpus=1)  # back to two nodes for any later test
        c.wait_for_nodes()
    finally:
        result = out.get("result")
    assert 2 <= at_kill < 24, "the node was not lost mid-run"
    assert isinstance(result, RunResult), result
    ids = [e.episode_id for e in result.episodes]
    assert len(ids) == 24 and len(set(ids)) == 24
    con = connect(tmp_path)
    count, distinct = con.execute(
        "SELECT count(*), count(DISTINCT episode_id) FROM episodes"
    ).fetchone()
    assert count == distinct == 24
    dupes = con.execute(
        "SELECT count(*) FROM "
        "(SELECT episode_id, step FROM steps GROUP BY 1, 2 HAVING count(*) > 1)"
    ).fetchone()[0]
    assert dupes == 0
    (status,) = con.execute("SELECT status FROM runs").fetchone()
    assert status == "finished"


def test_an_unreachable_cluster_fails_in_one_line_before_the_run_starts(tmp_path):
    cmd = [sys.executable, "-m", "automem_core.cli", "run", "--game", "minihack",
           "--episodes", "1", "--executor", "ray", "--ray-address", "127.0.0.1:1",
           "--data", str(tmp_path)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert "cannot reach a Ray cluster at 127.0.0.1:1" in last and "Traceback" not in done.stderr
    assert not (tmp_path / "runs").exists()


def test_ray_address_without_the_ray_executor_is_refused(tmp_path, capsys):
    from automem_core.cli import main

    assert main(["run", "--game", "minihack", "--ray-address", "x", "--data", str(tmp_path)]) == 2
    assert "--ray-address needs --executor ray" in capsys.readouterr().err
    assert make_executor(2, 3, "local").__class__.__name__ == "ProcessExecutor"


@pytest.mark.slow
def test_the_loops_play_their_versions_on_ray_when_asked(cluster, tmp_path):
    from automem_core.review.evaluate import LoopSettings, play

    settings = LoopSettings(
        game="fake", tasks=("grid",), seeds={"gating": (0, 1, 2)}, max_steps=6,
        executor="ray",
    )  # fmt: skip
    run_id = asyncio.run(play(tmp_path, settings, str(SCAFFOLD_DIR), "gating"))
    assert published(tmp_path, run_id) == {f"{run_id}.grid.s{s}" for s in range(3)}


def test_the_loops_refuse_a_ray_address_without_the_ray_executor(tmp_path, capsys):
    from automem_core.cli import main

    args = ["evaluate", "p", "--ray-address", "x", "--data", str(tmp_path)]
    assert main(args) == 2
    assert "--ray-address needs --executor ray" in capsys.readouterr().err


@pytest.mark.slow
def test_sigterm_interrupts_a_ray_run_and_the_same_command_resumes_it(tmp_path):
    """A local Ray started by the run itself: SIGTERM marks the run interrupted (status 130),
    its finished episodes stay, and the same command plays only the rest."""
    import os
    import signal

    cmd = [sys.executable, "-m", "automem_core.cli", "run", "--game", "minihack",
           "--tasks", "MazeWalk-9x9", "--seeds", "0-29", "--max-steps", "100",
           "--concurrency", "2", "--executor", "ray", "--run-id", "t", "--quiet",
           "--data", str(tmp_path)]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(published(tmp_path, "t")) < 2 and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode()[-500:]
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGTERM)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()[-500:]
    kept = published(tmp_path, "t")
    assert 2 <= len(kept) < 30
    (status,) = connect(tmp_path).execute("SELECT status FROM runs").fetchone()
    assert status == "interrupted"
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-500:]
    assert f"{len(kept)} already finished" in done.stdout
    con = connect(tmp_path)
    assert con.execute("SELECT count(*), count(DISTINCT episode_id) FROM episodes").fetchone() == (
        30,
        30,
    )
