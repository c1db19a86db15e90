"""Part files a mirror leaves in the store until something reads them.

A pull (``remote_pull.py``) places each compacted part's ``episodes`` table, which listings and
the Overview read, and leaves the part's other tables (steps, frames, memory, ...) in the store:
a mirror holds what was read, not the whole store, so a store larger than this machine's disk
can be browsed. Readers reach part files through ``catalog.RunFiles`` (``part_ok``) or ask for
them in one batch (:func:`fetch_missing`: the views a command builds, one episode's files); a
file not here yet is then fetched and renamed into place whole. A step's frame is read in place
instead (:func:`read_in_place`): its row group, by byte ranges, not the part's frames file. Part
files never change under one name (a new compaction writes a new part), so a fetched file stays
valid for good: the mirror is a cache by object identity.

A file that cannot be fetched is an error of the command (one line), never a part taken for
broken: a compaction in this mirror must not play its episodes again because the network failed.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from automem_core.store.layout import StoreError
from automem_core.store.remote import Remote, first_line, remote_of

EAGER_TABLES = ("episodes",)  # placed by every pull: what listings read
READ_BLOCK = 1 << 20  # bytes per range request when a part file is read in place
T = TypeVar("T")


def is_lazy(table: str) -> bool:
    """Whether a pull leaves this table of a part in the store until it is read."""
    return table not in EAGER_TABLES


class FetchError(StoreError):
    """A part file this mirror's pull left in the store cannot be fetched now."""


def left_in_store(root: Path, table: str, path: Path) -> bool:
    """Whether ``path`` (a part's ``table`` file in ``root``) is one a mirror's pull leaves in
    the store: not here, and fetched when read."""
    return is_lazy(table) and remote_of(root) is not None and not path.exists()


def fetch_missing(root: Path, files: Iterable[tuple[Path, int]]) -> int:
    """Fetch the part files among ``files`` (path in the mirror ``root``, size its manifest
    gives) that are not here with that size, in one batch; how many. Nothing for a local store.
    StoreError (one line) when the store cannot give one of them."""
    remote = remote_of(root)
    if remote is None:
        return 0
    wanted: dict[str, Path] = {}
    for path, size in files:
        try:
            if path.stat().st_size == size:
                continue
        except OSError:
            pass
        rel = _part_key(root, path)
        if rel is not None:  # else not a part file: nothing a pull left behind
            wanted[rel] = Path(path)
    if not wanted:
        return 0
    tmps = {rel: p.with_name(f".{p.name}.{uuid.uuid4().hex}.tmp") for rel, p in wanted.items()}
    try:
        for tmp in tmps.values():
            tmp.parent.mkdir(parents=True, exist_ok=True)
        try:
            remote.fs.get([remote.key(rel) for rel in tmps], [str(t) for t in tmps.values()])
        except FileNotFoundError:
            gone = _first_gone(remote, list(tmps))
            raise FetchError(
                f"{remote.url}/{gone} is missing: the store lost a file of a part its run's "
                "manifest names; play that run's episodes again into a new run, or restore the "
                "file from a copy"
            ) from None
        except StoreError:
            raise
        except Exception as exc:  # the object store's own errors: network, credentials
            raise FetchError(
                f"cannot fetch {len(tmps)} file{'s' if len(tmps) > 1 else ''} from "
                f"{remote.url}: {first_line(exc)}; check the connection and run the command again"
            ) from None
        for rel, tmp in tmps.items():
            os.replace(tmp, wanted[rel])
    finally:
        for tmp in tmps.values():
            tmp.unlink(missing_ok=True)
    return len(wanted)


def read_in_place(path: Path, read: Callable[[Any], T]) -> T:
    """``read`` (pyarrow's reader of a path or a file) on the part file at ``path``: the local
    file, or, where a mirror's pull left it in the store, the store's object read in place by
    byte ranges (a step's frame reads its row group, not the whole file). FetchError (one line)
    when the store cannot give it."""
    found = _in_store(path)
    if found is None:
        return read(str(path))
    remote, rel = found
    try:
        with remote.fs.open(remote.key(rel), "rb", block_size=READ_BLOCK) as fh:
            return read(fh)
    except FileNotFoundError:
        raise FetchError(f"{remote.url}/{rel} is missing: the store lost a file of a part its "
                         "run's manifest names") from None  # fmt: skip
    except Exception as exc:  # the object store's own errors: network, credentials
        raise FetchError(
            f"cannot read {remote.url}/{rel}: {first_line(exc)}; check the connection and try again"
        ) from None


def _in_store(path: Path) -> tuple[Remote, str] | None:
    """(store, key) of a part file a mirror's pull left there; None when it is here."""
    if path.exists() or len(path.parents) <= 4:
        return None
    root = path.parents[4]
    remote = remote_of(root)
    rel = _part_key(root, path) if remote is not None else None
    return (remote, rel) if remote is not None and rel is not None else None


def _part_key(root: Path, path: Path) -> str | None:
    """``path``'s key in the store ``root`` mirrors, when it is a part file
    (``runs/<run>/parts/<part>/<table>.parquet``); None otherwise."""
    rel = Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    bits = rel.split("/")
    return rel if len(bits) == 5 and bits[0] == "runs" and bits[2] == "parts" else None


def _first_gone(remote: Remote, rels: list[str]) -> str:
    remote.fs.invalidate_cache()  # the pull's listing would still name a deleted file
    for rel in rels:
        try:
            if not remote.fs.exists(remote.key(rel)):
                return rel
        except Exception:
            return rel
    return rels[0]
