"""The memory a fork starts with: its parent's at the start of the fork step, then the edit.

Memory at the start of step T is the memory at the end of step T - 1: the nearest keyframe plus
the mutation log (``store/memory_at.py``). Dropping or replacing a decision at step s < T
rebuilds it from the keyframe before s instead, leaving out that turn's mutations (and, for an
alternative answer, running the answer's ops in their place, on the memory as it was when the
turn began); every other mutation is applied as logged. A JSON Patch changes one file, seen as
the JSON list of its lines; the lines it keeps keep the step that wrote them, the lines it adds
count as written at T - 1.
"""

from __future__ import annotations

import difflib
import tempfile
from pathlib import Path
from typing import Any

import jsonpatch
import pyarrow.compute as pc
import pyarrow.parquet as pq

from automem_core.agent.episode import make_memory
from automem_core.memory import MemoryState, execute_ops, parse_completion
from automem_core.memory.state import FileState, apply_mutation, split_lines
from automem_core.run.fork_edit import DecisionRef, ForkEdit, ForkEditError
from automem_core.scaffold.value import Scaffold
from automem_core.store.catalog import EpisodeFiles
from automem_core.store.memory_at import (
    copy_state,
    decode_mutations,
    memory_state_in,
    read_keyframe,
)

PHASE_ORDER = {"helper": 0, "log": 1, "plan": 2, "action": 3}


def fork_memory(found: EpisodeFiles, step: int, edit: ForkEdit, scaffold: Scaffold) -> MemoryState:
    """Memory at the start of ``step`` of the episode in ``found``, with ``edit`` applied
    (``scaffold``: the one the decision ran with, for an alternative's ops)."""
    if edit.kind == "patch":
        return patched(memory_state_in(found, step - 1), edit, step - 1)
    if edit.kind in ("drop", "alternative"):
        return _without_decision(found, step, edit, scaffold)
    return memory_state_in(found, step - 1)


def _where(found: EpisodeFiles) -> list[tuple[str, str, object]]:
    return [("episode_id", "==", found.episode_id)] if found.in_part else []


def _check_decision(found: EpisodeFiles, step: int, d: DecisionRef) -> None:
    if d.episode_id != found.episode_id:
        raise ForkEditError(
            f"decision {d.decision_id} belongs to episode {d.episode_id}, not to "
            f"{found.episode_id}; fork that episode instead"
        )
    if d.phase == "plan":
        raise ForkEditError(
            f"decision {d.decision_id} is a PLAN consultation: it only reads memory, so "
            "leaving it out changes nothing; drop or replace a LOG turn"
        )
    if d.step >= step:
        raise ForkEditError(
            f"decision {d.decision_id} is at step {d.step}, not before the fork step {step}; "
            f"fork at step {d.step + 1} or later to leave it out"
        )
    turns = pq.read_table(
        found.files["turns"],
        columns=["phase", "turn"],
        filters=[*_where(found), ("step", "==", d.step)],
    )
    held = set(zip(turns["phase"].to_pylist(), turns["turn"].to_pylist(), strict=True))
    if (d.phase, d.turn) not in held:
        raise ForkEditError(
            f"episode {found.episode_id} has no {d.phase.upper()} turn {d.turn} at step "
            f"{d.step}; list its decisions with `automem decisions`"
        )


def _without_decision(
    found: EpisodeFiles, step: int, edit: ForkEdit, scaffold: Scaffold
) -> MemoryState:
    d = edit.decision
    _check_decision(found, step, d)
    snaps = pq.read_table(
        found.files["memory_snapshots"], columns=["step"], filters=_where(found) or None
    ).column("step")
    base = pc.max(pc.filter(snaps, pc.less(snaps, d.step))).as_py()
    state = read_keyframe(found, base)
    ops = pq.read_table(
        found.files["memory_ops"],
        columns=["step", "seq", "phase", "turn", "mutations_json"],
        filters=[*_where(found), ("step", ">", base), ("step", "<", step)],
    ).sort_by("seq")
    rank = (PHASE_ORDER["log"], d.turn)
    replaced = False
    for row in ops.to_pylist():
        at_decision = row["step"] == d.step
        mine = at_decision and row["phase"] == d.phase and row["turn"] == d.turn
        later = at_decision and (PHASE_ORDER.get(row["phase"], 3), row["turn"]) > rank
        if not replaced and (mine or later or row["step"] > d.step):
            replaced = True
            if edit.kind == "alternative":
                state = run_answer(scaffold, state, d, edit.completion)
        if mine:
            continue
        for m in decode_mutations(row["mutations_json"]):
            apply_mutation(state, m, row["step"])
    if not replaced and edit.kind == "alternative":
        state = run_answer(scaffold, state, d, edit.completion)
    return state


def run_answer(
    scaffold: Scaffold, state: MemoryState, d: DecisionRef, completion: str
) -> MemoryState:
    """``state`` after ``completion``'s ops (those the scaffold enables), run at the decision's
    step in a scratch folder, as the agent would have run them."""
    with tempfile.TemporaryDirectory(prefix="automem-fork-") as tmp:
        files = make_memory(scaffold, Path(tmp))
        try:
            files.restore(state)
            parsed = parse_completion(completion, 2 * scaffold.spec.limits.max_ops_per_turn)
            ops = [op for op in parsed.ops if op.kind in scaffold.spec.ops]
            execute_ops(files, ops, d.step, read_only=d.phase == "plan")
            return copy_state(files.state)
        finally:
            files.close()


def patched(state: MemoryState, edit: ForkEdit, stamp: int) -> MemoryState:
    """``state`` with ``edit``'s JSON Patch applied to its file's lines."""
    current = state.get(edit.file)
    if current is None:
        known = ", ".join(sorted(state)) or "none"
        raise ForkEditError(f"no memory file {edit.file!r} to patch here (files: {known})")
    try:
        result: Any = jsonpatch.apply_patch(list(current.lines), list(edit.patch))
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ForkEditError(
            f"the patch does not apply to {edit.file} ({len(current.lines)} lines): {first}"
        ) from None
    if not isinstance(result, list) or not all(isinstance(line, str) for line in result):
        raise ForkEditError(f"the patch must leave {edit.file} a list of text lines")
    lines = [part for line in result for part in (split_lines(line) or [""])]
    origins = [stamp] * len(lines)
    matcher = difflib.SequenceMatcher(a=current.lines, b=lines, autojunk=False)
    for block in matcher.get_matching_blocks():
        origins[block.b : block.b + block.size] = current.origins[block.a : block.a + block.size]
    out = copy_state(state)
    out[edit.file] = FileState(lines, origins)
    return out
