"""Shared by ``diagnostics.py`` and ``mining.py``: time a store-wide query in a fresh process,
with its peak memory, beside the floor cost of reading the same rows (the baseline)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from stores import REPO

BASELINE = """
import time, sys
from pathlib import Path
from automem_core.store.catalog import scan
from automem_core.store.reader import query_store
t0 = time.perf_counter()
for run in scan(Path(sys.argv[1])):
    query_store(Path(sys.argv[1]), lambda con: con.execute(
        "SELECT count(*), sum(length(result)) FROM memory_ops").fetchall()
        + con.execute("SELECT count(*), sum(length(observation)) FROM steps").fetchall(),
        run_ids=[run.run_id])
print(time.perf_counter() - t0)
"""


def in_process(code: str, root: Path) -> list[str]:
    """Run ``code`` (which prints its numbers) in a fresh Python; its stdout words, and the
    peak memory in MiB appended."""
    wrapped = code + "\nimport resource\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", wrapped, str(root)], env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    words = done.stdout.split()
    return [*words[:-1], str(int(words[-1]) / 1024)]


def baseline_s(root: Path) -> float:
    """Reading every memory op's result and every observation of the store, run by run."""
    return float(in_process(BASELINE, root)[0])
