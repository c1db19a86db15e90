"""The decision signals the writer stores equal those the SQL computes from the log, so mining
gives the same decisions for episodes written before the table existed and after."""

from __future__ import annotations

import dataclasses
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from automem_core.analysis.decisions import SIGNALS_FROM_LOG_SQL, mine_decisions
from automem_core.store.catalog import read_manifest, write_manifest
from automem_core.store.compact import compact_run
from automem_core.store.derive import add_derived
from automem_core.store.reader import connect
from automem_core.store.schema import SCHEMAS, TurnSignalRow
from automem_core.store.turn_signals import TurnSignals
from automem_core.testing.sample_store import clone_episodes, play_fake_run

KEYS = ["episode_id", "step", "phase", "turn"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("signals")
    play_fake_run(root, tasks=("grid", "pixels"), seeds=(0, 1, 2), steps=80, run_id="s")
    return root


def from_log(root) -> list[tuple]:
    con = connect(root)
    con.register("_mine_runs", pa.table({"run_id": ["s"]}))
    episodes = [e for (e,) in con.execute("SELECT episode_id FROM episodes").fetchall()]
    con.register("_mine_batch", pa.table({"episode_id": episodes}))
    sql = f"SELECT * FROM ({SIGNALS_FROM_LOG_SQL}) ORDER BY ALL"
    return con.sql(sql, params={"lo": "", "hi": "\uffff"}).fetchall()


def mined(root, runs) -> pa.Table:
    """The decisions mined from ``runs``, in a fixed order."""
    found = mine_decisions(connect(root), runs)
    return found.sort_by([(c, "ascending") for c in KEYS])


def stored(root) -> list[tuple]:
    return connect(root).sql("SELECT * FROM turn_signals ORDER BY ALL").fetchall()


def test_the_signals_the_writer_stores_equal_the_sql_over_the_log(store):
    rows = stored(store)
    assert rows == from_log(store)
    names = SCHEMAS["turn_signals"].names
    as_dicts = [dict(zip(names, r, strict=True)) for r in rows]
    # the played episodes exercise every signal, so the comparison means something
    for name in ("redundant_write", "empty_search"):
        assert any(r[name] for r in as_dicts), name
    assert any(r["read_by"] for r in as_dicts) and any(r["consult_by"] for r in as_dicts)
    assert any(r["lines_written"] and r["read_step"] is None for r in as_dicts)
    assert {r["phase"] for r in as_dicts} == {"log", "plan"}


@pytest.fixture()
def loose(store, tmp_path):
    """Run "c": loose (not compacted) copies of two played episodes."""
    root = tmp_path / "data"
    shutil.copytree(store, root)
    clone_episodes(root, "s.grid.s0", "c", 2)
    clone_episodes(root, "s.pixels.s2", "c", 2)
    return root


def test_mining_gives_the_same_decisions_with_or_without_stored_signals(loose, tmp_path):
    new = mined(loose, ["s", "c"])
    files = sorted(loose.rglob("turn_signals.parquet"))
    assert len(files) == 5  # the compacted part of run "s" and the four loose copies
    for path in files[::2]:
        path.unlink()  # as episodes written before the table existed
    assert len(new) > 100 and mined(loose, ["s", "c"]).equals(new)
    for path in files[1::2]:
        path.unlink()
    assert mined(loose, ["s", "c"]).equals(new)


def test_compaction_keeps_the_stored_signals(loose):
    before = stored(loose)
    old = "c.grid.s1000"  # an older episode among newer ones: no stored signals
    (loose / "runs/c/episodes" / old / "turn_signals.parquet").unlink()
    before_compaction = mined(loose, ["c"])
    assert compact_run(loose, "c") == 4
    (part,) = loose.glob("runs/c/parts/*/turn_signals.parquet")
    kept = [r for r in before if r[0] != old]
    assert pq.read_metadata(part).num_rows == len([r for r in kept if r[0].startswith("c.")])
    assert stored(loose) == kept
    assert mined(loose, ["c"]).equals(before_compaction)


def op(seq, kind, step=1, phase="log", ok=True, hits=0, result="", mutations="[]", file="notes"):
    fields = dict(seq=seq, kind=kind, step=step, phase=phase, turn=0, ok=ok, hits=hits)
    return type("Op", (), dict(fields, result=result, mutations_json=mutations, file=file))


def test_ops_out_of_order_leave_the_signals_to_the_sql():
    signals = TurnSignals()
    signals.add("memory_ops", op(2, "SEARCH"))
    assert signals.in_order
    signals.add("memory_ops", op(1, "SEARCH"))
    assert not signals.in_order


def test_a_step_number_beyond_64_bits_is_no_early_outcome():
    signals = TurnSignals()
    signals.add("turns", type("T", (), dict(step=3, phase="log", turn=0, n_ops=1)))
    text = '[{"kind": "append", "text": "step 99999999999999999999 and STEP 2"}]'
    long = '[{"kind": "append", "text": "step ' + "1" * 5000 + '"}]'
    signals.add("memory_ops", op(0, "APPEND", step=3, mutations=text))
    signals.add("memory_ops", op(1, "APPEND", step=3, mutations=long))  # too long for int()
    (row,) = signals.rows("e")
    assert isinstance(row, TurnSignalRow) and not row.early_outcome and row.lines_written == 2


def test_the_upgrade_gives_older_episodes_and_parts_the_signals_the_writer_would(loose):
    before, decisions = stored(loose), mined(loose, ["s", "c"])
    for path in loose.rglob("turn_signals.parquet"):
        path.unlink()  # as episodes and parts written before the table existed
    (part,) = read_manifest(loose / "runs" / "s")
    sizes = {t: n for t, n in part.sizes.items() if t != "turn_signals"}
    write_manifest(loose / "runs" / "s", [dataclasses.replace(part, sizes=sizes)])
    assert stored(loose) == []
    added = add_derived(loose)
    assert added.signals == 6 + 4 and added.part_totals == 0
    assert stored(loose) == before and mined(loose, ["s", "c"]).equals(decisions)
    assert add_derived(loose).signals == 0  # nothing left to add
    next(loose.glob("runs/s/parts/*/turn_signals.parquet")).write_bytes(b"damaged")
    assert add_derived(loose).signals == 6 and stored(loose) == before
