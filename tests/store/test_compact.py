"""Compaction: a run's episodes merged into parts atomically. Readers see the same rows before
and after, every episode exactly once even when the compaction is killed at any point, and the
dashboard reading meanwhile never errors."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from automem_core.store.catalog import locate_episode, scan_run
from automem_core.store.compact import compact_run
from automem_core.store.layout import Layout
from automem_core.store.memory_at import memory_at
from automem_core.store.reader import connect
from automem_core.store.schema import DERIVED_TABLES, EPISODE_TABLES
from automem_core.testing.sample_store import clone_episodes, play_fake_run
from tests.dashboard.apptest import open_app

REPO = Path(__file__).resolve().parents[2]


def everything(root: Path) -> dict[str, list[tuple]]:
    """Every row of every episode table, in a fixed order."""
    con = connect(root)
    out = {}
    for table in (*EPISODE_TABLES, *DERIVED_TABLES):
        columns = [c for c in con.execute(f"SELECT * FROM {table} LIMIT 0").df().columns]
        keys = ("episode_id", "step", "seq", "phase", "turn")
        order = ", ".join(c for c in keys if c in columns)
        out[table] = con.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
    return out


@pytest.fixture(scope="module")
def loose_store(tmp_path_factory) -> Path:
    """A run whose six episodes are still loose folders (copies of played ones)."""
    root = tmp_path_factory.mktemp("loose")
    play_fake_run(root, tasks=("grid", "pixels"), seeds=(0,), steps=25, run_id="src")
    clone_episodes(root, "src.grid.s0", "r", 3)
    clone_episodes(root, "src.pixels.s0", "r", 3, first_seed=2000)
    assert len(scan_run(Layout(root).run_dir("r")).loose) == 6
    return root


def test_compaction_keeps_every_row_and_memory(loose_store, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(loose_store, root)
    before = everything(root)
    memory = {s: memory_at(root, "r.grid.s1001", s) for s in (-1, 0, 7, 24)}
    assert compact_run(root, "r") == 6
    run = scan_run(Layout(root).run_dir("r"))
    assert run.loose == {} and len(run.parts) == 1 and len(run.parts[0].episodes) == 6
    assert not list((root / "runs" / "r" / "episodes").iterdir())
    assert everything(root) == before
    assert {s: memory_at(root, "r.grid.s1001", s) for s in memory} == memory
    assert locate_episode(root, "r.grid.s1001").in_part
    assert compact_run(root, "r") == 0  # nothing left to do


def test_runs_are_compacted_when_they_end(tmp_path):
    play_fake_run(tmp_path, seeds=(0, 1, 2), steps=5, run_id="ended")
    run = scan_run(Layout(tmp_path).run_dir("ended"))
    assert run.loose == {} and sorted(e for p in run.parts for e in p.episodes) == [
        "ended.grid.s0",
        "ended.grid.s1",
        "ended.grid.s2",
    ]


KILLERS = {
    # Each patches one step of compact_run in a fresh process so that it SIGKILLs itself there.
    "while writing a table": "compact._write_table = die_on_call(compact._write_table, 3)",
    "before the part is renamed": "compact.os.rename = die_on_call(compact.os.rename, 1)",
    "after the manifest": "compact.write_manifest = die_after_call(compact.write_manifest)",
    "while deleting folders": "compact._remove = die_on_call(compact._remove, 3)",
}
SCRIPT = """
import os, signal, sys
from pathlib import Path
from automem_core.store import compact

def die_on_call(fn, nth):
    calls = [0]
    def wrapped(*a, **k):
        calls[0] += 1
        if calls[0] == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return fn(*a, **k)
    return wrapped

def die_after_call(fn):
    def wrapped(*a, **k):
        fn(*a, **k)
        os.kill(os.getpid(), signal.SIGKILL)
    return wrapped

{patch}
compact.compact_run(Path(sys.argv[1]), "r")
"""


@pytest.mark.parametrize("when", list(KILLERS))
def test_a_compaction_killed_at_any_point_leaves_every_episode_once(loose_store, tmp_path, when):
    root = tmp_path / "data"
    shutil.copytree(loose_store, root)
    before = everything(root)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    script = SCRIPT.format(patch=KILLERS[when])
    done = subprocess.run([sys.executable, "-c", script, str(root)], env=env, timeout=120)
    assert done.returncode == -signal.SIGKILL
    assert everything(root) == before  # each episode exactly once, rows unchanged
    compact_run(root, "r")  # the next compaction cleans up and finishes the job
    assert everything(root) == before
    run = scan_run(Layout(root).run_dir("r"))
    assert run.loose == {} and sum(len(p.episodes) for p in run.parts) == 6
    assert not [p for p in (root / "runs" / "r" / "parts").iterdir() if p.name.startswith(".")]


def test_the_dashboard_reading_during_compactions_never_errors(loose_store, tmp_path, monkeypatch):
    root = tmp_path / "data"
    shutil.copytree(loose_store, root)
    stop = threading.Event()
    compactions = []

    def churn() -> None:
        seed = 5000
        while not stop.is_set():
            clone_episodes(root, "src.grid.s0", "r", 2, first_seed=seed)
            compactions.append(compact_run(root, "r"))
            seed += 2

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        for i in range(12):
            page = {"run": "r", "episode": "r.grid.s1000", "step": str(i)} if i % 2 else {}
            at = open_app(root, monkeypatch, **page)  # asserts no exception
            assert not at.error
    finally:
        stop.set()
        worker.join()
    assert sum(compactions) >= 2
