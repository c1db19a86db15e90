"""What answers a query for one run: its index for the episodes it holds as they are now, and a
scan of every other episode, with a note saying why and how to make it fast again.

A scan reads the episodes' rows and indexes them in memory with the same documents
(``documents.py``), so a scanned episode answers a query exactly as an indexed one would. Opened
indexes are kept per process and opened again whenever their files change.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import tantivy

from automem_core.scaffold.value import version_name
from automem_core.search.build import (
    COVERAGE,
    READ_ERRORS,
    documents_of,
    episode_tokens,
    index_dir,
    open_index,
    read_coverage,
)
from automem_core.search.fields import schema
from automem_core.store.catalog import RunFiles
from automem_core.store.migrations import read_upgraded

log = logging.getLogger(__name__)
SCAN_HEAP_BYTES = 64_000_000
FIX = "`automem upgrade` builds it"


@dataclass
class Searchable:
    """One tantivy searcher and what to leave out of its answers."""

    searcher: tantivy.Searcher
    run_id: str | None  # None: the store's records
    exclude: tuple[str, ...] = ()  # episodes whose documents here are not current
    episodes: dict[int, str] = field(default_factory=dict)  # episode number → id
    scanned: bool = False  # built in memory for this query


@dataclass(frozen=True)
class RunInfo:
    """A run's own properties: the same for every document of its index."""

    run_id: str
    game: str
    version: str
    seed_set: str

    def props(self) -> dict[str, str]:
        return {
            "run_id": self.run_id,
            "game": self.game,
            "version": self.version,
            "seed_set": self.seed_set,
        }


@functools.lru_cache(maxsize=4096)
def _run_info(path: str, stamp: int) -> tuple[str, str, str] | None:
    try:
        row = read_upgraded("runs", Path(path)).to_pylist()[0]
    except READ_ERRORS:
        return None
    version = version_name(str(row["scaffold_id"]), str(row["scaffold_hash"]))
    return str(row["game"]), version, str(row.get("seed_set") or "")


def run_info(run: RunFiles) -> RunInfo | None:
    """The run's game, scaffold version and seed set (None: its row cannot be read)."""
    try:
        stamp = run.run_file.stat().st_mtime_ns
    except OSError:
        return None
    found = _run_info(str(run.run_file), stamp)
    return RunInfo(run.run_id, *found) if found else None


_OPEN: dict[str, tuple[tuple[int, int], tantivy.Searcher]] = {}
_LOCK = threading.Lock()


def _stamp(folder: Path) -> tuple[int, int]:
    return (
        (folder / "tantivy" / "meta.json").stat().st_mtime_ns,
        (folder / COVERAGE).stat().st_mtime_ns,
    )


def cached_searcher(folder: Path) -> tantivy.Searcher:
    """A searcher of the index in ``folder``, opened again when its files changed."""
    stamp = _stamp(folder)
    key = str(folder)
    with _LOCK:
        held = _OPEN.get(key)
        if held is not None and held[0] == stamp:
            return held[1]
    searcher = open_index(folder / "tantivy").searcher()
    with _LOCK:
        _OPEN[key] = (stamp, searcher)
    return searcher


def forget_indexes() -> None:
    with _LOCK:
        _OPEN.clear()


def scan_episodes(run: RunFiles, episodes: Iterable[str]) -> tuple[Searchable, list[str]]:
    """The episodes read from the store and indexed in memory; those that cannot be read."""
    wanted = sorted(episodes)
    numbers = {e: i for i, e in enumerate(wanted)}
    index = tantivy.Index(schema())
    writer = index.writer(heap_size=SCAN_HEAP_BYTES, num_threads=1)
    unreadable = []
    for episode_id, docs in documents_of(run, set(wanted), numbers):
        if docs is None:
            unreadable.append(episode_id)
            continue
        for doc in docs:
            writer.add_document(doc)
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    found = Searchable(index.searcher(), run.run_id, (), {i: e for e, i in numbers.items()}, True)
    return found, unreadable


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _its(n: int) -> str:
    return "its episode was" if n == 1 else f"its {n} episodes were"


def open_run(run: RunFiles) -> tuple[list[Searchable], list[str]]:
    """What answers a query over ``run`` now, and the notes a reader should see."""
    tokens = episode_tokens(run)
    folder = index_dir(run.folder)
    coverage = read_coverage(run.folder)
    out: list[Searchable] = []
    current: set[str] = set()
    why = ""
    if coverage is None:
        why = "has no search index" if not (folder / COVERAGE).exists() else (
            "has a search index of another version")  # fmt: skip
    else:
        try:
            searcher = cached_searcher(folder)
        except (ValueError, OSError) as exc:
            why = f"has a search index that cannot be read ({str(exc).splitlines()[0][:80]})"
        else:
            pending = set(coverage.pending)
            current = {
                e for e, t in tokens.items() if coverage.episodes.get(e) == t and e not in pending
            }
            # every episode not answered from the index is kept out of its answers, including
            # one an update committed after the coverage above was read (it is scanned below)
            stale = sorted((set(coverage.episodes) | pending | set(tokens)) - current)
            numbers = {n: e for e, n in coverage.numbers.items()}
            out.append(Searchable(searcher, run.run_id, tuple(stale), numbers))
    missing = sorted(set(tokens) - current)
    notes = []
    if missing:
        scan, unreadable = scan_episodes(run, missing)
        out.append(scan)
        if why:
            notes.append(f"run {run.run_id} {why}: {_its(len(missing))} read in full for this "
                         f"query (slower); {FIX}")  # fmt: skip
        else:
            notes.append(f"run {run.run_id}: {_plural(len(missing), 'episode')} not in its index "
                         "yet (published or changed since it was built) read in full")  # fmt: skip
        if unreadable:
            notes.append(f"run {run.run_id}: {_plural(len(unreadable), 'episode')} cannot be "
                         f"read and are left out ({', '.join(unreadable[:3])}"
                         f"{', …' if len(unreadable) > 3 else ''})")  # fmt: skip
    return out, notes


def rescan_run(run: RunFiles, reason: str) -> tuple[Searchable, list[str]]:
    """Every episode of the run read in full: its index failed while answering."""
    tokens = episode_tokens(run)
    scan, unreadable = scan_episodes(run, tokens)
    notes = [f"run {run.run_id} has a search index that failed ({reason[:80]}): "
             f"{_its(len(tokens))} read in full (slower); {FIX}"]  # fmt: skip
    if unreadable:
        notes.append(f"run {run.run_id}: {_plural(len(unreadable), 'episode')} cannot be read")
    return scan, notes
