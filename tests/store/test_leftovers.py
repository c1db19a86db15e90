"""What killed writers leave: listed by ``automem upgrade``, deleted by the next compaction or
``automem compact`` when provably abandoned, kept while an unlocked writer may still write it."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from automem_core.cli import main
from automem_core.store.compact import compact_run
from automem_core.store.leftovers import SAFE_AGE_S, store_leftovers
from automem_core.store.reader import connect
from automem_core.store.record_merge import merge_records
from automem_core.store.record_rows import LabelRow
from automem_core.store.record_view import HELD_GRACE_S
from automem_core.store.records import append_records, read_records
from automem_core.testing.sample_store import clone_episodes, play_fake_run


def label(i: int) -> LabelRow:
    return LabelRow(f"l{i}", "decision", "d", "good", "", "ana", "human", "v@1", 0, 0, 0.0, "t")


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.fixture
def littered(tmp_path) -> dict[str, Path]:
    """A store with one of each leftover; name → its path ("young" ones must stay)."""
    root = tmp_path / "data"
    play_fake_run(root, seeds=(0,), steps=5, run_id="r")
    clone_episodes(root, "r.grid.s0", "r", 2)
    run = root / "runs" / "r"
    records = root / "records" / "labels"
    for i in range(4):
        append_records(root, "labels", [label(i)], merge=False)
    inputs = sorted(records.glob("*.parquet"))
    merge_records(root, "labels", full=True)  # the files it replaced stay a while for readers
    for merged in records.glob("merged-*.parquet"):  # long ago, and no merge since
        age(merged, 2 * HELD_GRACE_S)
    out = {
        "removed": run / "episodes" / ".removed-0a1b2c3d",
        "replaced": run / "episodes" / ".replaced-4e5f6a7b",
        "part": run / "parts" / ".tmp-p-0123456789ab",
        "manifest": run / ".manifest.json.0123.tmp",
        "merge": records / ".merged-20200101T000000000000-0a1b2c3d.parquet.tmp",
        "generation": records / ".generation.0a1b.tmp",
        "held index": records / ".held.json.0a1b2c3d.tmp",
        "held": records / inputs[0].name,
        "append": records / ".20200101T000000000000-0123456789ab.parquet.tmp",
        "run row": run / ".run.parquet.0a1b.tmp",
        "young append": records / ".20990101T000000000000-ba9876543210.parquet.tmp",
        "coverage": run / "index" / ".coverage.json.0a1b2c3d.tmp",
        "search rebuild": root / ".index" / ".search-0a1b2c3d",
    }
    for name, path in out.items():
        if name in ("removed", "replaced", "part", "search rebuild"):
            path.mkdir(parents=True)
            (path / "steps.parquet").write_bytes(b"PAR1")
        elif not path.exists():
            path.write_bytes(b"PAR1 cut short")
    age(out["append"], 2 * SAFE_AGE_S)
    age(out["run row"], 2 * SAFE_AGE_S)
    age(out["coverage"], 2 * SAFE_AGE_S)
    age(out["search rebuild"], 2 * SAFE_AGE_S)
    out["root"] = root
    return out


def test_upgrade_lists_every_leftover_then_the_compaction_deletes_them(littered, capsys):
    root = littered.pop("root")
    assert main(["upgrade", "--data", str(root)]) == 0
    out = capsys.readouterr().out
    for name, path in littered.items():
        assert os.path.relpath(path, root) in out, name
    assert "kept for now: it may still be written or read" in out
    for name, path in littered.items():
        assert path.exists() == (name == "young append"), name
    assert store_leftovers(root) and all(item.young for item in store_leftovers(root))
    assert sorted(r["label_id"] for r in read_records(root, "labels").to_pylist()) == [
        f"l{i}" for i in range(4)
    ]  # the held copies were not read twice, before or after
    episodes = connect(root).execute("SELECT count(*), count(DISTINCT episode_id) FROM episodes")
    assert episodes.fetchone() == (3, 3)


def test_compact_deletes_leftovers_and_says_so(littered, capsys):
    root = littered.pop("root")
    assert main(["compact", "--data", str(root)]) == 0
    out = capsys.readouterr().out
    assert "15 files no reader takes deleted" in out  # the merge's four inputs with them
    assert "no records to merge" in out
    assert [p for p in littered.values() if p.exists()] == [littered["young append"]]


def test_a_runs_compaction_deletes_its_leftovers_even_with_nothing_to_compact(littered):
    root = littered.pop("root")
    shutil.rmtree(root / "records")
    compact_run(root, "r")
    compact_run(root, "r")
    runs = root / "runs"
    assert not [name for name, path in littered.items() if path.exists() and runs in path.parents]


def test_a_fetch_killed_in_a_named_part_is_a_leftover_once_old(tmp_path):
    """A mirror fetches a part's file under a dot name inside the part's folder (the part is
    named by the manifest, so the folder itself is no leftover): a killed fetch's file goes."""
    root = tmp_path / "data"
    play_fake_run(root, seeds=(0,), steps=5, run_id="r")
    clone_episodes(root, "r.grid.s0", "r", 2)
    compact_run(root, "r")
    (part,) = (p for p in (root / "runs" / "r" / "parts").iterdir() if not p.name.startswith("."))
    old, fresh = part / ".frames.parquet.0a1b2c3d.tmp", part / ".steps.parquet.4e5f6a7b.tmp"
    old.write_bytes(b"PAR1 cut short")
    fresh.write_bytes(b"PAR1 still coming")
    age(old, 2 * SAFE_AGE_S)
    found = {item.path: item for item in store_leftovers(root)}
    assert not found[old].young and found[fresh].young
    assert found[old].what == "a killed fetch's file"
    compact_run(root, "r")
    assert not old.exists() and fresh.exists() and (part / "steps.parquet").exists()
