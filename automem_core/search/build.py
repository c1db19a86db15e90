"""Building a run's index: ``runs/<run>/index/``, beside its parts, updated as the run compacts.

The index folder holds tantivy's files (``tantivy/``) and ``coverage.json``: which episodes the
index holds, each with the token of the files it was read from (``part:<id>`` for a compacted
part, the mtime of a published folder), the number each episode's documents carry, and the
episodes being changed (``pending``). :func:`index_run` brings the index up to the run's files:

1. it lists the run's episodes and their tokens, and compares them with the coverage;
2. it writes the coverage with every episode it will touch listed as pending (readers leave
   those out of the index's answers and read them from the store instead);
3. it deletes the documents of episodes that are gone or were rewritten, adds those of new or
   rewritten ones, and commits (one atomic step in tantivy);
4. it writes the coverage without the pending list.

A kill anywhere leaves answers exact: before 4, the touched episodes are read from the store;
the next build finishes the work. An index of another :data:`INDEX_VERSION`, or one that does
not open, is rebuilt whole. Deleting the run deletes its index with it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import tantivy

from automem_core.search.documents import (
    OP_COLUMNS,
    STEP_COLUMNS,
    TURN_COLUMNS,
    EpisodeMeta,
    EpisodeRows,
    episode_documents,
    initial_state,
)
from automem_core.search.fields import INDEX_VERSION, TAG_FIELD, schema, tag
from automem_core.store.catalog import RunFiles, scan, scan_run
from automem_core.store.layout import Layout
from automem_core.store.leftovers import RUN_INDEX_DIR as INDEX_DIR
from automem_core.store.locks import try_lock
from automem_core.store.migrations import read_upgraded

log = logging.getLogger(__name__)
COVERAGE = "coverage.json"
WRITER_HEAP_BYTES = 128_000_000
READ_ERRORS = (OSError, pa.ArrowException, ValueError, KeyError, IndexError)


def index_dir(run_folder: Path) -> Path:
    return Path(run_folder) / INDEX_DIR


@dataclass
class Coverage:
    """What a run's index holds (``coverage.json``)."""

    episodes: dict[str, str] = field(default_factory=dict)  # episode id → token of its files
    numbers: dict[str, int] = field(default_factory=dict)  # episode id → its number
    pending: list[str] = field(default_factory=list)  # being changed: not answered from the index
    version: int = INDEX_VERSION

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "episodes": self.episodes,
            "numbers": self.numbers,
            "pending": self.pending,
        }


def read_coverage(run_folder: Path) -> Coverage | None:
    """The run's coverage (None: no index, or one this code cannot use)."""
    try:
        raw = json.loads((index_dir(run_folder) / COVERAGE).read_text(encoding="utf-8"))
        coverage = Coverage(
            dict(raw["episodes"]), dict(raw["numbers"]), list(raw["pending"]), int(raw["version"])
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return coverage if coverage.version == INDEX_VERSION else None


def _write_coverage(run_folder: Path, coverage: Coverage) -> None:
    path = index_dir(run_folder) / COVERAGE
    tmp = path.with_name(f".{COVERAGE}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(coverage.to_json(), fh, separators=(",", ":"))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def episode_tokens(run: RunFiles) -> dict[str, str]:
    """Each episode of the run now, with the token of the files that hold it."""
    out = {e: f"part:{p.part_id}" for p in run.parts for e in p.episodes}
    for episode_id, folder in run.loose.items():
        try:
            out[episode_id] = f"loose:{(folder / 'episodes.parquet').stat().st_mtime_ns}"
        except OSError:
            continue  # replaced while we looked: the next build sees it
    return out


# --------------------------------------------------------------------------- reading episodes


@dataclass(frozen=True)
class EpisodeSource:
    """Where one episode's rows are, and whether its files hold other episodes too."""

    episode_id: str
    files: dict[str, Path]
    shared: bool


SEARCHED_TABLES = ("episodes", "steps", "turns", "memory_ops", "memory_snapshots")


def episode_sources(
    run: RunFiles, wanted: set[str], tables: tuple[str, ...] = SEARCHED_TABLES
) -> list[EpisodeSource]:
    """Where the ``wanted`` episodes' ``tables`` are (a mirror fetches those of the parts that
    hold them, in one batch)."""
    out = []
    holding = [p for p in run.parts if not wanted.isdisjoint(p.episodes)]
    run.fetch((part, t) for part in holding for t in tables)
    for part in holding:
        files = {t: run.part_file(part, t) for t in tables if t in part.sizes}
        out += [EpisodeSource(e, files, True) for e in part.episodes if e in wanted]
    for episode_id, folder in run.loose.items():
        if episode_id in wanted:
            files = {t: folder / f"{t}.parquet" for t in tables}
            out.append(EpisodeSource(episode_id, files, False))
    return out


def _rows(source: EpisodeSource, table: str, columns: list[str]) -> pa.Table:
    where = [("episode_id", "==", source.episode_id)] if source.shared else None
    return pq.read_table(source.files[table], columns=columns, filters=where)


def read_episode_rows(source: EpisodeSource, last_step: int) -> EpisodeRows:
    """The episode's rows; lines still in memory at its end live until ``last_step``, or the
    last step an op ran in (an episode that failed mid-step logged ops of a step it never
    finished)."""
    snaps = _rows(source, "memory_snapshots", ["step", "files_json"])
    first = None
    if len(snaps):
        at = pc.index(snaps.column("step"), pc.min(snaps.column("step"))).as_py()
        first = snaps.column("files_json")[at].as_py()
    ops = _rows(source, "memory_ops", OP_COLUMNS).sort_by("seq")
    if len(ops):
        last_step = max(last_step, int(pc.max(ops.column("step")).as_py()))
    return EpisodeRows(
        steps=_rows(source, "steps", STEP_COLUMNS).sort_by("step"),
        turns=_rows(source, "turns", TURN_COLUMNS),
        ops=ops,
        initial=initial_state(first),
        last_step=last_step,
    )


def episode_rows_meta(run: RunFiles, sources: list[EpisodeSource]) -> dict[str, dict[str, Any]]:
    """The ``episodes`` row of each source's episode (each file read once)."""
    rows: dict[str, dict[str, Any]] = {}
    read: set[Path] = set()
    for source in sources:
        path = source.files["episodes"]
        if path in read:
            continue
        read.add(path)
        try:
            for row in read_upgraded("episodes", path).to_pylist():
                rows[row["episode_id"]] = row
        except READ_ERRORS as exc:
            log.warning("search index of %s: cannot read %s (%s)", run.run_id, path, exc)
    return rows


def documents_of(
    run: RunFiles, wanted: set[str], numbers: dict[str, int]
) -> Iterator[tuple[str, list[tantivy.Document] | None]]:
    """Per episode of ``wanted``: its documents, or None when its rows cannot be read. An
    episode whose files went while it was read (a compaction moved it into a part) is read
    again from where a fresh listing finds it, as every reader of the store does."""
    sources = episode_sources(run, wanted)
    metas = episode_rows_meta(run, sources)
    for source in sources:
        try:
            yield source.episode_id, _documents(source, metas.get(source.episode_id), numbers)
            continue
        except FileNotFoundError:
            pass
        except READ_ERRORS as exc:
            log.warning("search: episode %s cannot be read (%s)", source.episode_id, exc)
            yield source.episode_id, None
            continue
        fresh = scan_run(run.folder)
        moved = episode_sources(fresh, {source.episode_id})
        try:
            if not moved:
                raise FileNotFoundError(f"episode {source.episode_id} is no longer in the run")
            row = episode_rows_meta(fresh, moved).get(source.episode_id)
            yield source.episode_id, _documents(moved[0], row, numbers)
        except READ_ERRORS as exc:
            log.warning("search: episode %s cannot be read (%s)", source.episode_id, exc)
            yield source.episode_id, None


def _documents(
    source: EpisodeSource, row: dict[str, Any] | None, numbers: dict[str, int]
) -> list[tantivy.Document]:
    if row is None:
        if not all(path.exists() for path in source.files.values()):
            raise FileNotFoundError(f"episode {source.episode_id}: its files went")
        raise KeyError("no episodes row")
    meta = EpisodeMeta(
        source.episode_id,
        numbers[source.episode_id],
        str(row["task"]),
        str(row["status"]),
        int(row["seed"]),
    )
    first = int(row.get("fork_step") or 0)  # a fork's steps start at its fork step
    rows = read_episode_rows(source, first + int(row["steps"]) - 1)
    return list(episode_documents(meta, rows))


# --------------------------------------------------------------------------- building


def open_index(folder: Path) -> tantivy.Index:
    """The tantivy index in ``folder`` (ValueError or OSError when it does not open)."""
    return tantivy.Index.open(str(folder))


def _fresh(run_folder: Path) -> tuple[tantivy.Index, Coverage]:
    shutil.rmtree(index_dir(run_folder), ignore_errors=True)
    (index_dir(run_folder) / "tantivy").mkdir(parents=True)
    return tantivy.Index(schema(), path=str(index_dir(run_folder) / "tantivy")), Coverage()


def index_run(root: Path, run_id: str) -> int:
    """Bring the run's index up to its files; how many episodes were (re)indexed (0 when it
    was current, or another process is building it)."""
    folder = Layout(root).run_dir(run_id)
    if not folder.is_dir():
        return 0
    with try_lock(folder / ".index.lock") as mine:
        if not mine:
            return 0
        return _update(scan_run(folder))


def _update(run: RunFiles) -> int:
    coverage = read_coverage(run.folder)
    index = None
    if coverage is not None:
        try:
            index = open_index(index_dir(run.folder) / "tantivy")
        except (ValueError, OSError) as exc:
            log.warning("search index of run %s does not open (%s); rebuilding it", run.run_id, exc)
    if index is None or coverage is None:
        index, coverage = _fresh(run.folder)
    now = episode_tokens(run)
    gone = [e for e in coverage.episodes if now.get(e) != coverage.episodes[e]]
    new = sorted(e for e in now if coverage.episodes.get(e) != now[e] or e in coverage.pending)
    if not gone and not new and not coverage.pending:
        return 0
    numbers = dict(coverage.numbers)
    for e in new:
        if e not in numbers:
            numbers[e] = max(numbers.values(), default=-1) + 1
    touched = sorted({*gone, *new, *coverage.pending})
    _write_coverage(run.folder, Coverage(coverage.episodes, numbers, touched))
    writer = index.writer(heap_size=WRITER_HEAP_BYTES)
    try:
        for e in touched:
            writer.delete_documents_by_term(TAG_FIELD, tag("episode_id", e))
        held = {e: t for e, t in coverage.episodes.items() if e not in touched}
        for episode_id, docs in documents_of(run, set(new), numbers):
            if docs is None:
                continue  # left out: a query reads it from the store (and says it cannot)
            for doc in docs:
                writer.add_document(doc)
            held[episode_id] = now[episode_id]
        writer.commit()
        writer.wait_merging_threads()
    except BaseException:
        writer.rollback()
        raise
    _write_coverage(run.folder, Coverage(held, {e: numbers[e] for e in held}, []))
    log.info("search index of %s: %d episodes indexed", run.run_id, len(new))
    return len(new)


def index_store(root: Path) -> dict[str, int]:
    """Bring every run's index up to date; run id → episodes indexed (runs with none left out)."""
    done = {run.run_id: index_run(root, run.run_id) for run in scan(root)}
    return {run_id: n for run_id, n in done.items() if n}
