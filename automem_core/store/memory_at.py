"""Memory at any step, rebuilt from the nearest keyframe plus the mutation log.

Keyframes (``memory_snapshots``) hold every file with the step that wrote each line, as it was at
the end of their step; ``memory_ops`` holds every mutation in order (``seq``). Memory at step t is
the state at the end of step t: the keyframe at or before t, then every mutation after it up to t.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from automem_core.memory.state import FileState, MemoryState, Mutation, apply_mutation, snapshot
from automem_core.store.catalog import EpisodeFiles, locate_episode, read_fresh
from automem_core.store.layout import StoreError

INITIAL_STEP = -1  # the keyframe holding the scaffold's initial files, before step 0


def encode_state(state: MemoryState) -> str:
    return json.dumps(
        {name: {"lines": f.lines, "origins": f.origins} for name, f in sorted(state.items())},
        separators=(",", ":"),
    )


def decode_state(files_json: str) -> MemoryState:
    raw = json.loads(files_json)
    return {
        name: FileState(lines=list(f["lines"]), origins=list(f["origins"]))
        for name, f in raw.items()
    }


_MUTATION_FIELDS = tuple(f.name for f in fields(Mutation))


def encode_mutations(mutations: tuple[Mutation, ...] | list[Mutation]) -> str:
    rows = [{name: getattr(m, name) for name in _MUTATION_FIELDS} for m in mutations]
    return json.dumps(rows, separators=(",", ":"))


def decode_mutations(text: str) -> list[Mutation]:
    return [Mutation(**m) for m in json.loads(text)]


def copy_state(state: MemoryState) -> MemoryState:
    return {name: FileState(list(f.lines), list(f.origins)) for name, f in state.items()}


def read_keyframe(found: EpisodeFiles, step: int) -> MemoryState:
    """The episode's memory snapshot taken at the end of ``step`` (its row group only)."""
    where: list[tuple[str, str, object]] = [("step", "==", step)]
    if found.in_part:
        where.append(("episode_id", "==", found.episode_id))
    table = pq.read_table(found.files["memory_snapshots"], columns=["files_json"], filters=where)
    return decode_state(table.column("files_json")[0].as_py())


def memory_state_in(found: EpisodeFiles, step: int) -> MemoryState:
    """Rebuild the memory of one episode at the end of ``step``: its keyframe at or before the
    step, then the mutations after it (only the row groups that hold them are read)."""
    where: list[tuple[str, str, object]] = (
        [("episode_id", "==", found.episode_id)] if found.in_part else []
    )
    snaps_path = found.files["memory_snapshots"]
    steps = pq.read_table(snaps_path, columns=["step"], filters=where or None).column("step")
    eligible = pc.filter(steps, pc.less_equal(steps, step))
    if len(eligible) == 0:
        return {}
    key_step = pc.max(eligible).as_py()
    keyframe = pq.read_table(
        snaps_path, columns=["files_json"], filters=[*where, ("step", "==", key_step)]
    )
    state = decode_state(keyframe.column("files_json")[0].as_py())
    ops_path = found.files["memory_ops"]
    if key_step >= step or not ops_path.exists():
        return state
    ops = pq.read_table(
        ops_path,
        columns=["step", "seq", "mutations_json"],
        filters=[*where, ("step", ">", key_step), ("step", "<=", step)],
    ).sort_by("seq")
    for op_step, muts in zip(
        ops.column("step").to_pylist(), ops.column("mutations_json").to_pylist(), strict=True
    ):
        for m in decode_mutations(muts):
            apply_mutation(state, m, op_step)
    return state


def episode_steps(found: EpisodeFiles) -> tuple[int, int]:
    """(its first step, how many steps it played), from the episode's row: a fork starts at
    its ``fork_step``, any other episode at 0."""
    where = [("episode_id", "==", found.episode_id)] if found.in_part else None
    table = pq.read_table(found.files["episodes"], columns=["steps", "fork_step"], filters=where)
    first = table["fork_step"][0].as_py()
    return int(first or 0), int(table["steps"][0].as_py())


def memory_state_at(root: Path, episode_id: str, step: int) -> MemoryState:
    """Memory at the end of ``step`` (read again from the episode's new place when a compaction
    moves it meanwhile)."""
    return read_fresh(locate_episode(root, episode_id), lambda found: _state_at(found, step))


def _state_at(found: EpisodeFiles, step: int) -> MemoryState:
    first, steps = episode_steps(found)
    episode_id = found.episode_id
    if not first + INITIAL_STEP <= step < first + steps:
        last = f"{first}–{first + steps - 1}" if steps else "none"
        raise StoreError(
            f"step {step} is out of range: episode {episode_id} has steps {last} "
            f"({first + INITIAL_STEP} is the memory it started with)"
        )
    return memory_state_in(found, step)


def memory_at(root: Path, episode_id: str, step: int) -> dict[str, str]:
    """file → content as the agent had it when it chose the action of ``step``."""
    return snapshot(memory_state_at(root, episode_id, step))
