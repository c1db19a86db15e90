"""Every memory line an episode ever held, with the step that wrote it and the last step it was
still there: the lifetimes the search index records for memory hits.

Memory is replayed from the episode's first keyframe through its op log with the same
:func:`~automem_core.memory.state.apply_mutation` the store rebuilds memory with, so a line's
lifetime is exactly what the replay shows at each step. Each mutation is applied with a fresh
number in place of its step: the lines it wrote carry that number, the lines it left alone keep
theirs, so the lines it removed are the numbers gone from the file afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from automem_core.memory.state import FileState, MemoryState, Mutation, apply_mutation


@dataclass
class MemoryLine:
    """One line of one memory file, from the step that wrote it (``written``; -1: the initial
    files) to ``until``, the last step at whose end it was still in the file (``written - 1``
    when it was gone before its own step ended)."""

    file: str
    text: str
    line: int  # its line number when it was written (1-based)
    written: int
    until: int
    phase: str  # of the op that wrote it ("init" for the initial files)
    turn: int
    kind: str  # the op that wrote it ("" for the initial files)


@dataclass(frozen=True)
class OpMutations:
    """One memory op of the log, in order: where it ran and what it changed."""

    step: int
    phase: str
    turn: int
    kind: str
    mutations: tuple[Mutation, ...]


class _Replay:
    def __init__(self, initial: MemoryState) -> None:
        self.state: MemoryState = {}
        self.open: dict[int, MemoryLine] = {}
        self.done: list[MemoryLine] = []
        self._next = 0
        for name, f in sorted(initial.items()):
            ids = []
            for i, (text, origin) in enumerate(zip(f.lines, f.origins, strict=True)):
                ids.append(self._start(MemoryLine(name, text, i + 1, origin, 0, "init", 0, "")))
            self.state[name] = FileState(list(f.lines), ids)

    def _start(self, line: MemoryLine) -> int:
        self._next += 1
        self.open[self._next] = line
        return self._next

    def apply(self, op: OpMutations) -> None:
        for m in op.mutations:
            before = self.state.get(m.file)
            old_ids = set(before.origins) if before is not None else set()
            self._next += 1
            marker = self._next
            apply_mutation(self.state, m, marker)
            after = self.state.get(m.file)
            if m.kind != "append":  # an append only adds lines
                kept = set(after.origins) if after is not None else set()
                for gone in old_ids - kept:
                    self._close(gone, op.step - 1)
            if after is None:
                continue
            for i, origin in enumerate(after.origins):
                if origin == marker:
                    line = MemoryLine(
                        m.file, after.lines[i], i + 1, op.step, 0, op.phase, op.turn, op.kind
                    )
                    after.origins[i] = self._start(line)

    def _close(self, line_id: int, until: int) -> None:
        line = self.open.pop(line_id)
        line.until = until
        self.done.append(line)

    def finish(self, last_step: int) -> list[MemoryLine]:
        for line_id in list(self.open):
            self._close(line_id, last_step)
        return sorted(self.done, key=lambda x: (x.written, x.file, x.line))


def memory_lines(
    initial: MemoryState, ops: Iterable[OpMutations], last_step: int
) -> list[MemoryLine]:
    """Every line ``initial`` held or ``ops`` wrote (in op order), with its lifetime; lines
    still there at the end live until ``last_step``."""
    replay = _Replay(initial)
    for op in ops:
        replay.apply(op)
    return replay.finish(last_step)
