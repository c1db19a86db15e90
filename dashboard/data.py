"""The store's queries the pages make, behind Streamlit's caches (the Loop 2 records' reads are
in ``decisions/data.py``, the searches in ``search/data.py``, keyed by this module's tokens).

The queries themselves live in ``automem_core.analysis`` (the CLI and the loops share them); this
module only decides what is cached and for how long. Store-wide tables are keyed by a token of
the published episode files and their mtimes (:func:`episodes_token`), so a finished episode of a
run still in progress shows up on the next rerun while a live run's heartbeat leaves them cached;
the runs table is keyed by the whole store's token (:func:`store_token`). One episode's replay
reads that episode's own files: its steps and memory ops once (cached), and per step only the row
groups that hold the step plus the memory rebuilt from the nearest keyframe.

Every read goes through the engine's reading protocol (docs/architecture.md, "Reading while
others write"): a store-wide query retries from a fresh listing, and a loaded episode follows its
rows into the part a compaction moved them to; :class:`EpisodeChanged` (the episode was published
again) is a page's cue to rerun and load it afresh.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from automem_core.analysis import diagnostics, episode, forks, runs
from automem_core.analysis.episode import (
    MAX_BINS,
    READ_ERRORS,
    EpisodeData,
    MemoryView,
    frame_at,
    read_error,
    turns_at,
)
from automem_core.analysis.runs import STALE_AFTER_S, parse_time
from automem_core.analysis.step_rows import forget_steps
from automem_core.errors import AutoMemError
from automem_core.store.catalog import (
    EpisodeChanged,
    EpisodeFiles,
    locate_episode,
    run_of_episode,
    scan,
)
from automem_core.store.layout import DATA_ENV, Layout, StoreError
from automem_core.store.reader import store_problems as find_problems
from automem_core.store.remote import open_root, remote_of
from automem_core.store.remote_lazy import FetchError
from automem_core.store.remote_pull import pull

REPO = Path(__file__).resolve().parent.parent

__all__ = [
    "MAX_BINS",
    "READ_ERRORS",
    "STALE_AFTER_S",
    "EpisodeChanged",
    "EpisodeData",
    "EpisodeFiles",
    "MemoryView",
    "StoreError",
    "clear_caches",
    "data_root",
    "edit_words",
    "episode_forks",
    "episode_run",
    "episodes_table",
    "episodes_token",
    "forget_steps",
    "frame_at",
    "load_episode",
    "locate",
    "memory_at_step",
    "op_stats",
    "progression_by_version",
    "read_error",
    "rerun_if_changed",
    "run_episodes",
    "run_file_growth",
    "run_ids",
    "run_op_stats",
    "runs_table",
    "runs_token",
    "seed_demo",
    "stale_at",
    "store_problems",
    "store_token",
    "task_stats",
    "turns_at",
]


def data_root() -> Path:
    """``--data DIR`` (after ``streamlit run dashboard/app.py --``), $AUTOMEM_DATA, or data/;
    a store URL as its local mirror, brought up to date at most every :data:`PULL_EVERY_S`."""
    root = open_root(_data_arg())
    if remote_of(root) is not None:
        _refresh_mirror(root)
    return root


def _data_arg() -> str:
    args = sys.argv[1:] if sys.argv and sys.argv[0].endswith("app.py") else []
    for i, arg in enumerate(args):
        if arg == "--data" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--data="):
            return arg.split("=", 1)[1]
    return os.environ.get(DATA_ENV) or "data"


PULL_EVERY_S = 5.0  # a page's reruns within this share one pull of the object store
_pulled_at: dict[Path, float] = {}


def _refresh_mirror(root: Path) -> None:
    """Pull the store into its mirror (store/remote.py) unless done just now; when the store
    cannot be read, say so and show the mirror as last read."""
    now = time.monotonic()
    if now - _pulled_at.get(root, -PULL_EVERY_S) < PULL_EVERY_S:
        return
    _pulled_at[root] = now
    try:
        pull(root)
    except AutoMemError as exc:
        st.warning(f"{exc}; showing the copy read before")


# --------------------------------------------------------------------------- cache keys


def files_token(paths: list[Path]) -> str:
    digest = hashlib.sha1()
    for path in sorted(paths):
        try:
            digest.update(f"{path}:{os.stat(path).st_mtime_ns};".encode())
        except FileNotFoundError:  # replaced while we looked
            continue
    return digest.hexdigest() if paths else ""


def episodes_token(root: Path) -> str:
    """Changes whenever an episode is published or republished, or a run is compacted (not on
    a run's heartbeat). Costs a stat per run and per episode not yet compacted."""
    paths = []
    for run in scan(root):
        paths.append(run.folder / "manifest.json")
        paths += [folder / "episodes.parquet" for folder in run.loose.values()]
    return files_token([p for p in paths if p.exists()])


def runs_token(root: Path) -> str:
    """Changes whenever a ``run.parquet`` is written (run start, heartbeat, close)."""
    runs_dir = Layout(root).runs
    files = list(runs_dir.glob("*/run.parquet")) if runs_dir.is_dir() else []
    return files_token(files)


def store_token(root: Path) -> str:
    """Changes whenever a run file or a published episode appears or is rewritten ("": none)."""
    episodes, run_files = episodes_token(root), runs_token(root)
    return f"{episodes}:{run_files}" if episodes or run_files else ""


def stale_at(table: pd.DataFrame) -> float | None:
    """When (epoch seconds) the first run shown as running turns ``interrupted`` if its
    heartbeat stops; None when no run is running."""
    live = table[table["status"] == "running"]
    beats = [parse_time(u) for u in live["updated_at"]]
    times = [b.timestamp() + STALE_AFTER_S for b in beats if b is not None]
    return min(times) if times else None


def rerun_if_changed(root: Path, token: str, stale: float | None = None) -> None:
    """Rerun the whole page when the store changed since ``token`` (a live run published or beat)
    or a run shown as running has gone quiet past its heartbeat deadline ``stale``."""
    if store_token(root) != token or (stale is not None and datetime.now(UTC).timestamp() > stale):
        st.rerun(scope="app")


def clear_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()
    forget_steps()


def seed_demo(root: Path) -> tuple[bool, str]:
    """Run ``automem demo --data ROOT`` (absolute, so the demo lands where the dashboard reads
    whatever the working directory); (succeeded, its last stderr line when it failed)."""
    cmd = [sys.executable, "-m", "automem_core.cli", "demo", "--data", str(root.resolve())]
    cmd.append("--quiet")
    try:
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    if done.returncode == 0:
        return True, ""
    for stream in (done.stderr, done.stdout):
        lines = [line.strip() for line in stream.splitlines() if line.strip()]
        if lines:
            return False, lines[-1]
    return False, f"`automem demo` exited with status {done.returncode}"


# --------------------------------------------------------------------------- store-wide


@st.cache_data(show_spinner=False)
def _problems(root: str, token: str) -> list[str]:
    return sorted(
        os.path.relpath(p.path, root)
        + (f" ({len(p.episodes)} episodes of {p.run_id})" if len(p.episodes) > 1 else "")
        for p in find_problems(Path(root))
    )


def store_problems(root: Path) -> list[str]:
    """Every file of the store left out of the views (relative to ``root``), with what it
    holds when that is more than one episode."""
    return _problems(str(root), store_token(root))


@st.cache_data(show_spinner=False)
def _run_rows(root: str, token: str) -> pd.DataFrame:
    return runs.load_run_rows(Path(root))


def runs_table(root: str, token: str, now: datetime | None = None) -> pd.DataFrame:
    """One row per run, with its status as of ``now`` (a silent ``running`` run is
    ``interrupted``). A heartbeat re-reads only the run rows; the episode stats stay cached."""
    rows = _run_rows(root, runs_token(Path(root)))
    token = episodes_token(Path(root))
    table = runs.runs_frame(rows, task_stats(root, token), now)
    costs = _run_costs(root, token, tuple(runs.priced_runs(rows)))
    table["agent $"] = [costs.get(str(r), 0.0) for r in table["run"]]
    return table


@st.cache_data(show_spinner=False)
def _run_costs(root: str, token: str, priced: tuple[str, ...]) -> dict[str, float]:
    return runs.load_run_costs(Path(root), list(priced)) if priced else {}


@st.cache_data(show_spinner=False)
def task_stats(root: str, token: str) -> pd.DataFrame:
    """Per run and task: episodes by status, progression sums and cost (a few rows per run,
    however many episodes the store holds)."""
    return runs.load_task_stats(Path(root))


@st.cache_data(show_spinner=False)
def progression_by_version(root: str, token: str) -> pd.DataFrame:
    """Each version's progression per comparison group (fork runs left out)."""
    return runs.progression_by_version(
        task_stats(root, token),
        _run_rows(root, runs_token(Path(root))),
        runs.load_fork_runs(Path(root)),
    )


@st.cache_data(show_spinner=False)
def episodes_table(root: str, token: str) -> pd.DataFrame:
    """Every episode's row, with its summary (read only when runs are compared)."""
    return runs.load_episodes(Path(root))


def same_seed_episodes(root: Path, game: str, task: str, seed: int) -> list[str]:
    """Every episode of ``game``/``task`` played on ``seed`` (in any run), by id."""
    table = episodes_table(str(root), episodes_token(root))
    same = (table["game"] == game) & (table["task"] == task) & (table["seed"] == seed)
    return sorted(str(e) for e in table.loc[same, "episode_id"])


@st.cache_data(show_spinner=False)
def op_stats(root: str, token: str) -> pd.DataFrame:
    """Per run: ops per step by kind, empty searches, redundant writes, writes never read."""
    return diagnostics.run_diagnostics(episodes_table(root, token))


def run_op_stats(root: Path, run_id: str) -> pd.DataFrame:
    """:func:`op_stats` of one run (only its files are read)."""
    return diagnostics.run_diagnostics(run_episodes(root, run_id))


def run_file_growth(root: Path, run_id: str) -> pd.DataFrame:
    """Per memory file of one run: lines at the start and end of episodes, growth per 100 steps."""
    return diagnostics.file_growth(run_episodes(root, run_id))


# --------------------------------------------------------------------------- one run


def run_ids(root: Path) -> list[str]:
    """Every run's id, newest first (a folder listing: nothing is read)."""
    found = [r.folder for r in scan(root) if r.run_file.exists() or r.parts or r.loose]
    found.sort(key=lambda f: _mtime(f / "run.parquet"), reverse=True)
    return [f.name for f in found]


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def run_token(root: Path, run_id: str) -> str:
    """Changes whenever one of the run's episodes is published or the run is compacted."""
    found = scan(root, [run_id])
    if not found:
        return ""
    run = found[0]
    paths = [run.folder / "manifest.json", *(f / "episodes.parquet" for f in run.loose.values())]
    return files_token([p for p in paths if p.exists()])


@st.cache_data(show_spinner=False, max_entries=64)
def _run_episodes(root: str, run_id: str, token: str) -> pd.DataFrame:
    return runs.load_episodes(Path(root), run_id)


def run_episodes(root: Path, run_id: str) -> pd.DataFrame:
    """One run's episodes (only that run's files are read)."""
    return _run_episodes(str(root), run_id, run_token(root, run_id))


# --------------------------------------------------------------------------- one episode


@st.cache_resource(show_spinner="Loading episode…", max_entries=8)
def _load_episode(episode_id: str, token: str, _found: EpisodeFiles) -> EpisodeData:
    return episode.read_episode(_found)


def locate(root: Path, run_id: str, episode_id: str) -> EpisodeFiles | None:
    """Where the episode's rows are now (None: not in the store). A mirror that cannot fetch
    them now raises FetchError (one line on the page), not "not in the store"."""
    try:
        return locate_episode(root, episode_id, run_id)
    except FetchError:
        raise
    except StoreError:
        return None


def load_episode(found: EpisodeFiles) -> EpisodeData:
    """The episode's cached tables (read again when it is republished or compacted)."""
    return _load_episode(found.episode_id, found.token, found)


@st.cache_data(show_spinner=False, max_entries=16)
def _episode_forks(root: str, episode_id: str, token: str) -> pd.DataFrame:
    return forks.forks_of(episodes_table(root, token), episode_id)


def episode_forks(root: Path, episode_id: str) -> pd.DataFrame:
    """The forks of an episode, in any run (re-read when an episode is published)."""
    return _episode_forks(str(root), episode_id, episodes_token(root))


def episode_run(root: Path, episode_id: str) -> str | None:
    """The run an episode belongs to, from its id (None: no such run here)."""
    return run_of_episode(root, episode_id)


def edit_words(edit_json: object) -> str:
    """A fork's edit in words."""
    return forks.edit_words(edit_json)


def memory_at_step(ep: EpisodeData, step: int) -> MemoryView:
    """Memory files at the end of ``step``, rebuilt in memory from the loaded episode (its
    recent steps are kept, so stepping forward costs one step's ops)."""
    return episode.memory_at_step(ep, step)


# --------------------------------------------------------------------------- the loops' records


def records_token(root: Path, *tables: str) -> str:
    """Changes whenever a record of ``tables`` is appended or merged."""
    paths: list[Path] = []
    for table in tables:
        folder = Path(root) / "records" / table
        if folder.is_dir():
            paths += [p for p in folder.iterdir() if p.suffix == ".parquet"]
    return files_token(paths)
