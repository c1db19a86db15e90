"""A mirror brought up to date with its store on object storage (``remote.py``).

:func:`pull` lists the store (its top level, then each folder but ``attempts/``, side by side)
and fetches only the objects whose identity changed since the last pull: a changed manifest and
the ``episodes`` table of the parts it names first (under the run's compaction lock; a part's
other tables are fetched when first read, ``remote_lazy.py``), then the episodes no part holds,
through their commit markers, each renamed into the mirror whole, then run rows, scaffold
versions and records. What could not be placed is looked at again at the next pull.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from automem_core.store.catalog import MANIFEST
from automem_core.store.layout import StoreError, replace_folder
from automem_core.store.locks import COMPACT_LOCK, try_lock
from automem_core.store.remote import (
    ATTEMPTS,
    STATE_FILE,
    Remote,
    first_line,
    read_state,
    remote_of,
    write_atomic,
)
from automem_core.store.remote_lazy import is_lazy


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
        raise StoreError(f"cannot read {remote.url}: {first_line(exc)}") from None


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
    named_files = [
        (key, root / key[len(base) :].lstrip("/"))
        for run, found in part_files.items()
        for part, key in found
        if part in named.get(run, _named_parts(root, run))
    ]
    # A part's tables but ``episodes`` stay in the store until read (remote_lazy.py).
    wanted = {key: path for key, path in named_files if not is_lazy(path.stem)}
    left = {key for key, path in named_files if is_lazy(path.stem)}
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
    unnamed = [
        key for found in part_files.values() for _, key in found
        if key not in wanted and key not in left
    ]  # fmt: skip
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
