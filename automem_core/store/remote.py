"""The store on object storage: ``--data s3://bucket/prefix`` (any fsspec URL), kept in a mirror.

Every command works on a local folder. For a URL that folder is its *mirror*
(``$AUTOMEM_CACHE/stores/<hash>/``, default ``~/.cache/automem``), which holds a file
``.remote`` naming the URL; :func:`open_root` turns ``--data`` into that folder, so the rest of
the engine reads and writes local files at local speed, and a local ``--data`` never touches
this module beyond one ``stat``.

Object storage has no rename, so an episode is published in two steps (docs/architecture.md,
"A store on object storage"):

1. its files go under a name no other attempt uses,
   ``attempts/<run>/<episode>/<attempt>/<table>.parquet``, and are never overwritten (kept
   apart from ``runs/`` so that a pull's listing leaves them out);
2. then its commit marker ``runs/<run>/commits/<episode>.json``, naming that attempt and the
   size of each file, is written: one PUT, which a reader sees whole or not at all.

Only then is the episode renamed into place in the writer's mirror. A reader
(``remote_pull.pull``) lists the store once, and for each marker that changed since its last
pull fetches the files of the attempt it names into a temporary folder and renames it into the
mirror: it never sees half an episode, and an episode played again (its marker replaced) is
there once. Run rows, scaffold versions and record files are mirrored as they are, each object
fetched again only when its identity (ETag, else size and time) changed. A run is written by
one process at a time (the lock is the mirror's, on the writer's machine): two machines must
not write one run id at once. A run's manifest (``remote_compact.py``) names the parts
compaction committed; a pull fetches those parts' ``episodes`` tables and skips the markers of
the episodes they hold. A part's other tables are fetched when something first reads them
(``remote_lazy.py``): the mirror holds what was read, not the whole store.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

from automem_core.store.layout import StoreError

REMOTE_FILE = ".remote"  # in a mirror: the URL it mirrors
ATTEMPTS = "attempts"  # in the store: episodes' files, fetched only through their markers
STATE_FILE = ".remote-state.json"  # in a mirror: the identity of each object last fetched
CACHE_ENV = "AUTOMEM_CACHE"
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(text: str) -> bool:
    return bool(_URL.match(text))


def mirror_dir(url: str) -> Path:
    cache = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "automem")
    return cache / "stores" / hashlib.sha256(url.encode()).hexdigest()[:16]


def open_root(text: str | Path) -> Path:
    """``--data`` as the folder commands use: a local path as given; a URL as its mirror."""
    text = str(text)
    if not is_url(text):
        return Path(text)
    url = text.rstrip("/")
    root = mirror_dir(url)
    try:
        root.mkdir(parents=True, exist_ok=True)
        marker = root / REMOTE_FILE
        if not marker.is_file() or marker.read_text(encoding="utf-8") != url:
            write_atomic(marker, url.encode())
    except OSError as exc:
        raise StoreError(
            f"cannot keep the local copy of {url} in {root} ({exc.strerror or exc}); set "
            f"${CACHE_ENV} to a folder you can write"
        ) from None
    return root


def shown_root(root: Path) -> str:
    """How to name the store to a person: its URL when it has one."""
    remote = remote_of(root)
    return remote.url if remote else str(root)


@functools.lru_cache(maxsize=64)
def _remote_at(folder: str) -> Remote | None:
    try:
        url = (Path(folder) / REMOTE_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return Remote(url) if url else None


@functools.lru_cache(maxsize=256)
def _resolved(path: str) -> str:  # absolute paths only: a relative one follows the cwd
    return str(Path(path).resolve())


def remote_of(root: Path) -> Remote | None:
    """The object store ``root`` mirrors; None for a plain local folder."""
    text = str(root)
    return _remote_at(_resolved(text) if os.path.isabs(text) else str(Path(text).resolve()))


class Remote:
    """One store URL and the fsspec file system behind it (credentials from the environment)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._fs: Any = None
        self._base = ""

    @property
    def fs(self) -> Any:
        if self._fs is None:
            try:
                from fsspec.core import url_to_fs
            except ImportError:
                raise StoreError(
                    "a store URL needs fsspec: install the storage extra (pip install -e "
                    "'.[storage]')"
                ) from None
            try:
                # Its own instance: the environment (endpoint, keys) is read now, not reused.
                self._fs, self._base = url_to_fs(self.url, skip_instance_cache=True)
            except (ImportError, ValueError) as exc:
                raise StoreError(f"--data {self.url}: {first_line(exc)}") from None
            self._base = self._base.rstrip("/")
            if hasattr(self._fs, "auto_mkdir"):  # file://: a key's folders are made as written
                self._fs.auto_mkdir = True
        return self._fs

    def key(self, rel: str) -> str:
        self.fs  # noqa: B018  (sets the base)
        return f"{self._base}/{rel}" if self._base else rel

    def upload(self, local: Path, rel: str) -> None:
        self.fs.put_file(str(local), self.key(rel))

    def publish_episode(self, folder: Path, run_id: str, episode_key: str) -> None:
        """Steps 1 and 2 of the module's note for the episode files in ``folder``."""
        attempt = uuid.uuid4().hex
        at = f"{ATTEMPTS}/{run_id}/{episode_key}/{attempt}"
        files = {p.name: p.stat().st_size for p in sorted(folder.glob("*.parquet"))}
        try:
            for name in files:
                self.upload(folder / name, f"{at}/{name}")
            marker = json.dumps({"attempt": attempt, "at": at, "files": files}).encode()
            self.fs.pipe_file(self.key(f"runs/{run_id}/commits/{episode_key}.json"), marker)
        except OSError:
            raise
        except Exception as exc:  # the store's own errors: the episode is not saved
            raise OSError(f"{self.url} refused the episode: {first_line(exc)}") from exc


def publish_file(root: Path, path: Path, source: Path | None = None) -> None:
    """Copy a file written under ``root`` (a run row, a scaffold version's file, a record) to
    the store ``root`` mirrors, as ``path`` (from ``source`` when it is still elsewhere, e.g.
    its temporary name); nothing for a local store. StoreError (one line) when refused."""
    remote = remote_of(root)
    if remote is None:
        return
    rel = path.resolve().relative_to(Path(root).resolve()).as_posix()
    try:
        remote.upload(source or path, rel)
    except StoreError:
        raise
    except Exception as exc:  # the object store's own errors: credentials, network, bucket
        raise StoreError(f"cannot write {remote.url}/{rel}: {first_line(exc)}") from None


def publish_tree(root: Path, folder: Path) -> None:
    """:func:`publish_file` for every file under ``folder``."""
    if remote_of(root) is None:
        return
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        publish_file(root, path)


def read_state(root: Path) -> dict[str, str]:
    try:
        state = json.loads((root / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in state.items()} if isinstance(state, dict) else {}


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
