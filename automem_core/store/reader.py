"""Reading the store: DuckDB views over the published Parquet, episode lookup, resume state."""

from __future__ import annotations

import glob
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from automem_core.store.layout import Layout, StoreError
from automem_core.store.migrations import file_version, read_upgraded
from automem_core.store.schema import EPISODE_TABLES, SCHEMA_VERSION, SCHEMAS, TABLES

log = logging.getLogger(__name__)
T = TypeVar("T")


def file_versions(pattern: str) -> tuple[dict[str, int], list[str]]:
    """Files matching ``pattern`` whose Parquet footer reads, with their schema version; and the
    ones that cannot be used (unreadable, or written by a newer AutoMem)."""
    good: dict[str, int] = {}
    bad: list[str] = []
    for path in sorted(glob.glob(pattern)):
        try:
            version = file_version(path)
        except (OSError, pa.ArrowException):
            bad.append(path)
            continue
        if version > SCHEMA_VERSION:
            log.warning(
                "%s was written by a newer AutoMem (schema %d > %d); upgrade AutoMem to read it",
                path,
                version,
                SCHEMA_VERSION,
            )
            bad.append(path)
        else:
            good[path] = version
    return good, bad


def readable_files(pattern: str) -> tuple[list[str], list[str]]:
    """Files matching ``pattern`` that can be read, and the ones that cannot."""
    good, bad = file_versions(pattern)
    return list(good), bad


def _quote(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


def connect(root: Path, con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with one view per table over the files under ``root``.

    Unreadable files are left out with a warning naming them, so one corrupt file never hides the
    rest of the store. Tables with no files yet are empty views with the right columns.
    """
    layout = Layout(root)
    con = con or duckdb.connect()
    older = 0
    for table in TABLES:
        good, bad = file_versions(layout.table_glob(table))
        for path in bad:
            log.warning("skipping unreadable file %s: delete it or re-run its episode", path)
        current = [p for p, v in good.items() if v == SCHEMA_VERSION]
        parts = [f"SELECT * FROM read_parquet([{', '.join(_quote(p) for p in current)}])"]
        parts = parts if current else []
        upgraded = [_upgraded(table, p) for p, v in good.items() if v < SCHEMA_VERSION]
        upgraded = [t for t in upgraded if t is not None]
        if upgraded:  # files of an earlier schema, upgraded as they are read
            older += len(upgraded)
            con.register(f"_upgraded_{table}", pa.concat_tables(upgraded))
            parts.append(f"SELECT * FROM _upgraded_{table}")
        if not parts:
            con.register(f"_empty_{table}", SCHEMAS[table].empty_table())
            parts.append(f"SELECT * FROM _empty_{table}")
        con.execute(f"CREATE OR REPLACE VIEW {table} AS {' UNION ALL BY NAME '.join(parts)}")
    if older:
        log.warning(
            "%d files were written by an earlier AutoMem and are upgraded each time they are "
            "read; `automem upgrade --data %s` rewrites them once",
            older,
            root,
        )
    return con


def _upgraded(table: str, path: str) -> pa.Table | None:
    try:
        return read_upgraded(table, Path(path))
    except (OSError, pa.ArrowException) as exc:
        log.warning("skipping unreadable file %s (%s): delete it or re-run its episode", path, exc)
        return None


def query_store(root: Path, query: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    """``query`` on a fresh connection to the store under ``root``.

    The views are built over the files present when connecting; when a run replaced a folder
    since (a re-played episode), DuckDB raises an IOException: connect again and retry once.
    """
    for attempt in (1, 2):
        con = connect(root)
        try:
            return query(con)
        except duckdb.IOException:
            if attempt == 2:
                raise
        finally:
            con.close()
    raise AssertionError("unreachable")


def episode_dir(root: Path, episode_id: str) -> Path:
    """The published folder of ``episode_id``; a clear error if it is not in the store."""
    matches = glob.glob(str(Layout(root).runs / "*" / "episodes" / glob.escape(episode_id)))
    if not matches:
        raise StoreError(
            f"episode {episode_id!r} is not in {root}; list them with `automem episodes`"
        )
    return Path(matches[0])


def finished_episodes(layout: Layout, run_id: str) -> dict[str, str]:
    """episode_id → status for every published episode of a run whose files all read (used to
    resume: an episode with a corrupt or missing file counts as not played)."""
    out: dict[str, str] = {}
    pattern = str(layout.run_dir(run_id) / "episodes" / "*" / "episodes.parquet")
    good, _bad = readable_files(pattern)
    for path in good:
        folder = Path(path).parent
        if not _complete(folder):
            continue
        table = pq.read_table(path, columns=["episode_id", "status"])
        for eid, status in zip(
            table.column("episode_id").to_pylist(), table.column("status").to_pylist(), strict=True
        ):
            out[eid] = status
    return out


def _complete(folder: Path) -> bool:
    """Every table file of a published episode is there and reads (the writer writes each
    table, empty or not, so a missing one was deleted)."""
    for path in (folder / f"{t}.parquet" for t in EPISODE_TABLES):
        try:
            pq.read_metadata(path)
        except (OSError, pa.ArrowException):
            log.warning(
                "episode folder %s has a missing or unreadable %s; it will be played again",
                folder.name,
                path.name,
            )
            return False
    return True
