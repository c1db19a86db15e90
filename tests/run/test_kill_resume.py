"""A run killed with SIGKILL mid-way leaves readable files, and re-running finishes the rest."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from automem_core.store.reader import connect

CMD = [
    sys.executable,
    "-m",
    "automem_core.cli",
    "run",
    "--game",
    "minihack",
    "--tasks",
    "MazeWalk-15x15",
    "--seeds",
    "0-5",
    "--max-steps",
    "60",
    "--concurrency",
    "2",
    "--quiet",
    "--run-id",
    "killme",
]


def _published(data: Path) -> list[Path]:
    return list(data.glob("runs/killme/episodes/*/episodes.parquet"))


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_finishes_without_duplicates(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    proc = subprocess.Popen([*CMD, "--data", str(tmp_path)], env=env, cwd=Path.cwd())
    deadline = time.monotonic() + 120
    while len(_published(tmp_path)) < 2 and time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"run ended before it could be killed (exit {proc.returncode})")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(_published(tmp_path))
    assert 2 <= done_before < 6

    for path in tmp_path.rglob("*.parquet"):
        if ".partial" not in path.parts:
            pq.read_table(path)  # every published file reads cleanly

    out = subprocess.run(
        [*CMD, "--data", str(tmp_path)], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert f"{done_before} already finished" in out.stdout
    con = connect(tmp_path)
    ids = [r[0] for r in con.execute("SELECT episode_id FROM episodes").fetchall()]
    assert len(ids) == len(set(ids)) == 6
    dup = con.execute(
        "SELECT count(*) FROM (SELECT episode_id, step FROM steps GROUP BY ALL HAVING count(*) > 1)"
    ).fetchone()[0]
    assert dup == 0
    assert not list((tmp_path / "runs" / "killme" / ".partial").glob("*"))


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_is_handled_like_ctrl_c(tmp_path, workers):
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    longer = [a if a != "0-5" else "0-19" for a in CMD]  # enough that some are still to play
    cmd = [*longer, "--data", str(tmp_path), "--workers", workers]
    proc = subprocess.Popen(cmd, env=env, cwd=Path.cwd(), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not _published(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted: finished episodes are saved; run the same command to resume" in err
    assert "Traceback" not in err
    (row,) = pq.read_table(tmp_path / "runs" / "killme" / "run.parquet").to_pylist()
    assert row["status"] == "interrupted"
    published = len(_published(tmp_path))
    time.sleep(1.0)  # no worker goes on playing after the parent stopped
    assert len(_published(tmp_path)) == published < 20
