"""Every query the dashboard makes, behind Streamlit's caches; pages import only this module.

The queries themselves live in ``automem_core.analysis`` (the CLI and the loops share them); this
module only decides what is cached and for how long. Store-wide tables are keyed by a token of
the published episode files and their mtimes (:func:`episodes_token`), so a finished episode of a
run still in progress shows up on the next rerun while a live run's heartbeat leaves them cached;
the runs table is keyed by the whole store's token (:func:`store_token`). One episode's replay
reads that episode's own files: its steps and memory ops once (cached), and per step only the row
groups that hold the step plus the memory rebuilt from the nearest keyframe.
"""

from __future__ import annotations

import glob
import hashlib
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from automem_core.analysis import diagnostics, episode, runs
from automem_core.analysis.episode import (
    MAX_BINS,
    READ_ERRORS,
    EpisodeData,
    MemoryView,
    episode_mtime,
    forget_steps,
    frame_at,
    read_error,
    turns_at,
)
from automem_core.analysis.runs import STALE_AFTER_S, effective_status, parse_time
from automem_core.store.layout import DATA_ENV, Layout
from automem_core.store.reader import readable_files
from automem_core.store.schema import TABLES

REPO = Path(__file__).resolve().parent.parent

__all__ = [
    "MAX_BINS",
    "READ_ERRORS",
    "STALE_AFTER_S",
    "EpisodeData",
    "MemoryView",
    "clear_caches",
    "data_root",
    "effective_status",
    "episodes_table",
    "episodes_token",
    "file_growth",
    "forget_steps",
    "frame_at",
    "load_episode",
    "memory_at_step",
    "op_stats",
    "progression_by_version",
    "read_error",
    "rerun_if_changed",
    "runs_table",
    "runs_token",
    "seed_demo",
    "stale_at",
    "store_problems",
    "store_token",
    "turns_at",
]


def data_root() -> Path:
    """``--data DIR`` (after ``streamlit run dashboard/app.py --``), $AUTOMEM_DATA, or data/."""
    args = sys.argv[1:] if sys.argv and sys.argv[0].endswith("app.py") else []
    for i, arg in enumerate(args):
        if arg == "--data" and i + 1 < len(args):
            return Path(args[i + 1])
        if arg.startswith("--data="):
            return Path(arg.split("=", 1)[1])
    return Path(os.environ.get(DATA_ENV) or "data")


# --------------------------------------------------------------------------- cache keys


def _files_token(paths: list[str]) -> str:
    digest = hashlib.sha1()
    for path in sorted(paths):
        try:
            digest.update(f"{path}:{os.stat(path).st_mtime_ns};".encode())
        except FileNotFoundError:  # replaced while we looked
            continue
    return digest.hexdigest() if paths else ""


def episodes_token(root: Path) -> str:
    """Changes whenever an episode is published or republished (not on a run's heartbeat)."""
    return _files_token(glob.glob(Layout(root).table_glob("episodes")))


def runs_token(root: Path) -> str:
    """Changes whenever a ``run.parquet`` is written (run start, heartbeat, close)."""
    return _files_token(glob.glob(Layout(root).table_glob("runs")))


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
def unreadable_files(root: str, table: str, token: str) -> list[str]:
    """The files of ``table`` whose Parquet footer does not read (left out of every query)."""
    return readable_files(Layout(Path(root)).table_glob(table))[1]


def store_problems(root: Path) -> list[str]:
    """Every unreadable file of the store, relative to ``root``."""
    tokens = {"runs": runs_token(root), "episodes": episodes_token(root)}
    bad: list[str] = []
    for table in TABLES:
        token = tokens["runs" if table == "runs" else "episodes"]
        bad += unreadable_files(str(root), table, token)
    return sorted(os.path.relpath(p, root) for p in bad)


@st.cache_data(show_spinner=False)
def _runs_table(root: str, token: str) -> pd.DataFrame:
    # As of the epoch, no heartbeat is stale yet: the statuses as the runs wrote them.
    return runs.load_runs(Path(root), now=datetime.fromtimestamp(0, UTC))


def runs_table(root: str, token: str, now: datetime | None = None) -> pd.DataFrame:
    """One row per run, with its status as of ``now`` (a silent ``running`` run is
    ``interrupted``)."""
    table = _runs_table(root, token).copy()
    now = now or datetime.now(UTC)
    table["status"] = [
        effective_status(s, u, now)
        for s, u in zip(table["status"], table["updated_at"], strict=True)
    ]
    return table


@st.cache_data(show_spinner=False)
def episodes_table(root: str, token: str) -> pd.DataFrame:
    return runs.load_episodes(Path(root))


@st.cache_data(show_spinner=False)
def progression_by_version(root: str, token: str) -> pd.DataFrame:
    return runs.load_progression_by_version(Path(root))


@st.cache_data(show_spinner=False)
def _diagnostics(root: str, token: str) -> dict[str, pd.DataFrame]:
    return diagnostics.load_diagnostics(Path(root))


def op_stats(root: str, token: str) -> pd.DataFrame:
    """Per run: ops per step by kind, empty searches, redundant writes, writes never read."""
    return _diagnostics(root, token)["runs"]


def file_growth(root: str, token: str) -> pd.DataFrame:
    """Per run and memory file: lines at the start and end of episodes, growth per 100 steps."""
    return _diagnostics(root, token)["file_growth"]


# --------------------------------------------------------------------------- one episode


@st.cache_resource(show_spinner="Loading episode…", max_entries=8)
def _load_episode(folder: str, mtime: int) -> EpisodeData:
    return episode.read_episode(folder, mtime)


def load_episode(root: Path, run_id: str, episode_id: str) -> EpisodeData | None:
    """The episode's cached tables (loaded again when its folder is republished)."""
    folder = Layout(root).episode_dir(run_id, episode_id)
    mtime = episode_mtime(folder)
    return None if mtime < 0 else _load_episode(str(folder), mtime)


@st.cache_data(show_spinner=False, max_entries=512)
def memory_at_step(folder: str, mtime: int, step: int) -> MemoryView:
    """Memory files at the end of ``step`` (the nearest keyframe plus the op log)."""
    return episode.memory_at_step(folder, mtime, step)
