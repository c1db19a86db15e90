"""Where each run's rows are: compacted parts listed in its manifest, and loose episode folders.

A run's finished episodes are published one folder at a time (``runs/<run>/episodes/<id>/``) and
later compacted into a few larger files (``runs/<run>/parts/<part>/``); the run's
``manifest.json`` lists its parts, the episodes each holds, the schema version and the size of
every file. Readers find files through here instead of opening every footer:

- the loose folders are listed *before* the manifest is read, and a folder whose episode the
  manifest already holds is left out, so one listing names every episode once: a compaction
  writes its manifest before it deletes the folders it merged;
- a file of that listing may still be gone by the time it is read (the compaction finished
  meanwhile): readers then list again (:func:`relocate` for one episode; ``reader.py`` for the
  views), as docs/architecture.md ("Reading while others write") sets out;
- a part file whose size differs from the manifest's is reported as unreadable (with the run and
  episodes it holds) and left out, without opening it.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from automem_core.store.layout import Layout, StoreError, check_id
from automem_core.store.schema import EPISODE_TABLES

MANIFEST = "manifest.json"
MOVE_ATTEMPTS = 5  # fresh listings one read may take while writers keep moving its files
T = TypeVar("T")


class EpisodeChanged(StoreError):
    """The episode was published again (other rows) while it was being read: read it again."""


@dataclass(frozen=True)
class Part:
    """One compacted part: its episodes and, per table, its file's size in bytes."""

    part_id: str
    episodes: tuple[str, ...]
    sizes: dict[str, int]
    version: int  # the schema version its files were written with
    # Per task, the totals of its episodes (store/part_stats.py); None in parts written before.
    task_stats: tuple[dict[str, Any], ...] | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "part_id": self.part_id,
            "episodes": list(self.episodes),
            "sizes": self.sizes,
            "version": self.version,
        }
        if self.task_stats is not None:
            out["task_stats"] = list(self.task_stats)
        return out


@dataclass
class RunFiles:
    """One run's files: the run row, its compacted parts, its loose episode folders."""

    run_id: str
    folder: Path
    parts: list[Part] = field(default_factory=list)
    loose: dict[str, Path] = field(default_factory=dict)  # episode id → published folder

    @property
    def run_file(self) -> Path:
        return self.folder / "run.parquet"

    def part_file(self, part: Part, table: str) -> Path:
        return self.folder / "parts" / part.part_id / f"{table}.parquet"

    def part_ok(self, part: Part, table: str, fetch: bool = True) -> bool:
        """The file is there with the size the manifest recorded (a cheap stat, no open). In a
        mirror, a file its pull left in the store is fetched first (store/remote_lazy.py)
        unless ``fetch`` is off."""
        path = self.part_file(part, table)
        for attempt in (0, 1):
            try:
                if path.stat().st_size == part.sizes.get(table):
                    return True
            except OSError:
                pass
            if attempt or not fetch or not self.fetch([(part, table)]):
                return False
        return False

    def part_held(self, part: Part, table: str) -> bool:
        """The file is here with its size, or (in a mirror) left in the store by its pull: what
        a listing may count as there without fetching it (store/remote_lazy.py)."""
        if self.part_ok(part, table, fetch=False):
            return True
        from automem_core.store.remote_lazy import left_in_store

        return left_in_store(self.folder.parent.parent, table, self.part_file(part, table))

    def fetch(self, wanted: Iterable[tuple[Part, str]]) -> int:
        """In a mirror, fetch the part files ``wanted`` that are not here yet, in one batch;
        how many (0 for a local store). StoreError (one line) when the store cannot give them."""
        from automem_core.store.remote_lazy import fetch_missing

        files = [(self.part_file(p, t), p.sizes[t]) for p, t in wanted if t in p.sizes]
        return fetch_missing(self.folder.parent.parent, files)

    def episodes(self) -> list[str]:
        return [e for p in self.parts for e in p.episodes] + list(self.loose)


def read_manifest(run_folder: Path) -> list[Part]:
    try:
        raw = json.loads((run_folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise StoreError(
            f"{run_folder / MANIFEST} cannot be read ({exc}); restore it or delete the run's "
            "parts/ folder and re-run its episodes"
        ) from None
    return [
        Part(
            p["part_id"],
            tuple(p["episodes"]),
            dict(p["sizes"]),
            int(p["version"]),
            tuple(p["task_stats"]) if "task_stats" in p else None,
        )
        for p in raw.get("parts", [])
    ]


def write_manifest(run_folder: Path, parts: list[Part]) -> None:
    """Replace the manifest atomically (a reader sees the old one or the new one)."""
    tmp = run_folder / f".{MANIFEST}.{uuid.uuid4().hex}.tmp"
    text = json.dumps({"parts": [p.to_json() for p in parts]}, indent=1)
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, run_folder / MANIFEST)


def scan_run(run_folder: Path) -> RunFiles:
    """The run's files now. Loose folders are listed first, then the manifest (see above)."""
    run_folder = Path(run_folder)
    folders = run_folder / "episodes"
    try:
        with os.scandir(folders) as entries:
            names = sorted(e.name for e in entries if not e.name.startswith("."))
    except (FileNotFoundError, NotADirectoryError):
        names = []
    loose = {name: folders / name for name in names}
    parts = read_manifest(run_folder)
    held = {e for p in parts for e in p.episodes}
    kept = {e: p for e, p in loose.items() if e not in held}
    return RunFiles(run_folder.name, run_folder, parts, kept)


def scan(root: Path, run_ids: list[str] | None = None) -> list[RunFiles]:
    """Every run under ``root`` (or only ``run_ids``), sorted by id."""
    runs_dir = Layout(root).runs
    if run_ids is not None:
        names = [n for n in (check_id(r, "run id") for r in run_ids) if (runs_dir / n).is_dir()]
    else:
        try:
            with os.scandir(runs_dir) as entries:
                names = sorted(e.name for e in entries if e.is_dir())
        except FileNotFoundError:
            names = []
    return [scan_run(runs_dir / n) for n in names]


def run_of_episode(root: Path, episode_id: str) -> str | None:
    """The run an episode id belongs to (episode ids are ``<run>.<task>.s<seed>``)."""
    runs_dir = Layout(root).runs
    if not runs_dir.is_dir():
        return None
    candidates = [p.name for p in runs_dir.iterdir() if episode_id.startswith(f"{p.name}.")]
    return max(candidates, key=len) if candidates else None


@dataclass(frozen=True)
class EpisodeFiles:
    """Where one episode's rows are; ``in_part``: the files hold other episodes too, so rows
    must be filtered by episode id. ``token`` changes whenever the episode is republished."""

    episode_id: str
    run_id: str
    files: dict[str, Path]
    in_part: bool
    token: str


def locate_episode(root: Path, episode_id: str, run_id: str | None = None) -> EpisodeFiles:
    """The files of ``episode_id``; StoreError (one line) when it is not in the store."""
    run_id = run_id or run_of_episode(root, episode_id)
    if run_id is not None and Layout(root).run_dir(run_id).is_dir():
        found = _find(scan_run(Layout(root).run_dir(run_id)), episode_id)
        if found is not None:
            return found
    for run in scan(root):  # an id that does not start with its run's id
        found = _find(run, episode_id)
        if found is not None:
            return found
    raise StoreError(f"episode {episode_id!r} is not in {root}; list them with `automem episodes`")


def relocate(found: EpisodeFiles) -> EpisodeFiles | None:
    """Where the episode of ``found`` is now, from a fresh listing of its run (a compaction may
    have moved it into a part, a resume published it again); None when it is gone."""
    run_folder = found.files["episodes"].parents[2]  # <run>/episodes/<id>/ or <run>/parts/<p>/
    return _find(scan_run(run_folder), found.episode_id)


def follow(found: EpisodeFiles, gone: FileNotFoundError | None = None) -> EpisodeFiles:
    """Where the episode is now that a file of ``found`` was ``gone`` (or its folder changed):
    the fresh location, or ``gone`` raised again when nothing moved (the file is missing, not
    moved), or a one-line StoreError when the episode left the store (a damaged part was
    dropped: resuming plays it again)."""
    moved = relocate(found)
    if moved is None:
        raise StoreError(
            f"episode {found.episode_id} is no longer in the store; resuming its run plays it again"
        )
    if moved == found and gone is not None:
        raise gone
    return moved


def is_current(found: EpisodeFiles) -> bool:
    """Whether ``found`` still names the episode's rows: a part's files never change; a loose
    folder does when it is compacted away or published again (one stat)."""
    return found.in_part or _stamp(found.files["episodes"]) == found.token


def read_fresh(found: EpisodeFiles, read: Callable[[EpisodeFiles], T]) -> T:
    """``read(found)``, read again from the episode's new place whenever a writer moved a file
    it needed (``read`` must start from nothing each time: it may run more than once)."""
    for attempt in range(1, MOVE_ATTEMPTS + 1):
        try:
            return read(found)
        except FileNotFoundError as gone:
            if attempt == MOVE_ATTEMPTS:
                raise
            found = follow(found, gone)
    raise AssertionError("unreachable")


def same_rows(before: EpisodeFiles, after: EpisodeFiles) -> bool:
    """Whether ``after`` holds the rows ``before`` held: a compaction moves a loose episode's
    rows into a part unchanged; a new loose folder is a new attempt of the episode."""
    return after.in_part and not before.in_part


def _find(run: RunFiles, episode_id: str) -> EpisodeFiles | None:
    run_id = run.run_id
    folder = run.loose.get(episode_id)
    if folder is not None:
        files = {t: folder / f"{t}.parquet" for t in EPISODE_TABLES}
        return EpisodeFiles(episode_id, run_id, files, False, _stamp(files["episodes"]))
    for part in run.parts:
        if episode_id in part.episodes:
            # A mirror: what its pull left behind; frames when a step's frame is read.
            run.fetch((part, t) for t in EPISODE_TABLES if t != "frames")
            files = {t: run.part_file(part, t) for t in EPISODE_TABLES}
            return EpisodeFiles(episode_id, run_id, files, True, f"part:{part.part_id}")
    return None


def _stamp(path: Path) -> str:
    try:
        return f"loose:{path.stat().st_mtime_ns}"
    except OSError:
        return "loose:-1"
