"""Append-only record tables: labels, proposals, exports, trainings and the like.

People and loops add small rows one at a time (a label, an approval, a gate result), from the
dashboard and the CLI at once. Each append is its own small Parquet file, written atomically
under ``data/records/<table>/`` with a unique name, so two writers never collide, a killed writer
leaves every earlier row readable, and nothing is ever overwritten. Rows carry their own time and
author; what is current (the latest label of a decision, the latest state of a proposal) is a
query over all of them.

Many small files are slow to read, so :func:`compact_records` merges them into one file whose
footer lists the files it holds; those are then deleted. A reader skips any small file that a
merged file lists, so a compaction killed half-way never shows a row twice or loses one.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from automem_core.store.layout import StoreError
from automem_core.store.locks import try_lock
from automem_core.store.migrations import read_upgraded
from automem_core.store.schema import SCHEMAS, to_table

MERGED_KEY = b"automem.merged"  # in a merged file's metadata: the names of the files it holds
MERGED_PREFIX = "merged-"


def records_dir(root: Path, table: str) -> Path:
    if table not in SCHEMAS:
        raise StoreError(f"unknown record table {table!r}")
    return Path(root) / "records" / table


def append_records(root: Path, table: str, rows: Sequence[Any]) -> Path | None:
    """Append ``rows`` (of ``TABLES[table]``) as one new file; None when there are none."""
    return append_record_tables(root, table, [to_table(table, rows)])[0]


def append_record_tables(
    root: Path, table: str, parts: Iterable[pa.Table]
) -> tuple[Path | None, int]:
    """Append the rows of ``parts`` (Arrow tables with the table's columns, taken one at a time,
    so millions of rows never sit in memory at once) as one new file; its path (None when there
    were no rows) and how many rows it holds."""
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
    os.replace(tmp, folder / name)
    return folder / name, rows


def record_files(root: Path, table: str) -> list[Path]:
    """The files a reader of ``table`` takes: merged files, and small ones none of them holds."""
    folder = records_dir(root, table)
    if not folder.is_dir():
        return []
    files = sorted(p for p in folder.iterdir() if p.suffix == ".parquet")
    merged = [p for p in files if p.name.startswith(MERGED_PREFIX)]
    held: set[str] = set()
    for path in merged:
        held.update(_held_by(path))
    ordered = merged + [p for p in files if p not in merged]  # merged rows are the older ones
    return [p for p in ordered if p.name not in held]


def _held_by(path: Path) -> list[str]:
    meta = pq.read_metadata(path).metadata or {}
    return list(json.loads(meta.get(MERGED_KEY, b"[]")))


def read_records(root: Path, table: str) -> pa.Table:
    """Every row of ``table`` in the order they were appended (empty with the right columns)."""
    files = record_files(root, table)
    schema = SCHEMAS[table]
    if not files:
        return schema.empty_table()
    return pa.concat_tables(
        read_upgraded(table, p).select(schema.names).cast(schema) for p in files
    )


def compact_records(root: Path, table: str, min_files: int = 16) -> int:
    """Merge the table's files into one (when there are at least ``min_files``); how many
    files were merged. Appends made meanwhile are kept; they are merged next time."""
    folder = records_dir(root, table)
    if not folder.is_dir():
        return 0
    with try_lock(folder / ".merge.lock") as mine:
        if not mine:
            return 0
        files = record_files(root, table)
        if len(files) < min_files:
            return 0
        rows = read_records(root, table)
        held = sorted({n for p in files for n in [p.name, *_held_by(p)]})
        name = f"{MERGED_PREFIX}{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}.parquet"
        tmp = folder / f".{name}.tmp"
        meta = {**(rows.schema.metadata or {}), MERGED_KEY: json.dumps(held).encode()}
        pq.write_table(rows.replace_schema_metadata(meta), tmp, compression="zstd")
        if len(pq.read_table(tmp)) != len(rows):
            tmp.unlink()
            raise OSError(f"{tmp} did not read back whole; nothing was merged")
        os.replace(tmp, folder / name)  # from here on, readers skip the files it holds
        for path in files:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return len(files)
