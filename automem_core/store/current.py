"""The latest row wins: the one rule every append-only record table is read by.

People and the loops never edit a record; they append a row. What is *current* for a key (a
proposal's state, a training's status, a person's label of a decision, the gate's verdict for a
version on a seed set) is the key's newest row: the greatest ``created_at``, ties broken by the
row's own id. :data:`KEYS` declares each table's key once, :func:`latest_sql` writes the query
once, and :func:`current` / :func:`history` / :func:`latest` return typed rows.

Examples:
    >>> print(latest_sql("trainings", key=["export_id"]).splitlines()[1][:60])
    QUALIFY row_number() OVER (PARTITION BY export_id ORDER BY c
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from automem_core.store.reader import query_store
from automem_core.store.record_rows import (
    EvaluationRow,
    LabelRow,
    ProposalRow,
    TrainingRow,
)


@dataclass(frozen=True)
class RecordKey:
    """What identifies the thing a table's rows describe, and the row's own id (tie-break)."""

    row: type[Any]
    key: tuple[str, ...]
    id_column: str


KEYS: dict[str, RecordKey] = {
    "proposals": RecordKey(ProposalRow, ("proposal_id",), "proposal_id"),
    "trainings": RecordKey(TrainingRow, ("training_id",), "training_id"),
    "evaluations": RecordKey(EvaluationRow, ("version", "seed_set"), "evaluation_id"),
    # a person's (or the judge's) label of one target: each author's own latest row counts
    "labels": RecordKey(LabelRow, ("target_kind", "target_id", "author"), "label_id"),
}
Row = TypeVar("Row")


def latest_sql(table: str, where: str = "", key: Sequence[str] | None = None) -> str:
    """The newest row per key of ``table`` (rows filtered by ``where`` first); ``key``
    overrides the table's own key (say the target alone, across authors)."""
    spec = KEYS[table]
    parts = ", ".join(key or spec.key)
    order = f"created_at DESC, {spec.id_column} DESC"
    clause = f" WHERE {where}" if where else ""
    return (
        f"SELECT * FROM {table}{clause}\n"
        f"QUALIFY row_number() OVER (PARTITION BY {parts} ORDER BY {order}) = 1"
    )


def history_sql(table: str, where: str = "") -> str:
    """Every row of ``table`` (filtered by ``where``), oldest first, in the same order."""
    spec = KEYS[table]
    clause = f" WHERE {where}" if where else ""
    return f"SELECT * FROM {table}{clause} ORDER BY created_at, {spec.id_column}"


def to_rows(row: type[Row], records: Sequence[Mapping[str, Any]]) -> list[Row]:
    """Typed rows from query records (missing values as None, lists as lists)."""
    names = [f.name for f in dataclasses.fields(row)]  # type: ignore[arg-type]
    return [row(**{n: _plain(r.get(n)) for n in names}) for r in records]


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "tolist") and not isinstance(value, str):
        return value.tolist()
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return value.item()
    return value


def _query(root: Path, table: str, sql: str, params: Sequence[Any]) -> list[Any]:
    def run(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
        cursor = con.execute(sql, list(params))
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]

    return to_rows(KEYS[table].row, query_store(root, run, tables=(table,)))


def _where(**key: Any) -> tuple[str, list[Any]]:
    return " AND ".join(f"{name} = ?" for name in key), list(key.values())


def current(root: Path, table: str, **key: Any) -> list[Any]:
    """The current row of every key of ``table`` (of those matching ``key``), oldest first."""
    where, params = _where(**key)
    sql = f"SELECT * FROM ({latest_sql(table, where)}) ORDER BY created_at"
    return _query(root, table, sql, params)


def history(root: Path, table: str, **key: Any) -> list[Any]:
    """Every row matching ``key``, oldest first."""
    where, params = _where(**key)
    return _query(root, table, history_sql(table, where), params)


def latest(root: Path, table: str, **key: Any) -> Any | None:
    """The newest row matching ``key``, or None."""
    found = history(root, table, **key)
    return found[-1] if found else None
