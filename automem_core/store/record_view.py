"""The files a reader of a record table takes: one consistent view of ``records/<table>/``.

A record table's folder holds files appended one at a time (``<stamp>-<hex>.parquet``) and merged
files (``merged-<stamp>-<hex>.parquet``) whose footer names the files each replaced
(``record_merge.py``). A view is a listing of the folder with every file a merged file names left
out: each committed row is in exactly one file of it.

A merge renames its merged file into place; the files it replaced are deleted only once the
merged file is :data:`HELD_GRACE_S` old, by a later merge, which first bumps the folder's
``.generation``. A listing taken while the generation stayed the same is therefore consistent: no
file was deleted while it was taken, or the merged file holding it was there before it began.
Reading the files of a view either succeeds (files never change once named; a view's files stay
for a minute after a merge replaced them, so a reader is not starved by merges that follow one
another) or finds one gone, and then a fresh view is taken (docs/architecture.md, "Reading while
others write").
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pyarrow.parquet as pq

from automem_core.store.layout import StoreError
from automem_core.store.schema import SCHEMAS

MERGED_KEY = b"automem.merged"  # in a merged file's metadata: the names of the files it holds
MERGED_PREFIX = "merged-"
GENERATION = ".generation"  # bumped before a merge deletes files another merge replaced
HELD_INDEX = ".held.json"  # the names merged files hold, as the last merge left them
HELD_GRACE_S = 60.0  # how long the files a merged file replaced stay for readers that listed them
VIEW_ATTEMPTS = 20  # fresh views one read may take while merges keep replacing files
T = TypeVar("T")


def records_dir(root: Path, table: str) -> Path:
    if table not in SCHEMAS:
        raise StoreError(f"unknown record table {table!r}")
    return Path(root) / "records" / table


def generation(folder: Path) -> str:
    """The folder's merge generation ("" before its first merge)."""
    try:
        return (folder / GENERATION).read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


_HELD_CACHE: dict[tuple[str, int, int], list[str]] = {}
_HELD_CACHE_MAX = 8192


def held_by(path: Path) -> list[str]:
    """The names of the files a merged file replaced (from its footer, read once per process:
    a named file never changes)."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    names = _HELD_CACHE.get(key)
    if names is None:
        meta = pq.read_metadata(path).metadata or {}
        names = list(json.loads(meta.get(MERGED_KEY, b"[]")))
        if len(_HELD_CACHE) >= _HELD_CACHE_MAX:
            _HELD_CACHE.clear()
        _HELD_CACHE[key] = names
    return list(names)


def held_names(folder: Path, names: list[str]) -> set[str]:
    """The names the merged files among ``names`` (files of ``folder``) hold.
    FileNotFoundError when one of them went meanwhile."""
    held: set[str] = set()
    for name in names:
        if name.startswith(MERGED_PREFIX):
            held.update(held_by(folder / name))
    return held


def stamp_of(name: str) -> str:
    """The time a file's rows start at, from its name: an append's own stamp, a merged file's
    earliest (so that files sort in the order their rows were appended)."""
    return name.removeprefix(MERGED_PREFIX).removesuffix(".parquet").split("-")[0]


def is_record_file(name: str) -> bool:
    return name.endswith(".parquet") and not name.startswith(".")


def list_records(folder: Path) -> list[Path]:
    """One listing: the files of the folder that no merged file of it holds, oldest rows first.
    FileNotFoundError when a merged file went while it was listed."""
    try:
        with os.scandir(folder) as entries:
            names = [e.name for e in entries if is_record_file(e.name)]
    except (FileNotFoundError, NotADirectoryError):
        return []
    held = held_names(folder, names)
    kept = [n for n in names if n not in held]
    return [folder / n for n in sorted(kept, key=lambda n: (stamp_of(n), n))]


def record_files(root: Path, table: str) -> list[Path]:
    """The files a reader of ``table`` takes: a consistent view (see the module's note)."""
    folder = records_dir(root, table)
    for attempt in range(VIEW_ATTEMPTS):
        before = generation(folder)
        try:
            files = list_records(folder)
        except FileNotFoundError:
            files = None
        if files is not None and generation(folder) == before:
            return files
        time.sleep(0.002 * attempt)  # a merge is deleting: let it finish
    raise StoreError(
        f"the {table} records kept changing while they were listed ({VIEW_ATTEMPTS} tries); "
        "read them again"
    )


def read_view(root: Path, table: str, read: Callable[[list[Path]], T]) -> T:
    """``read`` on a view of ``table``'s files; on a fresh view whenever a file of it went."""
    for attempt in range(1, VIEW_ATTEMPTS + 1):
        try:
            return read(record_files(root, table))
        except FileNotFoundError:
            if attempt == VIEW_ATTEMPTS:
                raise
            time.sleep(0.002 * attempt)
    raise AssertionError("unreachable")
