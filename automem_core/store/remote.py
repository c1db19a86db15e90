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

Only then is the episode renamed into place in the writer's mirror. A reader (:func:`pull`)
lists the store once, and for each marker that changed since its last pull fetches the files of
the attempt it names into a temporary folder and renames it into the mirror: it never sees half
an episode, and an episode played again (its marker replaced) is there once. Run rows, scaffold
versions and record files are mirrored as they are, each object fetched again only when its
identity (ETag, else size and time) changed. A run is written by one process at a time (the
lock is the mirror's, on the writer's machine): two machines must not write one run id at once.
A run's manifest (``remote_compact.py``) names the parts compaction committed; a pull fetches
those parts and skips the markers of the episodes they hold.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

from automem_core.store.catalog import MANIFEST
from automem_core.store.layout import StoreError, replace_folder
from automem_core.store.locks import COMPACT_LOCK, try_lock

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


def remote_of(root: Path) -> Remote | None:
    """The object store ``root`` mirrors; None for a plain local folder."""
    return _remote_at(str(Path(root).resolve()))


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
                raise StoreError(f"--data {self.url}: {_first_line(exc)}") from None
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
            raise OSError(f"{self.url} refused the episode: {_first_line(exc)}") from exc


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
        raise StoreError(f"cannot write {remote.url}/{rel}: {_first_line(exc)}") from None


def publish_tree(root: Path, folder: Path) -> None:
    """:func:`publish_file` for every file under ``folder``."""
    if remote_of(root) is None:
        return
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        publish_file(root, path)


def pull(root: Path) -> int:
    """Bring the mirror ``root`` up to date with its store; how many objects were fetched.
    One listing, then only what changed since the last pull. StoreError (one line) when the
    store cannot be read."""
    remote = remote_of(root)
    if remote is None:
        return 0
    try:
        return _pull(remote, Path(root))
    except StoreError:
        raise
    except Exception as exc:  # the object store's own errors: credentials, network, bucket
        raise StoreError(f"cannot read {remote.url}: {_first_line(exc)}") from None


def _pull(remote: Remote, root: Path) -> int:
    fs, base = remote.fs, remote.key("")
    fs.invalidate_cache()
    listing = _list(fs, base)
    if not listing:
        top = base.split("/")[0]
        if top != base and not fs.exists(top):  # a bucket (or container) that is not there
            raise StoreError(f"cannot read {remote.url}: {top} does not exist or is not yours")
        return 0  # an empty store: nothing written yet
    state = read_state(root)
    seen: dict[str, str] = {}
    markers: list[tuple[str, str]] = []  # (run, episode) whose commit marker changed
    manifests: list[str] = []  # runs whose manifest changed
    part_files: dict[str, list[tuple[str, str]]] = {}  # run → (part, key) of changed part files
    files: dict[str, Path] = {}  # other changed objects: key → where in the mirror
    for key, info in sorted(listing.items()):
        rel = key[len(base) :].lstrip("/")
        if not rel or rel.split("/")[0].startswith("."):
            continue
        stamp = _identity(info)
        seen[rel] = stamp
        if state.get(rel) == stamp:
            continue
        parts = rel.split("/")
        if len(parts) == 4 and parts[0] == "runs" and parts[2] == "commits":
            markers.append((parts[1], parts[3].removesuffix(".json")))
        elif len(parts) >= 3 and parts[0] == "runs" and parts[2] == "episodes":
            continue  # an attempt's files as stores kept them before ``attempts/``
        elif parts[0] == "runs" and parts[2:] == [MANIFEST]:
            manifests.append(parts[1])
        elif len(parts) == 5 and parts[0] == "runs" and parts[2] == "parts":
            part_files.setdefault(parts[1], []).append((parts[3], key))
        else:
            files[key] = root / rel
    # Compacted runs (remote_compact.py): a changed manifest and the part files it names are
    # placed first (parts before the manifest); then the markers of episodes no part in the
    # mirror holds are fetched; unnamed parts are not.
    fresh = _read_manifests(remote, manifests)
    named = {run: {str(p["part_id"]) for p in fresh[run].get("parts", [])} for run in fresh}
    wanted = {
        key: root / key[len(base) :].lstrip("/")
        for run, found in part_files.items()
        for part, key in found
        if part in named.get(run, _named_parts(root, run))
    }
    by_run: dict[str, dict[str, Path]] = {run: {} for run in fresh}
    for key, path in wanted.items():
        by_run.setdefault(path.relative_to(root).parts[1], {})[key] = path
    fetched, later = 0, set()  # later: looked at again at the next pull
    for run, run_files in by_run.items():
        placed = _place_parts(fs, root, run, run_files, fresh.get(run))
        if placed is None:  # this mirror is compacting the run: its parts come next pull
            later |= {p.relative_to(root).as_posix() for p in run_files.values()}
            later.add(f"runs/{run}/{MANIFEST}")
        fetched += placed or 0
    held = {run: _held(root, run) for run in {r for r, _ in markers}}
    episodes = [(r, e) for r, e in markers if e not in held[r]]
    # Episodes before the other files: a run's row (finished, so many episodes) never shows
    # before them.
    got, missed = _fetch_episodes(remote, root, episodes)
    later |= {f"runs/{r}/commits/{e}.json" for r, e in missed}
    later |= {f"runs/{r}/commits/{e}.json" for r, e in markers if e in held[r]}
    fetched += got + _fetch_files(fs, files)
    unnamed = [key for found in part_files.values() for _, key in found if key not in wanted]
    later |= {key[len(base) :].lstrip("/") for key in unnamed}
    kept = {rel: stamp for rel, stamp in seen.items() if rel not in later}
    write_atomic(root / STATE_FILE, json.dumps(kept).encode())
    return fetched


def _place_parts(
    fs: Any, root: Path, run: str, files: dict[str, Path], manifest: dict[str, Any] | None
) -> int | None:
    """Fetch a run's new part files, then write the manifest naming them, holding the run's
    compaction lock (a compaction in this mirror would take an unnamed part for a killed one's
    leftover); how many objects, or None when a compaction holds the lock."""
    folder = root / "runs" / run
    folder.mkdir(parents=True, exist_ok=True)
    with try_lock(folder / COMPACT_LOCK) as mine:
        if not mine:
            return None
        placed = _fetch_files(fs, files)
        if manifest is not None:
            write_atomic(folder / MANIFEST, json.dumps(manifest, indent=1).encode())
        return placed + (manifest is not None)


def _list(fs: Any, base: str) -> dict[str, dict[str, Any]]:
    """Every object of the store but the attempts' files: its top level, then each folder in it
    but ``attempts/`` (side by side where the file system is asynchronous, as object stores'
    are). The number of requests follows the objects listed, not the episodes' files."""
    try:
        top = fs.ls(base, detail=True)
    except FileNotFoundError:
        return {}
    listing = {info["name"]: info for info in top if info["type"] != "directory"}
    folders = [
        folder
        for folder in (info["name"].rstrip("/") for info in top if info["type"] == "directory")
        if folder.rsplit("/", 1)[-1] != ATTEMPTS and not folder.rsplit("/", 1)[-1].startswith(".")
    ]
    if getattr(fs, "async_impl", False) and folders:
        from fsspec.asyn import sync

        found = sync(fs.loop, _find_all, fs, folders)
    else:
        found = [fs.find(folder, detail=True) for folder in folders]
    for objects in found:
        listing.update(objects)
    return listing


async def _find_all(fs: Any, folders: list[str]) -> list[dict[str, dict[str, Any]]]:
    import asyncio

    return list(await asyncio.gather(*(fs._find(f, detail=True) for f in folders)))


def _read_manifests(remote: Remote, runs: list[str]) -> dict[str, dict[str, Any]]:
    """The changed manifests of ``runs``, read in one batch."""
    if not runs:
        return {}
    keys = {remote.key(f"runs/{run}/{MANIFEST}"): run for run in runs}
    found = remote.fs.cat(list(keys))
    return {keys[key]: json.loads(data) for key, data in found.items()}


def _held(root: Path, run: str) -> set[str]:
    """Episodes the run's parts hold, by the mirror's manifest."""
    try:
        manifest = json.loads((root / "runs" / run / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return {str(e) for p in manifest.get("parts", []) for e in p["episodes"]}


def _named_parts(root: Path, run: str) -> set[str]:
    try:
        manifest = json.loads((root / "runs" / run / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return {str(p["part_id"]) for p in manifest.get("parts", [])}


def _get_many(fs: Any, pairs: dict[str, Path]) -> None:
    """Download every key to its path in one batch: an object store's file system fetches
    them concurrently (fsspec's async batch), any other one by one."""
    if pairs:
        fs.get(list(pairs), [str(p) for p in pairs.values()])


def _fetch_files(fs: Any, files: dict[str, Path]) -> int:
    """Run rows, records, versions: each to a temporary name, then renamed into place."""
    tmps = {key: t.with_name(f".{t.name}.{uuid.uuid4().hex}.tmp") for key, t in files.items()}
    for tmp in tmps.values():
        tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        _get_many(fs, tmps)
        for key, target in files.items():
            os.replace(tmps[key], target)
    finally:
        for tmp in tmps.values():
            tmp.unlink(missing_ok=True)
    return len(files)


def _fetch_episodes(
    remote: Remote, root: Path, episodes: list[tuple[str, str]]
) -> tuple[int, set[tuple[str, str]]]:
    """The attempts the commit markers name (markers read in one batch, files in another),
    each renamed into the mirror whole: (objects fetched, episodes not fetched because their
    marker or one of its files is gone since the listing)."""
    if not episodes:
        return 0, set()
    fs = remote.fs
    markers = {remote.key(f"runs/{r}/commits/{e}.json"): (r, e) for r, e in episodes}
    commits = fs.cat(list(markers), on_error="return")
    missed = {markers[m] for m in markers if not isinstance(commits.get(m), bytes)}
    plans: dict[tuple[str, str], tuple[Path, dict[str, Path]]] = {}  # → (folder, files)
    try:
        for marker, (run_id, episode_key) in markers.items():
            if (run_id, episode_key) in missed:
                continue
            commit = json.loads(commits[marker])
            # Dot-named: no listing of the mirror takes it (catalog.scan_run) until renamed.
            name = f".pull-{episode_key}.{uuid.uuid4().hex[:8]}"
            tmp = root / "runs" / run_id / "episodes" / name
            tmp.mkdir(parents=True)
            at = commit.get("at") or f"runs/{run_id}/episodes/{episode_key}/{commit['attempt']}"
            files = {remote.key(f"{at}/{name}"): tmp / name for name in dict(commit["files"])}
            plans[(run_id, episode_key)] = (tmp, files)
        try:
            _get_many(fs, {k: p for _, files in plans.values() for k, p in files.items()})
        except FileNotFoundError:  # a file deleted since its marker was read: one by one
            for episode, (_, files) in plans.items():
                try:
                    _get_many(fs, files)
                except FileNotFoundError:
                    missed.add(episode)
        for episode, (tmp, _) in plans.items():
            if episode not in missed:  # an earlier attempt of the episode: replaced
                replace_folder(tmp, tmp.parent / episode[1])
    finally:
        for tmp, _ in plans.values():
            shutil.rmtree(tmp, ignore_errors=True)
    fetched = [files for episode, (_, files) in plans.items() if episode not in missed]
    return sum(len(f) for f in fetched) + len(markers) - len(missed), missed


def _identity(info: dict[str, Any]) -> str:
    etag = info.get("ETag") or info.get("etag")
    if etag:
        return str(etag)
    return (
        f"{info.get('size')}:{info.get('LastModified') or info.get('mtime') or info.get('created')}"
    )


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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
