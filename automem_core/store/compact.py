"""Compaction: a run's finished episodes merged into a few larger files, atomically.

Six small files per episode make every store-wide query cost in proportion to the number of
episodes (and on object storage, many small files are slow and costly). ``compact_run`` merges a
run's loose, clean (``ok``) episode folders into one new part:

1. the part is written under a temporary name, table by table, rows sorted by episode (and step);
2. it is read back whole and checked (rows and episodes match what went in), then renamed;
3. the run's manifest is replaced (one atomic rename), its entry for the part carrying the
   part's per-task totals (``part_stats.py``): from here on readers take those episodes from the
   part;
4. only then are the episodes' folders deleted.

A kill at any point leaves every episode readable exactly once: before 3 the new part is an
orphan that readers ignore; after 3 the folders left behind are ignored by readers (the manifest
holds their episodes). The next compaction deletes what a killed one left, and what killed runs
left (``leftovers.py``). Episodes that are not clean stay loose, because resuming the run plays
them again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from automem_core.store.catalog import Part, RunFiles, scan_run, write_manifest
from automem_core.store.layout import Layout, StoreError
from automem_core.store.leftovers import index_leftovers, remove_leftovers, run_leftovers
from automem_core.store.locks import COMPACT_LOCK, try_lock
from automem_core.store.migrations import read_upgraded
from automem_core.store.part_stats import part_task_stats
from automem_core.store.remote import remote_of
from automem_core.store.remote_compact import begin_commit
from automem_core.store.schema import DERIVED_TABLES, EPISODE_TABLES, SCHEMA_VERSION, SCHEMAS

log = logging.getLogger(__name__)
# Rows per row group in a part: small enough that one episode's step reads skip the rest.
ROW_GROUP_ROWS = {"frames": 256, "memory_snapshots": 16, "turns": 4096}
DEFAULT_ROW_GROUP_ROWS = 16_384
SORT_KEYS = {"memory_ops": "seq", "episodes": None}


def _remove(folder: Path) -> None:
    trash = folder.with_name(f".removed-{uuid.uuid4().hex}")
    with contextlib.suppress(FileNotFoundError):
        os.rename(folder, trash)
        shutil.rmtree(trash, ignore_errors=True)


def _clean_episodes(run: RunFiles) -> dict[str, Path]:
    """Loose episodes that read whole and ended clean: what a part may take."""
    out = {}
    for episode_id, folder in sorted(run.loose.items()):
        try:
            row = read_upgraded("episodes", folder / "episodes.parquet").to_pylist()[0]
            for table in EPISODE_TABLES:
                pq.read_metadata(folder / f"{table}.parquet")
        except (OSError, pa.ArrowException, IndexError):
            continue
        for table in DERIVED_TABLES:  # derived rows that do not read are dropped, not merged
            path = folder / f"{table}.parquet"
            try:
                if path.exists():
                    pq.read_metadata(path)
            except (OSError, pa.ArrowException):
                log.warning("dropping unreadable %s; it is computed from the log instead", path)
                path.unlink(missing_ok=True)
        if row["status"] == "ok":
            out[episode_id] = folder
    return out


def _sorted(table: pa.Table, name: str) -> pa.Table:
    key = SORT_KEYS.get(name, "step")
    keys = [("episode_id", "ascending")] + ([(key, "ascending")] if key else [])
    return table.sort_by(keys)


def _write_table(name: str, folders: dict[str, Path], path: Path) -> int:
    """Stream one table of every episode (in episode order) into ``path``; rows written."""
    rows_per_group = ROW_GROUP_ROWS.get(name, DEFAULT_ROW_GROUP_ROWS)
    schema = SCHEMAS[name]
    pending: list[pa.Table] = []
    pending_rows = total = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for episode_id in sorted(folders):
            source = folders[episode_id] / f"{name}.parquet"
            if name in DERIVED_TABLES and not source.exists():
                continue  # an episode written before the table existed
            table = read_upgraded(name, source)
            pending.append(_sorted(table, name).cast(schema))
            pending_rows += len(table)
            if pending_rows >= rows_per_group:
                writer.write_table(pa.concat_tables(pending), row_group_size=rows_per_group)
                total += pending_rows
                pending, pending_rows = [], 0
        if pending:
            writer.write_table(pa.concat_tables(pending), row_group_size=rows_per_group)
            total += pending_rows
    return total


def _verify(path: Path, rows: int, episodes: set[str]) -> None:
    """Read the written file back whole: the rows and the episodes must be those that went in."""
    table = pq.read_table(path, columns=["episode_id"])
    found = set(pc.unique(table.column("episode_id")).to_pylist())
    if len(table) != rows or not found <= episodes:
        raise OSError(f"{path} did not read back as written ({len(table)} rows, {rows} written)")


# Before the manifest names a new part: copy it where the store is kept and commit it there
# (``remote_compact.py``); False when that store's manifest moved on (the part is dropped).
PartPublisher = Callable[[RunFiles, Part], bool]


def compact_run(
    root: Path, run_id: str, min_episodes: int = 2, publish: PartPublisher | None = None
) -> int:
    """Merge the run's loose clean episodes into a new part; how many episodes it took
    (0 when another compaction holds the run, fewer than ``min_episodes`` are loose, or
    ``publish`` did not commit the part)."""
    folder = Layout(root).run_dir(run_id)
    if not folder.is_dir():
        return 0
    with try_lock(folder / COMPACT_LOCK) as mine:
        if not mine:
            return 0
        run = scan_run(folder)
        remove_leftovers(run_leftovers(run))  # what killed compactions and runs left
        chosen = _clean_episodes(run)
        if len(chosen) < min_episodes:
            return 0
        part_id = f"p-{uuid.uuid4().hex[:12]}"
        tmp = folder / "parts" / f".tmp-{part_id}"
        tmp.mkdir(parents=True)
        try:
            sizes = {}
            derived = [
                name
                for name in DERIVED_TABLES
                if any((f / f"{name}.parquet").exists() for f in chosen.values())
            ]
            for name in (*EPISODE_TABLES, *derived):
                path = tmp / f"{name}.parquet"
                _verify(path, _write_table(name, chosen, path), set(chosen))
                sizes[name] = path.stat().st_size
            os.rename(tmp, folder / "parts" / part_id)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        rows = pq.read_table(folder / "parts" / part_id / "episodes.parquet").to_pylist()
        stats = tuple(part_task_stats(rows))
        part = Part(part_id, tuple(sorted(chosen)), sizes, SCHEMA_VERSION, stats)
        if publish is not None and not publish(run, part):
            _remove(folder / "parts" / part_id)
            return 0
        write_manifest(folder, [*run.parts, part])
        for episode_folder in chosen.values():
            _remove(episode_folder)
    log.info("compacted %d episodes of %s into %s", len(chosen), run_id, part_id)
    if publish is None:  # a store on object storage is searched from its episodes
        update_index(root, run_id)
    return len(chosen)


def compact_remote(root: Path, run_id: str) -> int:
    """:func:`compact_run` of a mirror of a store on object storage, its part committed in the
    store before the mirror's manifest names it (``remote_compact.py``); 0 when the store
    cannot take conditional writes, or another compaction committed first."""
    commit = begin_commit(root)
    if commit is None:
        return 0
    done = compact_run(root, run_id, publish=commit.publish)
    commit.finish(run_id)
    return done


def update_index(root: Path, run_id: str) -> None:
    """The run's search index takes in its new part and loose episodes (``search/build.py``).
    Should that fail, searches read those episodes in full until the next build."""
    from automem_core.search.build import index_run

    try:
        index_run(root, run_id)
    except (OSError, ValueError) as exc:
        log.warning("run %s: its search index was not updated (%s)", run_id, exc)


def compact_and_index(root: Path, run_id: str) -> int:
    """:func:`compact_run`, and when it compacted nothing (too few episodes loose for a part),
    the run's search index brought up to date with the loose ones anyway. A mirror of a store
    on object storage compacts through the store (``remote_compact.py``) and is not indexed."""
    if remote_of(root) is not None:
        return compact_remote(root, run_id)
    done = compact_run(root, run_id)
    if not done:
        update_index(root, run_id)
    return done


def compact_now(root: Path, run_id: str) -> int:
    """A compaction while the run plays: :func:`compact_run` (through the store for a mirror,
    ``remote_compact.py``); the index waits for the run's end. A failure is logged, never
    raised: the run goes on, and the next compaction tries again."""
    try:
        if remote_of(root) is not None:
            return compact_remote(root, run_id)
        return compact_run(root, run_id)
    except (OSError, StoreError) as exc:
        log.warning("could not compact run %s yet: %s", run_id, exc)
        return 0


def close_run(root: Path, run_id: str) -> None:
    """At a run's end: :func:`compact_and_index`. A failure is logged, never raised: the
    episodes stay readable in their folders."""
    try:
        compact_and_index(root, run_id)
    except (OSError, StoreError) as exc:
        log.warning("could not compact run %s: %s", run_id, exc)


def compact_store(root: Path) -> dict[str, int]:
    """Compact every run of the store; run id → episodes compacted (runs with none left out).
    The store's own leftovers (a killed reader's run index) go too."""
    runs_dir = Layout(root).runs
    names = sorted(p.name for p in runs_dir.iterdir()) if runs_dir.is_dir() else []
    done = {name: compact_and_index(root, name) for name in names}
    remove_leftovers(index_leftovers(root))
    return {name: n for name, n in done.items() if n}


def drop_broken_parts(root: Path, run_id: str) -> list[str]:
    """Take parts whose files are missing or damaged out of the run's manifest (their folder is
    kept aside as ``parts/.broken-…``), so their episodes count as not played and a resume plays
    them again; the episodes they held."""
    folder = Layout(root).run_dir(run_id)
    if not folder.is_dir():
        return []
    with try_lock(folder / COMPACT_LOCK) as mine:
        if not mine:
            return []
        run = scan_run(folder)
        # In a mirror, a file its pull left in the store is not broken (remote_lazy.py): it is
        # fetched when read, and a failed fetch is an error, never a lost part.
        broken = [p for p in run.parts if not all(run.part_held(p, t) for t in EPISODE_TABLES)]
        if not broken:
            return []
        write_manifest(folder, [p for p in run.parts if p not in broken])
        for part in broken:
            with contextlib.suppress(FileNotFoundError):
                os.rename(
                    folder / "parts" / part.part_id, folder / "parts" / f".broken-{part.part_id}"
                )
            log.warning("run %s: a damaged part held %d episodes; they will be played again",
                        run_id, len(part.episodes))  # fmt: skip
    return [e for p in broken for e in p.episodes]
