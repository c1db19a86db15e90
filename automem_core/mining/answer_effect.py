"""What an answer to a decision's prompt does to memory, without touching the episode.

A decision's own answer is in the log; an alternative answer (a resampled one) never ran. To
show the judge or a person what it would have done, its ops are run on a scratch copy of the
memory as it was when the turn began: the results the model would have seen, and the files
after its ops.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from automem_core.agent.episode import make_memory
from automem_core.analysis.episode import EpisodeData, memory_before_turn
from automem_core.memory import execute_ops, parse_completion, snapshot
from automem_core.memory.results import render_results
from automem_core.scaffold import Scaffold


@dataclass(frozen=True)
class AnswerEffect:
    results: tuple[str, ...]  # one rendered result block per op, as the model would read it
    before: dict[str, str]  # file -> content when the turn began
    after: dict[str, str]  # file -> content after the answer's ops


def answer_effect(
    scaffold: Scaffold, ep: EpisodeData, step: int, phase: str, turn: int, completion: str
) -> AnswerEffect:
    """Run ``completion``'s ops (those the scaffold enables; PLAN turns read only) on a scratch
    copy of the memory at the start of the turn."""
    before = snapshot(memory_before_turn(ep, step, phase, turn))
    with tempfile.TemporaryDirectory(prefix="automem-answer-") as tmp:
        files = make_memory(scaffold, Path(tmp))
        try:
            files.initialise(before, step=step - 1)
            parsed = parse_completion(completion, 2 * scaffold.spec.limits.max_ops_per_turn)
            ops = [op for op in parsed.ops if op.kind in scaffold.spec.ops]
            results = execute_ops(files, ops, step, read_only=phase == "plan")
            limit = scaffold.spec.limits.max_result_chars
            after = snapshot(files.state)
            return AnswerEffect(tuple(render_results([r], limit) for r in results), before, after)
        finally:
            files.close()
