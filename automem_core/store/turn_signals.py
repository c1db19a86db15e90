"""Each decision turn's mining signals, computed from an episode's rows as they are written.

Mining reads these rows instead of re-deriving them from the op log of every mined episode (the
costly part: matching every written line against every later read). The definitions are those of
the SQL in ``analysis/decisions.py``, which still computes them for episodes written before this
table existed; a test keeps the two equal. Only ops of the LOG and PLAN phases count, lines are
compared whole, and a read returns the lines of its result after the first.

Ops must arrive in ``seq`` order (the order they ran, as the runner and the store's copies hand
them over); when they do not, the writer leaves the table out and mining falls back to the SQL.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from automem_core.store.schema import TurnSignalRow
from automem_core.store.summary import READ_KINDS, WRITE_KINDS, written_lines

# The SQL's pattern (RE2: ASCII word boundary and white space): "step N", N a 64-bit integer.
_STEP = re.compile(r"\bstep[ \t\n\f\r]+([0-9]+)", re.IGNORECASE | re.ASCII)
_BIGINT_MAX = 2**63 - 1
Key = tuple[int, str, int]  # (step, phase, turn)


@dataclass
class _Write:
    """One write op of a turn, waiting for a later read of any of its lines."""

    key: Key
    read: tuple[int, int, str] | None = None  # (seq, step, kind) of the first read


@dataclass
class _Turn:
    ops: list[tuple[int, str]] = field(default_factory=list)  # (seq, kind)
    lines_written: int = 0
    redundant: bool = False
    early: bool = False
    empty_search: bool = False
    consult: tuple[int, str] | None = None  # (seq, "KIND@step") of its first read with hits
    writes: list[_Write] = field(default_factory=list)


def _early(line: str, step: int) -> bool:
    found = _STEP.search(line)
    if found is None:
        return False
    # At most 19 digits before converting: a longer number is no 64-bit integer (the SQL's
    # TRY_CAST gives NULL), and Python refuses to convert very long ones.
    digits = found.group(1).lstrip("0") or "0"
    return len(digits) <= 19 and step <= int(digits) <= _BIGINT_MAX


@dataclass
class TurnSignals:
    """Accumulates one episode's decision signals from the rows handed to :meth:`add`."""

    _decisions: set[Key] = field(default_factory=set)
    _turns: dict[Key, _Turn] = field(default_factory=lambda: defaultdict(_Turn))
    _seen: set[tuple[str, str]] = field(default_factory=set)  # (file, line) written so far
    _waiting: dict[str, list[_Write]] = field(default_factory=dict)  # line → unread writes
    _steps: list[tuple[int, float, float]] = field(default_factory=list)
    _last_seq: int = -1
    in_order: bool = True

    def add(self, table: str, row: Any) -> None:
        if table == "turns":
            if row.phase == "log" or (row.phase == "plan" and row.n_ops > 0):
                self._decisions.add((row.step, row.phase, row.turn))
        elif table == "steps":
            self._steps.append((row.step, row.reward, row.progression))
        elif table == "memory_ops" and row.phase in ("log", "plan"):
            if row.seq <= self._last_seq:
                self.in_order = False
            self._last_seq = row.seq
            if self.in_order:
                self._op(row)

    def _op(self, row: Any) -> None:
        turn = self._turns[(row.step, row.phase, row.turn)]
        turn.ops.append((row.seq, row.kind))
        if not row.ok:
            return
        if row.kind == "SEARCH" and row.hits == 0:
            turn.empty_search = True
        if row.kind in READ_KINDS and row.hits > 0:
            if turn.consult is None:
                turn.consult = (row.seq, f"{row.kind}@{row.step}")
            for line in row.result.split("\n")[1:]:
                for write in self._waiting.pop(line, ()):
                    if write.read is None:
                        write.read = (row.seq, row.step, row.kind)
        elif row.kind in WRITE_KINDS:
            lines = written_lines(row.mutations_json)
            if lines is None:
                return
            write = _Write((row.step, row.phase, row.turn))
            turn.writes.append(write)
            turn.lines_written += len(lines)
            turn.redundant |= all((row.file, line) in self._seen for line in lines)
            turn.early |= any(_early(line, row.step) for line in lines)
            for line in lines:
                self._seen.add((row.file, line))
                self._waiting.setdefault(line, []).append(write)

    def _next_progress(self) -> dict[int, int | None]:
        """Per recorded step, the first step at or after it with a reward or a progression
        rise (over the step before; step 0's counts from 0, and a fork's first step, whose
        progression before is its parent's, counts no rise of its own)."""
        steps = sorted(self._steps)
        rises, previous = [], 0.0
        if steps and steps[0][0] > 0:
            previous = steps[0][2]
        for step, reward, progression in steps:
            if reward > 0 or progression > previous:
                rises.append(step)
            previous = progression
        out: dict[int, int | None] = {}
        for step, _, _ in steps:
            i = bisect.bisect_left(rises, step)
            out[step] = rises[i] if i < len(rises) else None
        return out

    def rows(self, episode_id: str) -> list[TurnSignalRow]:
        """The episode's signal rows, in (step, phase, turn) order (check :attr:`in_order`
        first: when its ops came out of order, they are not to be trusted)."""
        progress = self._next_progress()
        out = []
        for key in sorted(self._decisions):
            step, phase, turn_no = key
            turn = self._turns.get(key) or _Turn()
            reads = [w.read for w in turn.writes if w.read is not None]
            first = min(reads) if reads else None
            read_step = first[1] if first else None
            out.append(
                TurnSignalRow(
                    episode_id=episode_id,
                    step=step,
                    phase=phase,  # type: ignore[arg-type]
                    turn=turn_no,
                    op_kinds=[kind for _, kind in sorted(turn.ops)],
                    lines_written=turn.lines_written,
                    redundant_write=turn.redundant,
                    early_outcome=turn.early,
                    empty_search=turn.empty_search,
                    read_step=read_step,
                    read_by=f"{first[2]}@{first[1]}" if first else None,
                    read_progress=progress.get(read_step) if read_step is not None else None,
                    consult_by=turn.consult[1] if turn.consult else None,
                    turn_progress=progress.get(step),
                )
            )
        return out
