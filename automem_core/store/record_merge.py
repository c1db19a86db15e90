"""Merging a record table's files, so that reading it stays fast however many appends it had.

Each append is a file of its own (``records.py``); a table labelled a hundred thousand times would
take a hundred thousand opens to read. A merge reads a set of files, writes their rows into one
new file whose footer names them, renames it into place, bumps the folder's generation
(``record_view.py``) and deletes them. It holds the table's merge lock throughout, so merges never
overlap, while appends and readers go on:

- the files merged are exactly those of one listing taken under the lock: an append made after it
  is neither read nor deleted (it is merged next time);
- a merge killed before its rename leaves a ``.merged-….parquet.tmp`` that no reader takes; after
  it, the files it replaced are named in its footer, so readers skip them. They stay a minute for
  readers that listed them before (``record_view.HELD_GRACE_S``); then a later merge deletes them,
  a merged file only after the files it holds, so a kill while deleting never uncovers a file
  whose rows are elsewhere. A merged file only ever names the files it read itself.

Merges run on their own: after an append, when :data:`FANIN` files of one level are there, they
are merged into one file of the next level (appends are level 0; the level is in the merged
file's name), so each row is rewritten once per level, about log(appends) / log(FANIN) times,
and an append's merge stays small. Files over :data:`AUTO_MAX_BYTES` (a mining batch of millions
of decisions) are left to ``automem compact``, which merges each table into one file (in rounds of
at most :data:`MAX_HELD` files, so that no footer grows with the number of appends).
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from automem_core.store.layout import StoreError
from automem_core.store.leftovers import HELD, record_leftovers, remove_leftovers
from automem_core.store.locks import try_lock
from automem_core.store.migrations import needs_upgrade, upgrade_table
from automem_core.store.record_view import (
    GENERATION,
    HELD_INDEX,
    MERGED_KEY,
    MERGED_PREFIX,
    generation,
    held_names,
    is_record_file,
    list_records,
    records_dir,
    stamp_of,
)
from automem_core.store.schema import METADATA_KEY, SCHEMAS

log = logging.getLogger(__name__)
FANIN = 16  # files of one level merged together on their own
AUTO_MAX_BYTES = 64 * 1024 * 1024  # larger files are merged only by `automem compact`
BATCH_ROWS = 65_536
MAX_HELD = 256  # files one merge takes at most: its footer names each (a full merge goes in rounds)


def level_of(name: str) -> int:
    """A file's merge level: 0 for an append, ``n`` for ``merged-<stamp>-L<n>-<hex>.parquet``
    (1 for merged files named before levels)."""
    if not name.startswith(MERGED_PREFIX):
        return 0
    parts = name.removesuffix(".parquet").split("-")
    found = [p[1:] for p in parts if p.startswith("L") and p[1:].isdigit()]
    return int(found[0]) if found else 1


def _due(sizes: dict[Path, int]) -> list[Path]:
    """The files of the lowest level that holds FANIN of them (none: nothing is due)."""
    levels: dict[int, list[Path]] = defaultdict(list)
    for path, size in sizes.items():
        if size < AUTO_MAX_BYTES:
            levels[level_of(path.name)].append(path)
    for level in sorted(levels):
        if len(levels[level]) >= FANIN:
            return sorted(levels[level], key=lambda p: (stamp_of(p.name), p.name))
    return []


def merge_if_due(root: Path, table: str) -> int:
    """Merge ``table``'s files where a level is full (the check costs one listing, one small
    read and a stat per file that no merge replaced yet); how many files were merged."""
    folder = records_dir(root, table)
    held = _held_index(folder)
    sizes: dict[Path, int] = {}
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name not in held and is_record_file(entry.name):  # most are held
                    sizes[Path(entry.path)] = entry.stat().st_size
    except FileNotFoundError:
        return 0
    if not _due(sizes):
        return 0
    return merge_records(root, table)


def merge_records(root: Path, table: str, full: bool = False) -> int:
    """Merge ``table``'s files: every full level, or (``full``) all of them into one; how many
    files were merged (0 when another process is merging the table)."""
    folder = records_dir(root, table)
    if not folder.is_dir():
        return 0
    with try_lock(folder / ".merge.lock") as mine:
        if not mine:
            return 0
        _collect(folder)  # what earlier merges replaced (past their grace), what killed ones left
        merged = 0
        while True:
            files = list_records(folder)  # no other merge runs: this listing is the set
            chosen = files if full else _due({p: p.stat().st_size for p in files})
            if len(chosen) < 2:
                _collect(folder)
                _write_held_index(folder)
                return merged
            for start in range(0, len(chosen), MAX_HELD):  # so no footer names too many
                if len(chosen[start : start + MAX_HELD]) > 1:
                    _merge(folder, table, chosen[start : start + MAX_HELD])
            merged += len(chosen) if not (full and merged) else 0  # a round's outputs: not new
            if full and len(chosen) <= MAX_HELD:
                _collect(folder)
                _write_held_index(folder)
                return merged


_HELD_INDEXES: dict[tuple[str, int, int], set[str]] = {}  # the last note read, by identity


def _held_index(folder: Path) -> set[str]:
    """The names merged files held when the last merge ended (empty when unknown). It only
    spares :func:`merge_if_due` the footers: a name missing from it makes a merge look due, and
    the merge reads the footers; a name in it is never a new file's (names are unique)."""
    path = folder / HELD_INDEX
    try:
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        known = _HELD_INDEXES.get(key)  # one read: another thread may clear it meanwhile
        if known is not None:
            return known
        names = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    held = {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()
    _HELD_INDEXES.clear()  # one folder's at a time: appends go to one table after another
    _HELD_INDEXES[key] = held
    return held


def _write_held_index(folder: Path) -> None:
    """Note the names the folder's merged files hold (under the merge lock: none goes)."""
    with os.scandir(folder) as entries:
        held = held_names(folder, [e.name for e in entries if is_record_file(e.name)])
    tmp = folder / f"{HELD_INDEX}.{uuid.uuid4().hex}.tmp"
    tmp.write_text(json.dumps(sorted(held)), encoding="utf-8")
    os.replace(tmp, folder / HELD_INDEX)


def _collect(folder: Path) -> None:
    """Delete what is past keeping: files merged files replaced a grace period ago (after a new
    generation, lowest level first, so a merged file goes only after what it holds), and what
    killed merges and appends left."""
    gone = [item for item in record_leftovers(folder, young=False) if not item.young]
    held = sorted((i for i in gone if i.what == HELD), key=lambda i: level_of(i.path.name))
    if held:
        _bump(folder)
    remove_leftovers(held + [i for i in gone if i.what != HELD])


def _parts(table: str, path: Path) -> Iterator[pa.Table]:
    """A file's rows in the current schema (one open): streamed when it is current, else
    upgraded whole."""
    source = pq.ParquetFile(path)
    raw = (source.metadata.metadata or {}).get(METADATA_KEY, b"0")
    version = int(raw) if raw.isdigit() else 0
    if needs_upgrade(table, version):
        yield upgrade_table(table, source.read(), version, path)
        return
    if source.metadata.num_rows <= BATCH_ROWS:  # most are one append's few rows
        yield source.read()
        return
    for batch in source.iter_batches(BATCH_ROWS):
        yield pa.Table.from_batches([batch])


def _merge(folder: Path, table: str, files: list[Path]) -> None:
    """Write the rows of ``files`` (in order) into one merged file and rename it into place
    (``files`` are deleted later, by :func:`_collect`)."""
    schema = SCHEMAS[table]
    held = json.dumps([p.name for p in files]).encode()
    schema = schema.with_metadata({**(schema.metadata or {}), MERGED_KEY: held})
    level = 1 + max(level_of(p.name) for p in files)
    name = f"{MERGED_PREFIX}{stamp_of(files[0].name)}-L{level}-{uuid.uuid4().hex[:8]}.parquet"
    tmp = folder / f".{name}.tmp"
    rows = 0
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            pending: list[pa.Table] = []  # small files' rows gathered into full row groups
            waiting = 0
            for path in files:
                for part in _parts(table, path):
                    pending.append(part.select(schema.names).cast(schema))
                    rows, waiting = rows + len(part), waiting + len(part)
                    if waiting >= BATCH_ROWS:
                        writer.write_table(pa.concat_tables(pending), row_group_size=BATCH_ROWS)
                        pending, waiting = [], 0
            if pending:
                writer.write_table(pa.concat_tables(pending), row_group_size=BATCH_ROWS)
        read_back = sum(len(b) for b in pq.ParquetFile(tmp).iter_batches(BATCH_ROWS))
        if read_back != rows:
            raise OSError(f"{tmp} did not read back whole ({read_back} of {rows} rows)")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, folder / name)  # from here on, readers skip the files it holds
    log.info("merged %d %s files (%d rows) into %s", len(files), table, rows, name)


def _bump(folder: Path) -> None:
    """A new generation: a reader whose listing spans the deletions that follow lists again."""
    current = generation(folder)
    value = int(current) + 1 if current.isdigit() else 1
    tmp = folder / f"{GENERATION}.{uuid.uuid4().hex}.tmp"
    tmp.write_text(str(value), encoding="utf-8")
    os.replace(tmp, folder / GENERATION)


def merge_all_records(root: Path) -> dict[str, int]:
    """Merge every record table of the store into one file each; table → files merged."""
    base = Path(root) / "records"
    names = sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
    done = {}
    for name in names:
        if name not in SCHEMAS:
            continue
        try:
            done[name] = merge_records(root, name, full=True)
        except (OSError, pa.ArrowException, StoreError) as exc:  # the files stay as they were
            log.warning("could not merge the %s records: %s", name, exc)
    return {name: n for name, n in done.items() if n}
