"""Episode queries: an episode's steps and memory ops, its events and timeline, and per step its
turns, frame and memory, and the provenance of a memory line (the step that wrote it, the steps
that read it).

Everything reads the episode's own files: its steps and memory ops once (:func:`load_episode`),
and per step only the row groups that hold the step (turns, frames) plus the memory rebuilt from
the nearest keyframe, so a step query costs the same in a 1 000- and a 100 000-step episode. The
dashboard, the Loop 1 reviewer's tools and the CLI share these.
"""

from __future__ import annotations

import bisect
import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from automem_core.memory import READ_ONLY_OPS
from automem_core.store.layout import Layout
from automem_core.store.memory_at import memory_state_at_dir
from automem_core.store.reader import episode_dir, readable_files

# The reads that return memory lines, for "read by": every read-only op but COUNT, which returns
# only a number of matching lines, so it never shows the agent a line.
READ_KINDS = tuple(sorted(READ_ONLY_OPS - {"COUNT"}))
# What reading an episode's files raises when one is corrupt or was replaced while we read.
READ_ERRORS = (OSError, pa.ArrowException, duckdb.Error)
MAX_BINS = 500  # timeline points, whatever the episode length
STEP_COLUMNS = [
    "step",
    "observation",
    "action",
    "raw_action",
    "action_valid",
    "reward",
    "done",
    "progression",
    "warnings",
    "n_ops",
    "n_writes",
    "tokens_in",
    "tokens_out",
    "llm_ms",
    "env_ms",
]
OP_COLUMNS = ["step", "seq", "phase", "turn", "kind", "file", "args", "ok", "hits", "result"]
MemoryView = dict[str, tuple[list[str], list[int]]]  # file → (lines, the step that wrote each)


def forget_steps() -> None:
    """Drop the per-step caches (row groups); the benchmark's cold step change."""
    _row_group.cache_clear()


def episode_mtime(folder: Path) -> int:
    """When the episode folder was last published (-1: not published)."""
    try:
        return os.stat(folder / "episodes.parquet").st_mtime_ns
    except FileNotFoundError:
        return -1


@dataclass
class EpisodeData:
    """One episode's per-step tables, event indexes and timeline, loaded once and shared."""

    folder: str
    mtime: int
    steps: pa.Table
    step_index: np.ndarray
    ops: pa.Table
    op_steps: np.ndarray
    events: dict[str, np.ndarray]
    reads: dict[str, list[int]]
    timeline: pd.DataFrame
    cum_reward: np.ndarray

    @property
    def n_steps(self) -> int:
        return len(self.step_index)

    def step_row(self, step: int) -> dict[str, Any]:
        i = int(np.searchsorted(self.step_index, step))
        row: dict[str, Any] = self.steps.slice(min(i, self.n_steps - 1), 1).to_pylist()[0]
        return row

    def ops_at(self, step: int) -> list[dict[str, Any]]:
        lo, hi = np.searchsorted(self.op_steps, [step, step + 1])
        rows: list[dict[str, Any]] = self.ops.slice(int(lo), int(hi - lo)).to_pylist()
        return rows

    def next_event(self, kind: str, step: int) -> int | None:
        """The first step after ``step`` with an event of ``kind`` (reward, invalid, write, …)."""
        steps = self.events[kind]
        i = int(np.searchsorted(steps, step, side="right"))
        return int(steps[i]) if i < len(steps) else None

    def read_by(self, line: str, origin: int) -> list[int]:
        """Steps at or after ``origin`` whose SEARCH/READ/TAIL returned ``line``."""
        steps = self.reads.get(line)
        if not steps:
            return []
        return steps[bisect.bisect_left(steps, origin) :]


def read_error(root: Path, run_id: str, episode_id: str, exc: BaseException) -> str:
    """Why the episode cannot be shown: the unreadable file(s) of its folder and the reason."""
    folder = Layout(root).episode_dir(run_id, episode_id)
    bad = readable_files(str(folder / "*.parquet"))[1]
    where = ", ".join(Path(p).name for p in bad) or str(folder)
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return (
        f"episode {episode_id} cannot be read: {where}: {reason}; re-run it with the same command"
    )


def load_episode(root: Path, run_id: str, episode_id: str) -> EpisodeData | None:
    """The episode's cached tables (loaded again when its folder is republished)."""
    folder = Layout(root).episode_dir(run_id, episode_id)
    mtime = episode_mtime(folder)
    return None if mtime < 0 else read_episode(str(folder), mtime)


def read_episode(folder: str, mtime: int) -> EpisodeData:
    """Read a published episode folder (``mtime`` names the publication; see load_episode)."""
    path = Path(folder)
    steps = pq.read_table(path / "steps.parquet", columns=STEP_COLUMNS).sort_by("step")
    ops_path = path / "memory_ops.parquet"
    ops = (
        pq.read_table(ops_path, columns=OP_COLUMNS).sort_by("seq")
        if ops_path.exists()
        else pa.table({c: pa.array([], pa.int64()) for c in OP_COLUMNS[:2]})
    )
    step_index = steps.column("step").to_numpy()
    op_steps = ops.column("step").to_numpy() if len(ops) else np.zeros(0, dtype=np.int64)
    flags = _step_flags(steps, ops)
    events = {k: step_index[v > 0] for k, v in flags.items()}
    events["warning"] = step_index[(flags["stuck"] + flags["oscillation"]) > 0]
    return EpisodeData(
        folder,
        mtime,
        steps,
        step_index,
        ops,
        op_steps,
        events,
        _read_index(ops),
        _bin_timeline(step_index, steps, flags),
        np.cumsum(steps.column("reward").to_numpy()),
    )


def _step_flags(steps: pa.Table, ops: pa.Table) -> dict[str, np.ndarray]:
    """Per step (aligned with the steps table): counts of each timeline event."""
    n = len(steps)
    step_index = steps.column("step").to_numpy()
    warnings = steps.column("warnings")
    flat = pc.list_flatten(warnings)
    parents = pc.list_parent_indices(warnings).to_numpy()
    lowered = pc.utf8_lower(flat)
    stuck = pc.or_(pc.match_substring(lowered, "not changed"), pc.match_substring(lowered, "stuck"))
    osc = pc.or_(
        pc.match_substring(lowered, "back and forth"), pc.match_substring(lowered, "oscill")
    )
    flags = {
        "reward": (steps.column("reward").to_numpy() > 0).astype(np.int64),
        "invalid": (~steps.column("action_valid").to_numpy(zero_copy_only=False)).astype(np.int64),
        "stuck": np.bincount(parents[stuck.to_numpy(zero_copy_only=False)], minlength=n),
        "oscillation": np.bincount(parents[osc.to_numpy(zero_copy_only=False)], minlength=n),
        "write": np.zeros(n, np.int64),
        "read": np.zeros(n, np.int64),
    }
    if len(ops) and "kind" in ops.column_names:
        kinds = ops.column("kind").to_numpy(zero_copy_only=False)
        agent = ops.column("phase").to_numpy(zero_copy_only=False) != "helper"
        rows = np.searchsorted(step_index, ops.column("step").to_numpy())
        rows = np.clip(rows, 0, max(0, n - 1))
        is_read = np.isin(kinds, list(READ_ONLY_OPS))
        flags["read"] = np.bincount(rows[is_read & agent], minlength=n)
        flags["write"] = np.bincount(rows[~is_read & agent], minlength=n)
    return flags


def _bin_timeline(
    step_index: np.ndarray, steps: pa.Table, flags: dict[str, np.ndarray]
) -> pd.DataFrame:
    """At most MAX_BINS points: per bin its first step, event counts and the first step of each
    event kind in it, and the highest progression (×100)."""
    n = len(step_index)
    if n == 0:
        return pd.DataFrame(columns=["step", "width", "progression", *flags])
    width = -(-n // MAX_BINS)
    starts = np.arange(0, n, width)
    out = {"step": step_index[starts], "width": np.full(len(starts), width)}
    out["progression"] = np.maximum.reduceat(steps.column("progression").to_numpy(), starts) * 100
    never = np.iinfo(np.int64).max
    for key, values in flags.items():
        out[key] = np.add.reduceat(values, starts)
        out[f"first_{key}"] = np.minimum.reduceat(np.where(values > 0, step_index, never), starts)
    return pd.DataFrame(out)


def _read_index(ops: pa.Table) -> dict[str, list[int]]:
    """Memory line → the steps (ascending) whose SEARCH, READ or TAIL returned it."""
    if not len(ops) or "kind" not in ops.column_names:
        return {}
    mask = pc.and_(
        pc.and_(pc.is_in(ops.column("kind"), pa.array(READ_KINDS)), ops.column("ok")),
        pc.greater(ops.column("hits"), 0),
    )
    reads = ops.filter(mask)
    index: dict[str, list[int]] = {}
    for step, result in zip(
        reads.column("step").to_pylist(), reads.column("result").to_pylist(), strict=True
    ):
        for line in result.split("\n")[1:]:
            seen = index.setdefault(line, [])
            if not seen or seen[-1] != step:
                seen.append(step)
    return index


# --------------------------------------------------------------------------- one step


@functools.lru_cache(maxsize=64)
def _row_group_ranges(path: str, mtime: int) -> list[tuple[int, int] | None]:
    """(min, max) step of every row group, from the Parquet statistics (None: unknown)."""
    meta = pq.read_metadata(path)
    col = meta.schema.to_arrow_schema().get_field_index("step")
    out: list[tuple[int, int] | None] = []
    for i in range(meta.num_row_groups):
        stats = meta.row_group(i).column(col).statistics
        ok = stats is not None and stats.has_min_max
        out.append((stats.min, stats.max) if ok else None)
    return out


@functools.lru_cache(maxsize=12)
def _row_group(path: str, mtime: int, index: int) -> pa.Table:
    return pq.ParquetFile(path).read_row_group(index)


def read_step_rows(folder: str, table: str, step: int) -> pa.Table | None:
    """The rows of ``table`` for ``step``, reading only the row groups that can hold it."""
    path = os.path.join(folder, f"{table}.parquet")
    try:
        mtime = os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return None
    parts = [
        _row_group(path, mtime, i)
        for i, rng in enumerate(_row_group_ranges(path, mtime))
        if rng is None or rng[0] <= step <= rng[1]
    ]
    if not parts:
        return None
    rows = pa.concat_tables(parts)
    return rows.filter(pc.equal(rows.column("step"), step))


def turns_at(ep: EpisodeData, step: int) -> list[dict[str, Any]]:
    """The step's LLM turns in order: LOG turns, PLAN turns, then an action turn."""
    rows = read_step_rows(ep.folder, "turns", step)
    order = {"log": 0, "plan": 1, "action": 2}
    turns = rows.to_pylist() if rows is not None else []
    return sorted(turns, key=lambda t: (order.get(t["phase"], 3), t["turn"]))


def frame_at(ep: EpisodeData, step: int) -> tuple[str, bytes] | None:
    rows = read_step_rows(ep.folder, "frames", step)
    if rows is None or not len(rows):
        return None
    return rows.column("kind")[0].as_py(), rows.column("data")[0].as_py()


def memory_at_step(folder: str, mtime: int, step: int) -> MemoryView:
    """Memory files at the end of ``step`` (the nearest keyframe plus the op log)."""
    state = memory_state_at_dir(Path(folder), step)
    return {name: (f.lines, f.origins) for name, f in sorted(state.items())}


# --------------------------------------------------------------------------- by episode id


def open_episode(root: Path, episode_id: str) -> EpisodeData:
    """The episode's tables by id alone (StoreError when it is not in the store)."""
    folder = episode_dir(root, episode_id)
    return read_episode(str(folder), episode_mtime(folder))


def steps_in_range(ep: EpisodeData, start: int, end: int) -> list[dict[str, Any]]:
    """The step rows from ``start`` to ``end`` inclusive."""
    lo, hi = np.searchsorted(ep.step_index, [start, end + 1])
    rows: list[dict[str, Any]] = ep.steps.slice(int(lo), int(hi - lo)).to_pylist()
    return rows


def step_detail(ep: EpisodeData, step: int) -> dict[str, Any]:
    """One step in full: its row, its turns (prompts, completions) and its memory ops."""
    return {"step": ep.step_row(step), "turns": turns_at(ep, step), "ops": ep.ops_at(step)}


def line_provenance(ep: EpisodeData, step: int, file: str, line: str) -> dict[str, Any]:
    """For a line of ``file`` as memory was at ``step``: the step that wrote it and the steps
    whose SEARCH/READ/TAIL returned it afterwards (``written_at`` None: not in the file)."""
    lines, origins = memory_at_step(ep.folder, ep.mtime, step).get(file, ([], []))
    for text, origin in zip(lines, origins, strict=True):
        if text == line:
            return {"written_at": origin, "read_by": ep.read_by(line, origin)}
    return {"written_at": None, "read_by": []}
