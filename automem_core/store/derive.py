"""Derived data for episodes written before it existed (``automem upgrade``).

The writer and the compaction now keep two things beside the recorded rows: each decision turn's
signals (``turn_signals``, for mining) and each compacted part's per-task totals (in the run's
manifest, for the runs table and the Overview). Readers work without them (they compute the same
from the log, only slower); these functions add them to older episodes and parts (and write
again signals that were lost or damaged), under the run's compaction lock, each file written
whole and then renamed into place.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import uuid
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq

from automem_core.store.catalog import Part, RunFiles, scan_run, write_manifest
from automem_core.store.layout import Layout
from automem_core.store.locks import COMPACT_LOCK, try_lock
from automem_core.store.migrations import read_upgraded
from automem_core.store.part_stats import part_task_stats
from automem_core.store.schema import TurnSignalRow, to_table
from automem_core.store.turn_signals import TurnSignals

log = logging.getLogger(__name__)
# The columns TurnSignals reads, per table, in the order the writer hands rows over.
_INPUTS = {
    "turns": ["episode_id", "step", "phase", "turn", "n_ops"],
    "steps": ["episode_id", "step", "reward", "progression"],
    "memory_ops": ["episode_id", "step", "seq", "phase", "turn", "kind", "file", "ok", "hits",
                   "result", "mutations_json"],
}  # fmt: skip


@dataclasses.dataclass
class Added:
    part_totals: int = 0  # compacted parts given their per-task totals
    signals: int = 0  # episodes given their turn signals


def turn_signals_of(files: dict[str, Path]) -> list[TurnSignalRow] | None:
    """The signal rows of every episode in ``files`` (table → file); None when an episode's
    ops are out of order (its signals are then left to the SQL)."""
    found: dict[str, TurnSignals] = defaultdict(TurnSignals)
    for table, columns in _INPUTS.items():
        rows = pq.read_table(files[table], columns=columns)
        if table == "memory_ops":
            rows = rows.sort_by([("episode_id", "ascending"), ("seq", "ascending")])
        for row in rows.to_pylist():
            found[row["episode_id"]].add(table, SimpleNamespace(**row))
    if not all(acc.in_order for acc in found.values()):
        return None
    return [row for episode_id in sorted(found) for row in found[episode_id].rows(episode_id)]


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def _readable(path: Path) -> bool:
    try:
        pq.read_metadata(path)
    except (OSError, pa.ArrowException):
        return False
    return True


def _write(path: Path, rows: list[TurnSignalRow]) -> int:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    pq.write_table(to_table("turn_signals", rows), tmp, compression="zstd")
    os.replace(tmp, path)
    return path.stat().st_size


def _complete_run(run: RunFiles, added: Added) -> None:
    for folder in run.loose.values():
        target = folder / "turn_signals.parquet"
        if _readable(target):
            continue
        published = _identity(folder / "episodes.parquet")
        try:
            rows = turn_signals_of({t: folder / f"{t}.parquet" for t in _INPUTS})
        except (OSError, pa.ArrowException) as exc:  # resume plays such an episode again
            log.warning("episode %s cannot be read (%s); its signals are left out", folder.name,
                        exc)  # fmt: skip
            continue
        # A resume may have published a new attempt of the episode meanwhile: leave it be.
        if rows is not None and _identity(folder / "episodes.parquet") == published:
            _write(target, rows)
            added.signals += 1
    parts: list[Part] = []
    for part in run.parts:
        if part.task_stats is None and run.part_ok(part, "episodes"):
            episodes = read_upgraded("episodes", run.part_file(part, "episodes")).to_pylist()
            part = dataclasses.replace(part, task_stats=tuple(part_task_stats(episodes)))
            added.part_totals += 1
        missing = not run.part_ok(part, "turn_signals")  # never written, lost or damaged
        if missing and all(run.part_ok(part, t) for t in _INPUTS):
            rows = turn_signals_of({t: run.part_file(part, t) for t in _INPUTS})
            if rows is not None:
                size = _write(run.part_file(part, "turn_signals"), rows)
                part = dataclasses.replace(part, sizes={**part.sizes, "turn_signals": size})
                added.signals += len(part.episodes)
        parts.append(part)
    if parts != run.parts:
        write_manifest(run.folder, parts)  # from here on, readers take what was added


def add_derived(root: Path) -> Added:
    """Give older episodes their turn signals and older compacted parts their per-task
    totals; what was added."""
    added = Added()
    runs_dir = Layout(root).runs
    names = sorted(p.name for p in runs_dir.iterdir() if p.is_dir()) if runs_dir.is_dir() else []
    for name in names:
        with try_lock(runs_dir / name / COMPACT_LOCK) as mine:
            if not mine:
                log.warning("run %s is being compacted; run the upgrade again later", name)
                continue
            try:
                _complete_run(scan_run(runs_dir / name), added)
            except (OSError, pa.ArrowException) as exc:
                log.warning("run %s: could not add derived data (%s); it reads without", name,
                            exc)  # fmt: skip
    return added
