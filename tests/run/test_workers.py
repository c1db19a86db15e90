"""A run's workers die with it and publish only under its lock: SIGKILL of ``automem run
--workers 2`` leaves no process behind and no episode published after the kill, and a worker
whose run lost the lock (a resumed run holds it) publishes nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from automem_core.run.record import run_lock
from automem_core.store.catalog import scan_run
from automem_core.store.layout import Layout
from automem_core.store.locks import RunLease, RunLockLost
from automem_core.store.writer import EpisodeWriter

REPO = Path(__file__).resolve().parents[2]
RUN = """
import sys
import automem_core.testing.fake_game  # the fake game, in the run and in its workers
from automem_core.cli import main
sys.exit(main(sys.argv[1:]))
"""


def session_processes(sid: int) -> list[int]:
    """Live (not zombie) processes of session ``sid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, pgrp, session
        if fields[0] != "Z" and int(fields[3]) == sid:
            found.append(int(entry.name))
    return found


def published(root: Path, run_id: str) -> set[str]:
    return set(scan_run(Layout(root).run_dir(run_id)).episodes())


@pytest.mark.slow
@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's"
)
def test_sigkill_of_a_run_with_workers_leaves_no_process_and_publishes_nothing_after(tmp_path):
    cmd = [sys.executable, "-c", RUN, "run", "--game", "fake", "--tasks", "grid",
           "--seeds", "0-39", "--max-steps", "40", "--workers", "2", "--concurrency", "2",
           "--run-id", "w", "--quiet", "--data", str(tmp_path)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(published(tmp_path, "w")) < 2 and time.monotonic() < deadline:
        assert proc.poll() is None, f"the run ended before it could be killed ({proc.returncode})"
        time.sleep(0.02)
    assert len(session_processes(proc.pid)) >= 3  # the run and its two workers
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    at_kill = published(tmp_path, "w")
    deadline = time.monotonic() + 10
    while session_processes(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert session_processes(proc.pid) == []  # no worker, no resource tracker
    time.sleep(1.5)
    assert published(tmp_path, "w") == at_kill < {f"w.grid.s{s}" for s in range(40)}


def test_a_worker_whose_run_lost_its_lock_publishes_nothing(tmp_path):
    layout = Layout(tmp_path)
    with run_lock(layout, "r") as lease:
        pass
    # The run is gone; another process took the lock (a resume) and wrote its own token, while
    # a worker of the old run plays on.
    with run_lock(layout, "r") as newer:
        assert newer.token != lease.token
        writer = EpisodeWriter(layout, "r", "r.grid.s0", lease=lease)
        with pytest.raises(RunLockLost, match="not published"):
            play_commit(writer)
        assert published(tmp_path, "r") == set()


def play_commit(writer: EpisodeWriter) -> None:
    from automem_core.store.schema import EpisodeRow

    row = EpisodeRow(
        "r.grid.s0", "r", "fake", "grid", 0, "fake-v0", "h", "embedded", "embedded", "ok",
        "done", None, 0, 0.0, 0.0, 0, 0, 0, 0, 0, 0, 0, 0.1, "t", "t", None, None,
    )  # fmt: skip
    writer.commit(row)


def test_a_worker_whose_run_process_died_publishes_nothing(tmp_path):
    layout = Layout(tmp_path)
    with run_lock(layout, "r") as lease:
        # A lease handed to a worker by a process that is not this one's parent any more.
        orphan = RunLease(lease.folder, lease.token, holder=os.getpid() + 10_000_000)
        writer = EpisodeWriter(layout, "r", "r.grid.s0", lease=orphan)
        with pytest.raises(RunLockLost):
            play_commit(writer)
        own = EpisodeWriter(layout, "r", "r.grid.s1", lease=lease)
        play_commit(own)  # the run's own process publishes
    assert published(tmp_path, "r") == {"r.grid.s1"}


def test_taking_the_lock_waits_for_a_publish_in_progress(tmp_path):
    layout = Layout(tmp_path)
    with run_lock(layout, "r") as lease:
        pass
    holder = """
import sys, time
from pathlib import Path
from automem_core.store.locks import RunLease
lease = RunLease(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
with lease.publishing():
    print("publishing", flush=True)
    time.sleep(1.0)
"""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # A worker of the old holder, mid-publish (its lease names this test's process, its parent).
    proc = subprocess.Popen(
        [sys.executable, "-c", holder, str(lease.folder), lease.token, str(os.getpid())],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "publishing"
    start = time.monotonic()
    with run_lock(layout, "r"):
        waited = time.monotonic() - start  # its publish had finished before the lock was ours
    assert proc.wait() == 0 and waited > 0.5


def test_a_resumed_run_counts_what_is_left_once_it_holds_the_lock(tmp_path):
    from automem_core.run.config import RunConfig
    from automem_core.run.plan import plan_run, under_lease
    from automem_core.testing.fake_game import GAME, SCAFFOLD_DIR

    cfg = RunConfig(game=GAME, tasks=("grid",), seeds=(0, 1), data=tmp_path,
                    scaffold=str(SCAFFOLD_DIR), max_steps=4, run_id="r")  # fmt: skip
    plan = plan_run(cfg)
    assert plan.todo == (("grid", 0), ("grid", 1))
    # The last publish of a killed run's worker lands after the resume planned, before its lock.
    play_commit(EpisodeWriter(Layout(tmp_path), "r", "r.grid.s0"))
    with run_lock(Layout(tmp_path), "r") as lease:
        locked = under_lease(plan, lease)
    assert locked.todo == (("grid", 1),) and locked.skipped == 1 and locked.lease == lease
