"""The runs' own rows, read through one index file so that listing runs opens no run file.

Each run keeps its row (settings, status, heartbeat) in ``runs/<run>/run.parquet``, rewritten
(a new file, renamed into place) whenever it changes. Reading a hundred such files costs a
hundred opens; ``data/.index/runs.parquet`` holds every run's row as the current schema has it,
with the identity (inode, size, modification time) of the file it was read from. A reader takes
a run's row from the index only while its file still has that identity (one ``stat``), reads
any other run file afresh, and then rewrites the index (atomically; a reader that cannot write
it just goes on). Nothing in the index is trusted without that check, so it never shows an old
row, and deleting it only costs time.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from automem_core.store.catalog import RunFiles
from automem_core.store.layout import Layout
from automem_core.store.schema import METADATA_KEY, SCHEMA_VERSION, SCHEMAS

log = logging.getLogger(__name__)
_IDENTITY = "_file_identity"  # "inode:size:mtime_ns" of the run file the row was read from


def _identity(path: Path) -> str | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def _load(path: Path) -> dict[str, tuple[str, pa.Table]]:
    """run id → (identity, row) from the index; empty when it is missing, unreadable or of
    another schema version."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException):
        return {}
    if (table.schema.metadata or {}).get(METADATA_KEY) != str(SCHEMA_VERSION).encode():
        return {}
    ids, identities = table["run_id"].to_pylist(), table[_IDENTITY].to_pylist()
    rows = table.drop_columns([_IDENTITY])
    pairs = enumerate(zip(ids, identities, strict=True))
    return {run: (ident, rows.slice(i, 1)) for i, (run, ident) in pairs}


def read_run_rows(
    root: Path, runs: Sequence[RunFiles], read: Callable[[RunFiles], pa.Table | None]
) -> tuple[pa.Table, int]:
    """The rows of ``runs`` (runs without a readable row left out) and how many were read
    afresh with ``read`` (which returns None for a file it cannot use, having said why)."""
    index_path = Layout(root).run_index
    cached = _load(index_path)
    schema = SCHEMAS["runs"]
    rows: list[pa.Table] = []
    identities: list[str] = []
    fresh = 0
    for run in runs:
        identity = _identity(run.run_file)
        if identity is None:
            continue
        hit = cached.get(run.run_id)
        if hit is not None and hit[0] == identity:
            row = hit[1]
        else:
            fresh += 1
            found = read(run)
            if found is None or len(found) != 1:
                continue
            row = found.select(schema.names).cast(schema)
        rows.append(row)
        identities.append(identity)
    table = pa.concat_tables(rows) if rows else schema.empty_table()
    if fresh:
        _save(index_path, table, identities, cached, {r.run_id for r in runs})
    return table, fresh


def _save(
    path: Path,
    table: pa.Table,
    identities: list[str],
    cached: dict[str, tuple[str, pa.Table]],
    seen: set[str],
) -> None:
    """Write the index: the rows just read, and the cached rows of runs not asked about."""
    runs_dir = path.parent.parent / "runs"
    others = [
        (ident, row)
        for run, (ident, row) in cached.items()
        if run not in seen and (runs_dir / run).is_dir()  # a deleted run leaves the index
    ]
    whole = pa.concat_tables([table, *(row for _, row in others)])
    whole = whole.append_column(_IDENTITY, pa.array(identities + [i for i, _ in others]))
    whole = whole.replace_schema_metadata({METADATA_KEY: str(SCHEMA_VERSION).encode()})
    order = pc.sort_indices(whole, [("run_id", "ascending")])
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(whole.take(order), tmp)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only store: the index is only a shortcut
        log.debug("could not write the run index %s: %s", path, exc)
        tmp.unlink(missing_ok=True)
