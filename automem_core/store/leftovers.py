"""What killed writers leave behind, and when it is safe to delete.

Every writer works under a temporary name and renames when done, and every deletion first
renames to a trash name, so a kill leaves only files and folders that no reader takes (their
names start with a dot, or a manifest or a merged file already holds what they hold). They cost
only disk, and are deleted by the next compaction or record merge (``automem compact``); ``automem
upgrade`` lists them first. A leftover is deleted only when it is provably abandoned:

- *trash* (``episodes/.removed-…``, ``episodes/.replaced-…``) is never written or read again once
  renamed, so deleting it is always safe;
- what only a compaction writes (unnamed parts, the manifest's temporary files, folders of
  episodes a part holds) is abandoned whenever the compaction lock is held, and likewise what
  only a record merge writes (``.merged-….parquet.tmp``) under the merge lock; the files a merged
  file replaced are kept for readers until it is ``record_view.HELD_GRACE_S`` old;
- a temporary file an appender, a run or a mirror's fetch writes without a lock
  (``.<stamp>-<hex>.parquet.tmp``, ``.run.parquet.….tmp``, ``.steps.parquet.<hex>.tmp`` in a
  part) is abandoned once nothing has written it for :data:`SAFE_AGE_S`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from automem_core.store import record_view
from automem_core.store.catalog import RunFiles, scan
from automem_core.store.layout import Layout
from automem_core.store.record_view import (
    GENERATION,
    HELD_INDEX,
    MERGED_PREFIX,
    held_by,
    is_record_file,
)

SAFE_AGE_S = 3600.0  # an unlocked writer's temporary file untouched this long is abandoned
TRASH = (".removed-", ".replaced-")
HELD = "records a merged file replaced"
RUN_INDEX_DIR = "index"  # a run's search index (``search/build.py``), beside its parts


@dataclass(frozen=True)
class Leftover:
    """A file or folder a killed writer left; ``young``: it may still be written or read
    (kept for now)."""

    path: Path
    what: str
    young: bool = False


def _young(path: Path, now: float) -> bool:
    try:
        return now - path.stat().st_mtime < SAFE_AGE_S
    except FileNotFoundError:
        return False


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except (FileNotFoundError, NotADirectoryError):
        return []


def run_leftovers(run: RunFiles, now: float | None = None) -> list[Leftover]:
    """A run's leftovers (``run``: its listing, taken under the compaction lock to delete)."""
    now = time.time() if now is None else now
    out: list[Leftover] = []
    held = {e for p in run.parts for e in p.episodes}
    for entry in _entries(run.folder / "episodes"):
        if entry.name.startswith(TRASH):
            out.append(
                Leftover(Path(entry.path), "a folder a killed compaction or run was deleting")
            )
        elif entry.name in held:
            out.append(Leftover(Path(entry.path), "an episode a part holds, not yet deleted"))
        elif not entry.name.startswith(".") and entry.is_dir():
            for inner in _entries(Path(entry.path)):
                if inner.name.startswith(".") and inner.name.endswith(".tmp"):
                    path = Path(inner.path)
                    out.append(Leftover(path, "a killed rewrite's file", _young(path, now)))
    named = {p.part_id for p in run.parts}
    for entry in _entries(run.folder / "parts"):
        if entry.name not in named and not entry.name.startswith(".broken-"):
            out.append(Leftover(Path(entry.path), "a part a killed compaction wrote"))
        elif entry.name in named:  # a mirror's fetch killed half way (store/remote_lazy.py)
            for inner in _entries(Path(entry.path)):
                if inner.name.startswith(".") and inner.name.endswith(".tmp"):
                    path = Path(inner.path)
                    out.append(Leftover(path, "a killed fetch's file", _young(path, now)))
    for entry in _entries(run.folder):
        path = Path(entry.path)
        if entry.name.startswith(".manifest.json.") and entry.name.endswith(".tmp"):
            out.append(Leftover(path, "a manifest a killed compaction wrote"))
        elif entry.name.startswith(".") and entry.name.endswith(".tmp"):
            out.append(Leftover(path, "a run row a killed run wrote", _young(path, now)))
    for entry in _entries(run.folder / RUN_INDEX_DIR):
        if entry.name.startswith(".") and entry.name.endswith(".tmp"):
            path = Path(entry.path)
            out.append(Leftover(path, "a search coverage a killed update wrote", _young(path, now)))
    return out


def record_leftovers(folder: Path, now: float | None = None, young: bool = True) -> list[Leftover]:
    """A record table's leftovers (listed under the merge lock to delete); ``young=False``
    leaves out what is kept for now (a merge's collection, which runs often)."""
    now = time.time() if now is None else now
    out: list[Leftover] = []
    entries = _entries(folder)
    present = {e.name for e in entries}
    for entry in entries:
        name = entry.name
        if not name.startswith((".", MERGED_PREFIX)):  # an append: never a leftover itself
            continue
        path = Path(entry.path)
        if name.startswith((f".{MERGED_PREFIX}", f"{GENERATION}.", f"{HELD_INDEX}.")):
            out.append(Leftover(path, "a record merge killed before it finished"))
        elif name.startswith(".") and name.endswith(".parquet.tmp"):
            out.append(Leftover(path, "an append killed before it finished", _young(path, now)))
        elif name.startswith(MERGED_PREFIX) and is_record_file(name):
            with contextlib.suppress(FileNotFoundError):
                kept = now - path.stat().st_mtime < record_view.HELD_GRACE_S
                if kept and not young:
                    continue
                for held in held_by(path):
                    if held in present:
                        out.append(Leftover(folder / held, HELD, kept))
    return out


def store_leftovers(root: Path) -> list[Leftover]:
    """Every leftover of the store (nothing deleted), for ``automem upgrade`` to list."""
    now = time.time()
    out = [item for run in scan(Path(root)) for item in run_leftovers(run, now)]
    for entry in _entries(Path(root) / "records"):
        out += record_leftovers(Path(entry.path), now)
    return out + index_leftovers(root, now)


def index_leftovers(root: Path, now: float | None = None) -> list[Leftover]:
    """Run indexes (``run_index.py``) that killed readers were writing, and the records'
    search indexes (``search/records.py``) a killed rebuild left beside the live one."""
    now = time.time() if now is None else now
    out = []
    for entry in _entries(Layout(root).run_index.parent):
        path = Path(entry.path)
        if entry.name.startswith(".") and entry.name.endswith(".tmp"):
            out.append(Leftover(path, "a run index a killed reader wrote", _young(path, now)))
        elif entry.name.startswith(".search-") and entry.is_dir():
            out.append(Leftover(path, "a search index a killed rebuild wrote", _young(path, now)))
    return out


def remove_leftovers(leftovers: list[Leftover]) -> int:
    """Delete every leftover that is not young; how many were deleted. Folders go through a
    trash name first, so a kill here leaves trash, never half a folder under a live name."""
    done = 0
    for item in leftovers:
        if item.young:
            continue
        path = item.path
        if path.is_dir():
            if not path.name.startswith(TRASH):
                trash = path.with_name(f".removed-{os.urandom(8).hex()}")
                try:
                    os.rename(path, trash)
                except FileNotFoundError:
                    continue
                path = trash
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        done += 1
    return done
