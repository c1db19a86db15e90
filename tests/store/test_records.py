"""Append-only record tables: many writers at once lose nothing; merges run on their own and on
``automem compact``, merge exactly the files they listed, and a merge killed at any point or
racing a reader leaves every row readable exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from automem_core.store import record_merge, record_view
from automem_core.store.reader import connect, query_store
from automem_core.store.record_merge import FANIN, merge_records
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


def _write_many(root: Path, author: str, n: int, merge: bool = True) -> None:
    for i in range(n):
        append_records(root, "labels", [label(i, author)], merge=merge)


def ids(root: Path) -> list[str]:
    return [r["label_id"] for r in read_records(root, "labels").to_pylist()]


def folder(root: Path) -> Path:
    return root / "records" / "labels"


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


def test_two_processes_appending_and_merging_at_once_lose_no_row(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITE, str(tmp_path), a], env=env) for a in "ab"
    ]
    assert [p.wait(60) for p in procs] == [0, 0]
    rows = read_records(tmp_path, "labels").to_pylist()
    assert len(rows) == 120 and len({r["label_id"] for r in rows}) == 120
    assert connect(tmp_path).execute("SELECT count(*) FROM labels").fetchone() == (120,)
    assert len(record_files(tmp_path, "labels")) < 2 * FANIN  # the appends merged themselves


def test_appends_merge_on_their_own_when_a_level_fills(tmp_path):
    _write_many(tmp_path, "a", FANIN - 1)
    assert len(record_files(tmp_path, "labels")) == FANIN - 1
    _write_many(tmp_path, "b", 1)
    assert len(record_files(tmp_path, "labels")) == 1
    _write_many(tmp_path, "c", 3 * FANIN)
    assert len(record_files(tmp_path, "labels")) < FANIN
    expected = [
        f"l{a}{i}" for a, n in (("a", FANIN - 1), ("b", 1), ("c", 3 * FANIN)) for i in range(n)
    ]
    assert ids(tmp_path) == expected  # every row once, in the order appended


def test_compact_merges_everything_into_one_file_and_later_appends_survive(tmp_path):
    _write_many(tmp_path, "a", 20, merge=False)
    before = read_records(tmp_path, "labels").to_pylist()
    assert compact_records(tmp_path, "labels") == 20
    assert len(record_files(tmp_path, "labels")) == 1
    append_records(tmp_path, "labels", [label(99, "z")])
    after = read_records(tmp_path, "labels").to_pylist()
    assert after[:20] == before and after[20]["label_id"] == "lz99"


def test_an_append_between_the_merges_listing_and_its_read_is_kept_once(tmp_path, monkeypatch):
    _write_many(tmp_path, "a", 8, merge=False)
    real_list = record_merge.list_records
    appended: list[Path | None] = []

    def list_then_append(*args, **kwargs):
        files = real_list(*args, **kwargs)
        if not appended:  # a labeller appends after the merge listed, before it reads
            appended.append(append_records(tmp_path, "labels", [label(50, "late")], merge=False))
        return files

    monkeypatch.setattr(record_merge, "list_records", list_then_append)
    assert merge_records(tmp_path, "labels", full=True) == 8
    assert appended[0] is not None and appended[0].exists()  # not merged, not deleted
    expected = [f"la{i}" for i in range(8)] + ["llate50"]
    assert sorted(ids(tmp_path)) == sorted(expected)
    monkeypatch.undo()
    assert merge_records(tmp_path, "labels", full=True) == 2  # the next merge takes it
    assert sorted(ids(tmp_path)) == sorted(expected)


def _merge_after_first(monkeypatch, module, name: str, root: Path) -> list[int]:
    """Make ``module.name`` run a full merge of the labels right before its first call."""
    real = getattr(module, name)
    merged: list[int] = []
    started: list[bool] = []

    def merge_first(*args, **kwargs):
        if not started:
            started.append(True)  # the merge itself may call it too
            merged.append(merge_records(root, "labels", full=True))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, merge_first)
    return merged


@pytest.mark.parametrize(
    "where",
    [
        "held_by",  # between the listing and the merged file's footer (pq.read_metadata)
        "read_upgraded",  # between the view and the reading of its files
    ],
)
def test_a_reader_across_a_merge_reads_every_row_once(tmp_path, monkeypatch, where):
    _write_many(tmp_path, "a", FANIN)  # one merged file
    _write_many(tmp_path, "b", 5, merge=False)  # and five appends
    expected = sorted(ids(tmp_path))
    from automem_core.store import records

    module = record_view if where == "held_by" else records
    merged = _merge_after_first(monkeypatch, module, where, tmp_path)
    assert sorted(ids(tmp_path)) == expected
    assert merged == [6]


def test_a_query_across_a_merge_counts_every_row_once(tmp_path, monkeypatch):
    _write_many(tmp_path, "a", FANIN + 5)
    from automem_core.store import reader

    merged = _merge_after_first(monkeypatch, reader, "_create_view", tmp_path)
    count = query_store(
        tmp_path,
        lambda con: con.execute("SELECT count(*), count(DISTINCT label_id) FROM labels").fetchone(),
        tables=("labels",),
    )
    assert merged == [6] and count == (FANIN + 5, FANIN + 5)


KILL = """
import os, signal, sys
from pathlib import Path
from automem_core.store import record_merge, record_view
record_view.HELD_GRACE_S = 0  # the merge deletes what it merged before it returns

def die_on_call(fn, nth):
    calls = [0]
    def wrapped(*a, **k):
        calls[0] += 1
        if calls[0] == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return fn(*a, **k)
    return wrapped

{patch}
record_merge.merge_records(Path(sys.argv[1]), "labels", full=True)
"""
KILLERS = {
    "while writing": "record_merge._parts = die_on_call(record_merge._parts, 3)",
    "before the rename": "record_merge.os.replace = die_on_call(record_merge.os.replace, 1)",
    "before the generation": "record_merge._bump = die_on_call(record_merge._bump, 1)",
    "while deleting": "Path.unlink = die_on_call(Path.unlink, 5)",
}


@pytest.mark.parametrize("when", list(KILLERS))
def test_a_merge_killed_at_any_point_shows_no_row_twice(tmp_path, when):
    _write_many(tmp_path, "a", 20, merge=False)
    before = sorted(ids(tmp_path))
    script = KILL.format(patch=KILLERS[when])
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], env=env, timeout=60)
    assert done.returncode == -signal.SIGKILL
    assert sorted(ids(tmp_path)) == before
    for author in "bc":
        _write_many(tmp_path, author, FANIN)
    merge_records(tmp_path, "labels", full=True)
    found = ids(tmp_path)
    assert len(found) == len(set(found)) == 20 + 2 * FANIN
    assert [p.name for p in folder(tmp_path).iterdir() if p.name.endswith(".tmp")] == []
    assert len(record_files(tmp_path, "labels")) == 1


def test_a_killed_appends_file_is_removed_once_it_is_old(tmp_path):
    _write_many(tmp_path, "a", 3, merge=False)
    old = folder(tmp_path) / ".20200101T000000000000-0123456789ab.parquet.tmp"
    young = folder(tmp_path) / f".{time.strftime('%Y%m%dT%H%M%S')}000000-ba9876543210.parquet.tmp"
    for path in (old, young):
        path.write_bytes(b"PAR1 half written")
    os.utime(old, (time.time() - 2 * 3600,) * 2)
    assert compact_records(tmp_path, "labels") == 3
    assert not old.exists() and young.exists()  # a young one may still be written
    assert sorted(ids(tmp_path)) == sorted(f"la{i}" for i in range(3))


def test_a_full_merge_of_many_files_goes_in_rounds_so_no_footer_names_them_all(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(record_merge, "MAX_HELD", 8)
    _write_many(tmp_path, "a", 30, merge=False)
    assert merge_records(tmp_path, "labels", full=True) == 30
    (merged,) = record_files(tmp_path, "labels")
    assert len(record_view.held_by(merged)) <= 8
    assert ids(tmp_path) == [f"la{i}" for i in range(30)]


def test_what_a_merge_replaced_stays_for_readers_a_while_then_goes(tmp_path, monkeypatch):
    _write_many(tmp_path, "a", 6, merge=False)
    view = record_files(tmp_path, "labels")  # a reader listed, then a merge ran
    assert merge_records(tmp_path, "labels", full=True) == 6
    assert all(p.exists() for p in view)  # so that reader still reads them
    assert ids(tmp_path) == [f"la{i}" for i in range(6)]
    monkeypatch.setattr(record_view, "HELD_GRACE_S", 0.0)
    before = record_view.generation(folder(tmp_path))
    merge_records(tmp_path, "labels")  # the next merge deletes them
    assert not any(p.exists() for p in view)
    assert record_view.generation(folder(tmp_path)) != before
    assert ids(tmp_path) == [f"la{i}" for i in range(6)]


def _count_merges(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = record_merge.merge_records

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(record_merge, "merge_records", counted)
    return calls


def test_files_a_merge_replaced_do_not_make_a_level_look_full(tmp_path, monkeypatch):
    """The replaced files stay a minute for readers: the due check must not count them, or
    every append would start a merge (and read every merged file's footer)."""
    _write_many(tmp_path, "a", FANIN)  # one merge: FANIN replaced files stay beside it
    assert sum(p.name.endswith(".parquet") for p in folder(tmp_path).iterdir()) == FANIN + 1
    calls = _count_merges(monkeypatch)
    _write_many(tmp_path, "b", FANIN - 1)
    assert calls == []
    _write_many(tmp_path, "c", 1)  # now FANIN appends wait: a merge is due
    assert len(calls) == 1
    assert ids(tmp_path) == [f"l{a}{i}" for a, n in (("a", FANIN), ("b", FANIN - 1), ("c", 1))
                             for i in range(n)]  # fmt: skip


@pytest.mark.parametrize("damage", ["missing", "corrupt", "not a list"])
def test_a_lost_or_damaged_held_index_only_costs_a_merge_attempt(tmp_path, monkeypatch, damage):
    _write_many(tmp_path, "a", FANIN)
    index = folder(tmp_path) / record_view.HELD_INDEX
    assert index.exists()
    if damage == "missing":
        index.unlink()
    else:
        index.write_text("{[" if damage == "corrupt" else '{"a": 1}', encoding="utf-8")
    calls = _count_merges(monkeypatch)
    _write_many(tmp_path, "b", 1)  # the held files look due: a merge runs, finds none, notes them
    assert len(calls) == 1
    assert index.exists()
    _write_many(tmp_path, "c", 1)
    assert len(calls) == 1  # the index is back
    assert ids(tmp_path) == [*(f"la{i}" for i in range(FANIN)), "lb0", "lc0"]
