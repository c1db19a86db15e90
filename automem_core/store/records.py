"""Append-only record tables: labels, proposals, exports, trainings and the like.

People and loops add small rows one at a time (a label, an approval, a gate result), from the
dashboard and the CLI at once. Each append is its own small Parquet file, written atomically
under ``data/records/<table>/`` with a unique name, so two writers never collide, a killed writer
leaves every earlier row readable, and nothing is ever overwritten. Rows carry their own time and
author; what is current (the latest label of a decision, the latest state of a proposal) is a
query over all of them.

Many small files are slow to read, so an append that fills a merge level merges it
(``record_merge.py``), and ``automem compact`` merges each table into one file. Readers take a
consistent view of the folder and take a fresh one when a merge deleted a file of theirs
(``record_view.py``), so a merge running at any point never shows a row twice or hides one.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from automem_core.store.layout import StoreError
from automem_core.store.migrations import read_upgraded
from automem_core.store.record_merge import merge_if_due, merge_records
from automem_core.store.record_view import read_view, record_files, records_dir
from automem_core.store.remote import publish_file
from automem_core.store.schema import SCHEMAS, to_table

__all__ = [
    "append_record_tables",
    "append_records",
    "compact_records",
    "read_records",
    "record_files",
    "records_dir",
]
log = logging.getLogger(__name__)


def append_records(root: Path, table: str, rows: Sequence[Any], merge: bool = True) -> Path | None:
    """Append ``rows`` (of ``TABLES[table]``) as one new file; None when there are none."""
    return append_record_tables(root, table, [to_table(table, rows)], merge)[0]


def append_record_tables(
    root: Path, table: str, parts: Iterable[pa.Table], merge: bool = True
) -> tuple[Path | None, int]:
    """Append the rows of ``parts`` (Arrow tables with the table's columns, taken one at a time,
    so millions of rows never sit in memory at once) as one new file; its path (None when there
    were no rows) and how many rows it holds. ``merge``: then merge the table's files when a
    merge level is full (a caller appending many files in a row may merge once at the end)."""
    folder = records_dir(root, table)
    schema = SCHEMAS[table]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    name = f"{stamp}-{uuid.uuid4().hex[:12]}.parquet"
    tmp = folder / f".{name}.tmp"
    writer, rows = None, 0
    try:
        for part in parts:
            if len(part) == 0:
                continue
            if writer is None:
                folder.mkdir(parents=True, exist_ok=True)
                # The first column is the row's own id: unique, so a dictionary only costs time.
                writer = pq.ParquetWriter(tmp, schema, use_dictionary=schema.names[1:])
            writer.write_table(part.select(schema.names).cast(schema))
            rows += len(part)
    except BaseException:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
        raise
    if writer is None:
        return None, 0
    writer.close()
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    try:  # a store on object storage: its copy first, under the same unique name
        publish_file(root, folder / name, source=tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, folder / name)
    if merge:
        _merge_quietly(root, table)
    return folder / name, rows


def _merge_quietly(root: Path, table: str) -> None:
    """A merge after an append: the append is done whatever happens to the merge."""
    try:
        merge_if_due(root, table)
    except (OSError, pa.ArrowException, StoreError) as exc:
        log.warning("could not merge the %s records (they stay readable): %s", table, exc)


def read_records(root: Path, table: str) -> pa.Table:
    """Every row of ``table`` in the order they were appended (empty with the right columns)."""
    schema = SCHEMAS[table]

    def read(files: list[Path]) -> pa.Table:
        if not files:
            return schema.empty_table()
        return pa.concat_tables(
            read_upgraded(table, p).select(schema.names).cast(schema) for p in files
        )

    return read_view(root, table, read)


def compact_records(root: Path, table: str, min_files: int = 2) -> int:
    """Merge all of the table's files into one (when there are at least ``min_files``); how
    many files were merged. Appends made meanwhile are kept; they are merged next time."""
    if len(record_files(root, table)) < min_files:
        return 0
    return merge_records(root, table, full=True)
