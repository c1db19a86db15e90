"""How files written by an earlier schema version keep reading.

The policy, for this and every later ``SCHEMA_VERSION`` bump: each bump adds one upgrade here,
from version v to v + 1, per table. A reader upgrades older files in memory as it reads them
(``upgrade_table``); ``automem upgrade`` rewrites them in place once (``upgrade_store``), saying
what it does. A file newer than the code understands is refused with one line and left out.

v6 → v7: episodes gained ``fork_edit_json`` (none: an episode of an earlier version is never a
fork with an edit); the record table ``causal_values`` appeared. Compacted parts of v6 are
upgraded too: ``automem upgrade`` writes each as a new part (its unchanged files linked, not
copied) and swaps it into the run's manifest, as a compaction does.

v5 → v6: no column changed; episodes gained a derived table, ``turn_signals`` (each decision
turn's mining signals, computed by the writer). Episodes written before have none, and mining
computes their signals from the log instead; ``automem upgrade`` adds them (``derive.py``).

v4 → v5: trainings gained ``examples``, ``out_dir`` and ``error`` (what a failed training
says went wrong).

v3 → v4: runs gained ``training_id``; labels gained ``source``, ``scaffold_version`` and the
judge's tokens and cost, and their ``reason`` became ``note``; the loops' record tables
(decisions, alternatives, proposals, evaluations, exports, trainings) appeared.

v2 → v3: episodes gained their summary (store/summary.py), computed from the episode's steps,
memory ops and keyframes as the writer now does.

v1 → v2: runs gained ``seed_set`` (none) and ``text_format`` ("1"); episodes gained
``failed_calls`` and ``failure_defaults``, recomputed from the episode's ``turns.error`` so an
old episode with failed model calls is not silently clean (its status becomes ``degraded`` or
``model_error`` like a new one's); steps gained ``action_source``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from automem_core.store.catalog import Part, RunFiles, scan, scan_run, write_manifest
from automem_core.store.locks import COMPACT_LOCK, try_lock
from automem_core.store.schema import METADATA_KEY, SCHEMA_VERSION, SCHEMAS
from automem_core.store.summary import SUMMARY_COLUMNS, EpisodeSummary

log = logging.getLogger(__name__)
MODEL_ERROR_SHARE = 0.1  # the episode status threshold new runs use by default

Upgrade = Callable[[str, pa.Table, Path], pa.Table]


def file_version(path: str | Path) -> int:
    """The schema version a Parquet file was written with (0 when it carries none)."""
    meta = pq.read_metadata(path).metadata or {}
    raw = meta.get(METADATA_KEY, b"0")
    return int(raw) if raw.isdigit() else 0


def _failed_turns(folder: Path) -> pa.Table:
    """(step, phase) of every failed model call of the episode in ``folder``."""
    path = folder / "turns.parquet"
    if not path.exists():
        return pa.table({"step": pa.array([], pa.int64()), "phase": pa.array([], pa.string())})
    turns = pq.read_table(path, columns=["step", "phase", "error"])
    return turns.filter(pc.is_valid(turns.column("error"))).select(["step", "phase"])


def _v1_to_v2(table_name: str, table: pa.Table, path: Path) -> pa.Table:
    n = len(table)
    if table_name == "runs":
        table = table.append_column("seed_set", pa.nulls(n, pa.string()))
        return table.append_column("text_format", pa.array(["1"] * n, pa.string()))
    if table_name not in ("episodes", "steps"):
        return table
    failed = _failed_turns(path.parent)
    acting = failed.filter(pc.is_in(failed.column("phase"), pa.array(["plan", "action"])))
    failed_steps = set(acting.column("step").to_pylist())
    if table_name == "steps":
        valid = table.column("action_valid").to_pylist()
        raw = table.column("raw_action").to_pylist()
        steps = table.column("step").to_pylist()
        source = [
            "model" if ok else ("invalid" if r is not None else "missing")
            for ok, r in zip(valid, raw, strict=True)
        ]
        source = [
            "failure" if s == "missing" and step in failed_steps else s
            for s, step in zip(source, steps, strict=True)
        ]
        return table.append_column("action_source", pa.array(source, pa.string()))
    steps_path = path.parent / "steps.parquet"
    defaults = 0
    if steps_path.exists() and failed_steps:
        steps = pq.read_table(steps_path, columns=["step", "action_valid", "raw_action"])
        columns = (steps.column(c).to_pylist() for c in steps.column_names)
        for step, ok, raw in zip(*columns, strict=True):
            defaults += int(not ok and raw is None and step in failed_steps)
    calls = table.column("llm_calls").to_pylist()
    status = table.column("status").to_pylist()
    n_failed = [failed.num_rows] * n
    new_status = [
        s if s != "ok" or f == 0 else ("model_error" if f > MODEL_ERROR_SHARE * c else "degraded")
        for s, f, c in zip(status, n_failed, calls, strict=True)
    ]
    table = table.set_column(
        table.schema.get_field_index("status"), "status", pa.array(new_status, pa.string())
    )
    table = table.append_column("failed_calls", pa.array(n_failed, pa.int64()))
    return table.append_column("failure_defaults", pa.array([defaults] * n, pa.int64()))


def _v2_to_v3(table_name: str, table: pa.Table, path: Path) -> pa.Table:
    if table_name != "episodes":
        return table
    summary = EpisodeSummary()
    folder = path.parent
    for name in ("steps", "memory_ops", "memory_snapshots"):
        if (folder / f"{name}.parquet").exists():
            rows = pq.read_table(folder / f"{name}.parquet").sort_by(_ORDER[name]).to_pylist()
            for row in rows:
                summary.add(name, SimpleNamespace(**row))
    columns = summary.columns()
    for name in SUMMARY_COLUMNS:
        value = columns[name]
        kind = pa.string() if isinstance(value, str) else pa.int64()
        table = table.append_column(name, pa.array([value] * len(table), kind))
    return table


_ORDER = {"steps": "step", "memory_ops": "seq", "memory_snapshots": "step"}


def _v3_to_v4(table_name: str, table: pa.Table, path: Path) -> pa.Table:
    n = len(table)
    if table_name == "runs":
        return table.append_column("training_id", pa.nulls(n, pa.string()))
    if table_name != "labels":
        return table
    table = table.rename_columns(["note" if c == "reason" else c for c in table.column_names])
    for name, value in (("source", "human"), ("scaffold_version", "")):
        table = table.append_column(name, pa.array([value] * n, pa.string()))
    for name in ("tokens_in", "tokens_out"):
        table = table.append_column(name, pa.array([0] * n, pa.int64()))
    return table.append_column("cost_usd", pa.array([0.0] * n, pa.float64()))


def _v4_to_v5(table_name: str, table: pa.Table, path: Path) -> pa.Table:
    if table_name != "trainings":
        return table
    n = len(table)
    table = table.append_column("examples", pa.array([0] * n, pa.int64()))
    table = table.append_column("out_dir", pa.nulls(n, pa.string()))
    return table.append_column("error", pa.nulls(n, pa.string()))


def _v5_to_v6(table_name: str, table: pa.Table, path: Path) -> pa.Table:
    return table


def _v6_to_v7(table_name: str, table: pa.Table, path: Path) -> pa.Table:
    if table_name != "episodes":
        return table
    return table.append_column("fork_edit_json", pa.nulls(len(table), pa.string()))


UPGRADES: dict[int, Upgrade] = {
    1: _v1_to_v2,
    2: _v2_to_v3,
    3: _v3_to_v4,
    4: _v4_to_v5,
    5: _v5_to_v6,
    6: _v6_to_v7,
}
# The tables whose columns each version changed. A file of an earlier version reads as it is
# (no upgrade, no copy) unless a later version changed its table.
CHANGED: dict[int, frozenset[str]] = {
    2: frozenset({"runs", "episodes", "steps"}),
    3: frozenset({"episodes"}),
    4: frozenset({"runs", "labels"}),
    5: frozenset({"trainings"}),
    6: frozenset(),
    7: frozenset({"episodes"}),
}


def needs_upgrade(table_name: str, version: int) -> bool:
    """Whether a ``table_name`` file written at ``version`` must be upgraded to be read."""
    return any(table_name in CHANGED[v] for v in range(max(version, 1) + 1, SCHEMA_VERSION + 1))


def upgrade_table(table_name: str, table: pa.Table, version: int, path: Path) -> pa.Table:
    """``table`` (read from ``path``, written at ``version``) as the current schema has it."""
    for v in range(max(version, 1), SCHEMA_VERSION):
        table = UPGRADES[v](table_name, table, Path(path))
    schema = SCHEMAS[table_name]
    return table.select(schema.names).cast(schema)


def read_upgraded(table_name: str, path: Path) -> pa.Table:
    """A file of ``table_name`` in the current schema, whatever version wrote it."""
    version = file_version(path)
    table = pq.read_table(path)
    if not needs_upgrade(table_name, version):
        return table
    return upgrade_table(table_name, table, version, Path(path))


def upgrade_file(table_name: str, path: Path) -> bool:
    """Rewrite one older file in the current schema (atomically); False when already current."""
    if not needs_upgrade(table_name, file_version(path)):
        return False
    table = read_upgraded(table_name, path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)
    return True


def upgrade_store(root: Path) -> dict[str, int]:
    """Rewrite every older file under ``root`` in the current schema; per table, how many.

    Run rows and loose episode folders are rewritten in place; a compacted part of an earlier
    schema is written again as a new part (:func:`upgrade_parts`).
    """
    done: dict[str, int] = {}

    def upgrade(table_name: str, path: Path) -> None:
        if path.exists() and upgrade_file(table_name, path):
            done[table_name] = done.get(table_name, 0) + 1

    for run in scan(Path(root)):
        upgrade("runs", run.run_file)
        for folder in run.loose.values():
            for table_name in ("steps", "turns", "memory_ops", "memory_snapshots", "frames"):
                upgrade(table_name, folder / f"{table_name}.parquet")
            upgrade("episodes", folder / "episodes.parquet")  # last: it reads the others
        for table_name, n in upgrade_parts(run.folder).items():
            done[table_name] = done.get(table_name, 0) + n
    return done


def _part_tables(part: Part) -> list[str]:
    return [t for t in part.sizes if needs_upgrade(t, part.version)]


def upgrade_parts(run_folder: Path) -> dict[str, int]:
    """Write each compacted part of an earlier schema again as a new part: the tables whose
    columns changed are upgraded, the others hard-linked (copied where links cannot be made).
    The manifest is swapped once at the end (a reader sees the old parts or the new ones), then
    the old folders go; per table, how many files were upgraded. A run being compacted is left
    for the next time."""
    done: dict[str, int] = {}
    with try_lock(run_folder / COMPACT_LOCK) as mine:
        if not mine:
            return done
        run = scan_run(run_folder)
        if not any(_part_tables(p) for p in run.parts):
            return done
        parts = [_upgrade_part(run, p, done) if _part_tables(p) else p for p in run.parts]
        write_manifest(run_folder, parts)
        for old in run.parts:
            if old not in parts:
                shutil.rmtree(run_folder / "parts" / old.part_id, ignore_errors=True)
    return done


def _upgrade_part(run: RunFiles, part: Part, done: dict[str, int]) -> Part:
    part_id = f"p-{uuid.uuid4().hex[:12]}"
    tmp = run.folder / "parts" / f".tmp-{part_id}"
    tmp.mkdir(parents=True)
    try:
        sizes = {}
        for table_name in part.sizes:
            source, target = run.part_file(part, table_name), tmp / f"{table_name}.parquet"
            if needs_upgrade(table_name, part.version):
                pq.write_table(read_upgraded(table_name, source), target, compression="zstd")
                done[table_name] = done.get(table_name, 0) + 1
            else:
                try:
                    os.link(source, target)
                except OSError:
                    shutil.copyfile(source, target)
            sizes[table_name] = target.stat().st_size
        os.rename(tmp, run.folder / "parts" / part_id)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
        raise
    return replace(part, part_id=part_id, sizes=sizes, version=SCHEMA_VERSION)
