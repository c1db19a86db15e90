"""What the reviewer can see: views over the reviewed runs, and nothing of any other run.

The reviewer's SQL (``sql.py``) and tools (``tools.py``) read these views, each holding only rows
of the reviewed runs:

- ``runs``, ``episodes``, ``steps``, ``turns``, ``memory_ops``, ``memory_snapshots``, ``frames``,
  ``turn_signals``: the reviewed runs' own files, read in place. These files, and no other, are
  the ones the confined connection may open (its ``allowed_paths``).
- ``decisions``: the mined decisions of the reviewed runs (``run_id`` one of them);
- ``alternatives``: the alternative answers sampled for those decisions;
- ``labels``: the verdicts on those decisions and alternatives (people's notes included).

The record tables mix every run's rows in shared files, so their rows of the reviewed runs are
read once, before the connection is confined, and held in memory; their files stay out of reach.
Left out altogether: ``proposals``, ``evaluations``, ``exports``, ``trainings`` and
``causal_values``. They record the loops across many runs (other reviews' citations, gate pairs
of other runs, the fork runs that measured a decision) and name folders of the machine (export
and adapter folders), so no filter by run makes them safe to show.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

from automem_core.store.reader import connect, view_files
from automem_core.store.schema import DERIVED_TABLES, EPISODE_TABLES

FILE_VIEWS: tuple[str, ...] = ("runs", *EPISODE_TABLES, *DERIVED_TABLES)
RECORD_VIEWS: tuple[str, ...] = ("decisions", "alternatives", "labels")
VIEWS: tuple[str, ...] = (*FILE_VIEWS, *RECORD_VIEWS)
LEFT_OUT: tuple[str, ...] = ("proposals", "evaluations", "exports", "trainings", "causal_values")

# The rows of each record view that belong to the reviewed runs ($runs: their ids).
_RECORD_ROWS = {
    "decisions": "SELECT * FROM decisions WHERE list_contains($runs, run_id)",
    "alternatives": """
        SELECT * FROM alternatives WHERE decision_id IN (
            SELECT decision_id FROM decisions WHERE list_contains($runs, run_id))""",
    "labels": """
        SELECT * FROM labels WHERE
            (target_kind = 'decision' AND target_id IN (
                SELECT decision_id FROM decisions WHERE list_contains($runs, run_id)))
            OR (target_kind = 'alternative' AND target_id IN (
                SELECT alternative_id FROM alternatives WHERE decision_id IN (
                    SELECT decision_id FROM decisions WHERE list_contains($runs, run_id))))""",
}


def reviewed_records(root: Path, run_ids: Sequence[str]) -> dict[str, pa.Table]:
    """Each record view's rows that belong to ``run_ids`` (read on a connection of its own)."""
    staging = duckdb.connect()
    try:
        connect(Path(root), staging, tables=RECORD_VIEWS)
        return {
            view: staging.sql(sql, params={"runs": list(run_ids)}).to_arrow_table()
            for view, sql in _RECORD_ROWS.items()
        }
    finally:
        staging.close()


def build_views(con: duckdb.DuckDBPyConnection, root: Path, run_ids: Sequence[str]) -> list[str]:
    """Create :data:`VIEWS` over ``run_ids`` on ``con``; the files the views read (all of them
    the reviewed runs' own), for the connection's ``allowed_paths``."""
    root = Path(root)
    records = reviewed_records(root, run_ids)
    connect(root, con, tables=FILE_VIEWS, run_ids=run_ids)
    for view, rows in records.items():
        con.register(f"_reviewed_{view}", rows)
        con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM _reviewed_{view}")
    plan = view_files(root, FILE_VIEWS, run_ids)
    return sorted({path for files in plan.files.values() for path in files})
