"""Episode queries: an episode's steps and memory ops, its events and timeline, and per step its
turns, frame and memory, and the provenance of a memory line (the step that wrote it, the steps
that read it).

Everything reads the episode's own files: its steps and memory ops once (:func:`load_episode`),
and per step only the row groups that hold the step (turns, frames) plus the memory rebuilt from
the nearest keyframe, so a step query costs the same in a 1 000- and a 100 000-step episode. The
dashboard, the Loop 1 reviewer's tools and the CLI share these.

A compaction may move the episode into a part between two step queries: a read that finds a file
gone follows the episode to its new place and goes on (docs/architecture.md, "Reading while others
write"); when the episode was published again with other rows, :class:`EpisodeChanged` says so.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from automem_core.analysis.step_rows import read_step_rows
from automem_core.memory import READ_ONLY_OPS, MemoryState, apply_mutation
from automem_core.store.catalog import (
    MOVE_ATTEMPTS,
    EpisodeChanged,
    EpisodeFiles,
    follow,
    is_current,
    locate_episode,
    read_fresh,
    same_rows,
)
from automem_core.store.memory_at import copy_state, decode_mutations, read_keyframe

# The reads that return memory lines, for "read by": every read-only op but COUNT, which returns
# only a number of matching lines, so it never shows the agent a line.
READ_KINDS = tuple(sorted(READ_ONLY_OPS - {"COUNT"}))
# What reading an episode's files raises when one is corrupt or was replaced while we read.
READ_ERRORS = (OSError, pa.ArrowException, duckdb.Error)
MAX_BINS = 200  # timeline points, whatever the episode length
MEMORY_STATES_KEPT = 8  # rebuilt memory states an episode keeps (the replay's recent steps)
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
OP_COLUMNS = [
    "step", "seq", "phase", "turn", "kind", "file", "args", "ok", "hits", "result",
    "mutations_json",
]  # fmt: skip
MemoryView = dict[str, tuple[list[str], list[int]]]  # file → (lines, the step that wrote each)
T = TypeVar("T")


@dataclass
class EpisodeData:
    """One episode's per-step tables, event indexes and timeline, loaded once and shared."""

    source: EpisodeFiles  # where its rows are (a loose folder, or a part of its run)
    steps: pa.Table
    step_index: np.ndarray
    ops: pa.Table
    op_steps: np.ndarray
    events: dict[str, np.ndarray]
    reads: dict[str, list[int]]
    timeline: pd.DataFrame
    cum_reward: np.ndarray
    keyframe_steps: np.ndarray  # the steps that have a full memory snapshot
    _memory: dict[int, MemoryState] = field(default_factory=dict)  # a few recent steps

    @property
    def episode_id(self) -> str:
        return self.source.episode_id

    def read(self, read: Callable[[EpisodeFiles], T]) -> T:
        """``read`` on the episode's files; when a compaction moved them meanwhile, on the
        part that holds them now (EpisodeChanged when the episode was published again, so
        the rows already loaded are not those of its files any more)."""
        for attempt in range(1, MOVE_ATTEMPTS + 1):
            source = self.source
            try:
                result = read(source)
            except FileNotFoundError as gone:
                if attempt == MOVE_ATTEMPTS:
                    raise
                moved = follow(source, gone)
            else:
                if is_current(source):
                    return result
                moved = follow(source)
            if not same_rows(source, moved):
                raise EpisodeChanged(
                    f"episode {source.episode_id} was published again while it was shown"
                )
            self.source = moved
        raise AssertionError("unreachable")

    @property
    def n_steps(self) -> int:
        return len(self.step_index)

    @property
    def first_step(self) -> int:
        """Its first step: 0, or a fork's fork step (its parent holds the steps before)."""
        return int(self.step_index[0]) if self.n_steps else 0

    @property
    def last_step(self) -> int:
        return int(self.step_index[-1]) if self.n_steps else 0

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

    def memory_at(self, step: int) -> MemoryState:
        """Memory at the end of ``step``, rebuilt in memory: from the nearest state already
        rebuilt or keyframe at or before it, then the ops after it (the ops are loaded)."""
        if step in self._memory:
            return self._memory[step]
        known = [s for s in self._memory if s <= step]
        keyframes = self.keyframe_steps[self.keyframe_steps <= step]
        key = int(keyframes[-1]) if len(keyframes) else None
        if known and (key is None or max(known) >= key):
            base_step = max(known)
            state = copy_state(self._memory[base_step])
        elif key is not None:
            base_step, state = key, self.read(lambda found: read_keyframe(found, key))
        else:
            return {}
        lo, hi = np.searchsorted(self.op_steps, [base_step + 1, step + 1])
        steps = self.op_steps[lo:hi]
        for op_step, muts in zip(steps, self.ops.column("mutations_json")[lo:hi].to_pylist(),
                                 strict=True):  # fmt: skip
            for m in decode_mutations(muts):
                apply_mutation(state, m, int(op_step))
        if len(self._memory) >= MEMORY_STATES_KEPT:  # forget the state farthest away
            del self._memory[max(self._memory, key=lambda s: abs(s - step))]
        self._memory[step] = state
        return state

    def read_by(self, line: str, origin: int) -> list[int]:
        """Steps at or after ``origin`` whose SEARCH/READ/TAIL returned ``line``."""
        steps = self.reads.get(line)
        if not steps:
            return []
        return steps[bisect.bisect_left(steps, origin) :]


def read_error(found: EpisodeFiles, exc: BaseException) -> str:
    """Why the episode cannot be shown: its unreadable file(s) and the reason."""
    bad = []
    for path in found.files.values():
        try:
            pq.read_metadata(path)
        except READ_ERRORS:
            bad.append(path.name)
    where = ", ".join(bad) or str(found.files["episodes"].parent)
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return (
        f"episode {found.episode_id} cannot be read: {where}: {reason}; "
        "re-run it with the same command"
    )


def _rows(found: EpisodeFiles, table: str, columns: list[str]) -> pa.Table:
    """The episode's rows of ``table`` (a part holds other episodes too: filter them out)."""
    where = [("episode_id", "==", found.episode_id)] if found.in_part else None
    return pq.read_table(found.files[table], columns=columns, filters=where)


def read_episode(found: EpisodeFiles) -> EpisodeData:
    """Read one episode's steps and memory ops and index them (from wherever it is now, when a
    compaction moves it meanwhile)."""
    return read_fresh(found, _read_episode)


def _read_episode(found: EpisodeFiles) -> EpisodeData:
    steps = _rows(found, "steps", STEP_COLUMNS).sort_by("step")
    ops = _rows(found, "memory_ops", OP_COLUMNS).sort_by("seq")
    step_index = steps.column("step").to_numpy()
    op_steps = ops.column("step").to_numpy() if len(ops) else np.zeros(0, dtype=np.int64)
    flags = _step_flags(steps, ops)
    events = {k: step_index[v > 0] for k, v in flags.items()}
    events["warning"] = step_index[(flags["stuck"] + flags["oscillation"]) > 0]
    where = [("episode_id", "==", found.episode_id)] if found.in_part else None
    keyframes = pq.read_table(found.files["memory_snapshots"], columns=["step"], filters=where)
    return EpisodeData(
        found,
        steps,
        step_index,
        ops,
        op_steps,
        events,
        _read_index(ops),
        _bin_timeline(step_index, steps, flags),
        np.cumsum(steps.column("reward").to_numpy()),
        np.sort(keyframes.column("step").to_numpy()),
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


def turns_at(ep: EpisodeData, step: int) -> list[dict[str, Any]]:
    """The step's LLM turns in order: LOG turns, PLAN turns, then an action turn."""
    rows = ep.read(lambda found: read_step_rows(found, "turns", step))
    order = {"log": 0, "plan": 1, "action": 2}
    turns = rows.to_pylist() if rows is not None else []
    return sorted(turns, key=lambda t: (order.get(t["phase"], 3), t["turn"]))


def frame_at(ep: EpisodeData, step: int) -> tuple[str, bytes] | None:
    rows = ep.read(lambda found: read_step_rows(found, "frames", step))
    if rows is None or not len(rows):
        return None
    return rows.column("kind")[0].as_py(), rows.column("data")[0].as_py()


def memory_at_step(ep: EpisodeData, step: int) -> MemoryView:
    """Memory files at the end of ``step`` (the nearest keyframe plus the op log)."""
    state = ep.memory_at(step)
    return {name: (list(f.lines), list(f.origins)) for name, f in sorted(state.items())}


# --------------------------------------------------------------------------- by episode id


def open_episode(root: Path, episode_id: str, run_id: str | None = None) -> EpisodeData:
    """The episode's tables by id (StoreError when it is not in the store)."""
    return read_episode(locate_episode(root, episode_id, run_id))


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
    lines, origins = memory_at_step(ep, step).get(file, ([], []))
    for text, origin in zip(lines, origins, strict=True):
        if text == line:
            return {"written_at": origin, "read_by": ep.read_by(line, origin)}
    return {"written_at": None, "read_by": []}


PHASE_ORDER = {"helper": 0, "log": 1, "plan": 2, "action": 3}


def memory_before_turn(ep: EpisodeData, step: int, phase: str, turn: int) -> MemoryState:
    """Memory as the agent had it when the turn began: the end of the previous step, then the
    step's helper writes and every earlier turn's ops."""
    state = copy_state(ep.memory_at(step - 1))
    rank = (PHASE_ORDER.get(phase, 3), turn)
    for op in ep.ops_at(step):
        if (PHASE_ORDER.get(op["phase"], 3), op["turn"]) < rank:
            for m in decode_mutations(op["mutations_json"]):
                apply_mutation(state, m, step)
    return state


def decision_detail(ep: EpisodeData, step: int, phase: str, turn: int, k: int) -> dict[str, Any]:
    """One memory decision in context: its turn (prompt, completion), its ops with results, the
    memory when the turn began and at the end of the step, and the next ``k`` steps."""
    found = [t for t in turns_at(ep, step) if t["phase"] == phase and t["turn"] == turn]
    ops = [o for o in ep.ops_at(step) if o["phase"] == phase and o["turn"] == turn]
    return {
        "turn": found[0] if found else None,
        "ops": ops,
        "before": copy_state(memory_before_turn(ep, step, phase, turn)),
        "after": copy_state(ep.memory_at(step)),
        "next_steps": steps_in_range(ep, step + 1, step + k),
    }
