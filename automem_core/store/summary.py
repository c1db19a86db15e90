"""An episode's summary numbers, computed from its rows as they are written.

The Overview, ``automem runs`` and ``automem diagnostics`` show per-run memory-op statistics and
file growth for thousands of episodes; recomputing them from the op logs at every page load would
cost time in proportion to the whole store. The writer feeds every row of an episode through
:class:`EpisodeSummary`, and the numbers land in the episode's own row. Their definitions are those
of the SQL in ``analysis/diagnostics.py`` (a test keeps the two equal):

- unchanged observations, oscillations (A, B, A) and the longest run of steps without reward;
- agent ops (helper writes excluded) by kind, and SEARCH ops that matched nothing;
- redundant writes (every line of the write was already written to that file) and writes never
  read (no later SEARCH, READ or TAIL returned any of its lines); whole lines compared exactly;
- lines per memory file in the episode's first and last keyframe.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

READ_KINDS = frozenset({"SEARCH", "READ", "TAIL"})  # the reads that return memory lines
WRITE_KINDS = frozenset({"APPEND", "WRITE", "UPSERT", "UPSERT_MAP"})
SUMMARY_COLUMNS = (
    "agent_ops",
    "op_counts_json",
    "empty_searches",
    "redundant_writes",
    "writes_never_read",
    "writes_checked",
    "unchanged_observations",
    "oscillations",
    "longest_zero_reward_streak",
    "file_lines_json",
)


def written_lines(mutations_json: str) -> list[str] | None:
    """The lines a write op put in its file (None: the op wrote no line)."""
    mutations = json.loads(mutations_json) if mutations_json else []
    if not mutations:
        return None
    first = mutations[0]
    kind, text = first.get("kind"), first.get("text")
    if kind not in ("append", "write", "upsert") or text is None:
        return None
    if kind == "upsert":
        return [f"{first.get('key')}: {text}".replace("\r", " ").replace("\n", " ")]
    return str(text).split("\n")


def _line_counts(files_json: str) -> dict[str, int]:
    return {name: len(f["lines"]) for name, f in json.loads(files_json).items()}


@dataclass
class EpisodeSummary:
    """Accumulates one episode's summary from the rows handed to :meth:`add`."""

    _previous: tuple[str | None, str | None] = (None, None)
    unchanged: int = 0
    oscillations: int = 0
    _streak: int = 0
    longest_streak: int = 0
    ops: Counter[str] = field(default_factory=Counter)
    empty_searches: int = 0
    _seen: Counter[tuple[str, str]] = field(default_factory=Counter)
    _writes: list[tuple[int, list[str], bool]] = field(default_factory=list)
    _last_read: dict[str, int] = field(default_factory=dict)
    _first_keyframe: tuple[int, str] | None = None
    _last_keyframe: tuple[int, str] | None = None

    def add(self, table: str, row: Any) -> None:
        if table == "steps":
            self._step(row.observation, row.reward)
        elif table == "memory_ops" and row.phase != "helper":
            self._op(row)
        elif table == "memory_snapshots":
            frame = (row.step, row.files_json)
            if self._first_keyframe is None or row.step < self._first_keyframe[0]:
                self._first_keyframe = frame
            if self._last_keyframe is None or row.step >= self._last_keyframe[0]:
                self._last_keyframe = frame

    def _step(self, observation: str, reward: float) -> None:
        prev1, prev2 = self._previous
        self.unchanged += observation == prev1
        self.oscillations += observation == prev2 and observation != prev1
        self._previous = (observation, prev1)
        self._streak = 0 if reward > 0 else self._streak + 1
        self.longest_streak = max(self.longest_streak, self._streak)

    def _op(self, row: Any) -> None:
        self.ops[row.kind] += 1
        if not row.ok:
            return
        if row.kind == "SEARCH" and row.hits == 0:
            self.empty_searches += 1
        if row.kind in READ_KINDS and row.hits > 0:
            for line in row.result.split("\n")[1:]:
                self._last_read[line] = max(self._last_read.get(line, -1), row.seq)
        elif row.kind in WRITE_KINDS:
            lines = written_lines(row.mutations_json)
            if lines is None:
                return
            redundant = all(self._seen[(row.file, line)] > 0 for line in lines)
            for line in lines:
                self._seen[(row.file, line)] += 1
            self._writes.append((row.seq, lines, redundant))

    def columns(self) -> dict[str, Any]:
        """The summary, as the episode row's columns."""
        never_read = sum(
            1
            for seq, lines, _ in self._writes
            if not any(self._last_read.get(line, -1) > seq for line in lines)
        )
        start = _line_counts(self._first_keyframe[1]) if self._first_keyframe else {}
        end = _line_counts(self._last_keyframe[1]) if self._last_keyframe else {}
        files = {n: [start.get(n, 0), end.get(n, 0)] for n in sorted(set(start) | set(end))}
        return {
            "agent_ops": sum(self.ops.values()),
            "op_counts_json": json.dumps(dict(sorted(self.ops.items())), separators=(",", ":")),
            "empty_searches": self.empty_searches,
            "redundant_writes": sum(1 for _, _, redundant in self._writes if redundant),
            "writes_never_read": never_read,
            "writes_checked": len(self._writes),
            "unchanged_observations": self.unchanged,
            "oscillations": self.oscillations,
            "longest_zero_reward_streak": self.longest_streak,
            "file_lines_json": json.dumps(files, separators=(",", ":")),
        }
