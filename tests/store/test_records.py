"""Append-only record tables: many writers at once lose nothing, a killed writer or merge leaves
every earlier row readable exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from automem_core.store.reader import connect
from automem_core.store.record_rows import LabelRow
from automem_core.store.records import (
    append_records,
    compact_records,
    read_records,
    record_files,
)

REPO = Path(__file__).resolve().parents[2]


def label(i: int, author: str = "ana") -> LabelRow:
    return LabelRow(
        f"l{author}{i}", "decision", f"d{i % 7}", "good", "", author, "human", "v@1", 0, 0, 0.0,
        f"t{i}",
    )  # fmt: skip


def _write_many(root: str, author: str, n: int) -> None:
    for i in range(n):
        append_records(Path(root), "labels", [label(i, author)])


WRITE = """
import sys
from pathlib import Path
from automem_core.store.records import append_records
from automem_core.store.record_rows import LabelRow
for i in range(60):
    row = LabelRow(f"l{sys.argv[2]}{i}", "decision", f"d{i % 7}", "good", "", sys.argv[2],
                   "human", "v@1", 0, 0, 0.0, "t")
    append_records(Path(sys.argv[1]), "labels", [row])
"""


def test_two_processes_appending_at_once_lose_no_row(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITE, str(tmp_path), a], env=env) for a in "ab"
    ]
    assert [p.wait(60) for p in procs] == [0, 0]
    rows = read_records(tmp_path, "labels").to_pylist()
    assert len(rows) == 120 and len({r["label_id"] for r in rows}) == 120
    assert connect(tmp_path).execute("SELECT count(*) FROM labels").fetchone() == (120,)


def test_merging_keeps_every_row_once_and_later_appends_survive(tmp_path):
    _write_many(str(tmp_path), "a", 20)
    before = read_records(tmp_path, "labels").to_pylist()
    assert compact_records(tmp_path, "labels") == 20
    assert len(record_files(tmp_path, "labels")) == 1
    append_records(tmp_path, "labels", [label(99, "z")])
    after = read_records(tmp_path, "labels").to_pylist()
    assert after[:20] == before and after[20]["label_id"] == "lz99"


KILL = """
import os, signal, sys
from pathlib import Path
from automem_core.store import records
real_unlink = Path.unlink
calls = [0]
def dying_unlink(self, *a, **k):
    calls[0] += 1
    if calls[0] == 5:
        os.kill(os.getpid(), signal.SIGKILL)
    return real_unlink(self, *a, **k)
Path.unlink = dying_unlink
records.compact_records(Path(sys.argv[1]), "labels")
"""


def test_a_merge_killed_half_way_shows_no_row_twice(tmp_path):
    _write_many(str(tmp_path), "a", 20)
    before = sorted(r["label_id"] for r in read_records(tmp_path, "labels").to_pylist())
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", KILL, str(tmp_path)], env=env, timeout=60)
    assert done.returncode == -signal.SIGKILL
    assert sorted(r["label_id"] for r in read_records(tmp_path, "labels").to_pylist()) == before
    for author in "bc":
        _write_many(str(tmp_path), author, 16)
        compact_records(tmp_path, "labels")
    ids = [r["label_id"] for r in read_records(tmp_path, "labels").to_pylist()]
    assert len(ids) == len(set(ids)) == 52
