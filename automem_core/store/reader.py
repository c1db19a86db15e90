"""Reading the store: DuckDB views over the published Parquet, episode lookup, resume state."""

from __future__ import annotations

import glob
import logging
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from automem_core.store.layout import Layout, StoreError
from automem_core.store.schema import SCHEMA_VERSION, SCHEMAS, TABLES

log = logging.getLogger(__name__)


def readable_files(pattern: str) -> tuple[list[str], list[str]]:
    """Files matching ``pattern`` whose Parquet footer reads, and the ones that do not."""
    good: list[str] = []
    bad: list[str] = []
    for path in sorted(glob.glob(pattern)):
        try:
            pq.read_metadata(path)
        except (OSError, pa.ArrowException):
            bad.append(path)
        else:
            good.append(path)
    return good, bad


def _quote(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


def connect(root: Path, con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with one view per table over the files under ``root``.

    Unreadable files are left out with a warning naming them, so one corrupt file never hides the
    rest of the store. Tables with no files yet are empty views with the right columns.
    """
    layout = Layout(root)
    con = con or duckdb.connect()
    for table in TABLES:
        good, bad = readable_files(layout.table_glob(table))
        for path in bad:
            log.warning("skipping unreadable file %s: delete it or re-run its episode", path)
        if good:
            files = ", ".join(_quote(p) for p in good)
            con.execute(
                f"CREATE OR REPLACE VIEW {table} AS "
                f"SELECT * FROM read_parquet([{files}], union_by_name = true)"
            )
        else:
            con.execute(f"DROP VIEW IF EXISTS {table}")
            con.register(f"_empty_{table}", SCHEMAS[table].empty_table())
            con.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM _empty_{table}")
    return con


def episode_dir(root: Path, episode_id: str) -> Path:
    """The published folder of ``episode_id``; a clear error if it is not in the store."""
    matches = glob.glob(str(Layout(root).runs / "*" / "episodes" / glob.escape(episode_id)))
    if not matches:
        raise StoreError(
            f"episode {episode_id!r} is not in {root}; list them with `automem episodes`"
        )
    return Path(matches[0])


def check_version(path: Path) -> None:
    meta = pq.read_schema(path).metadata or {}
    version = int(meta.get(b"automem.schema_version", b"0"))
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer AutoMem (schema {version} > {SCHEMA_VERSION}); upgrade"
        )


def finished_episodes(layout: Layout, run_id: str) -> dict[str, str]:
    """episode_id → status for every published episode of a run (used to resume)."""
    out: dict[str, str] = {}
    pattern = str(layout.run_dir(run_id) / "episodes" / "*" / "episodes.parquet")
    good, _bad = readable_files(pattern)
    for path in good:
        table = pq.read_table(path, columns=["episode_id", "status"])
        for eid, status in zip(
            table.column("episode_id").to_pylist(), table.column("status").to_pylist(), strict=True
        ):
            out[eid] = status
    return out
