"""Progression summaries: mean ± standard error per task; per game, the mean of its tasks."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    mean: float  # ×100, as progression is reported
    stderr: float
    n: int

    def render(self) -> str:
        if self.n == 0:
            return "no clean episodes"
        return f"{self.mean:.1f} ± {self.stderr:.1f} (n={self.n})"


def summarise(values: Iterable[float]) -> Summary:
    """Mean and standard error of the mean of 0–1 progressions, both reported ×100."""
    xs = [100.0 * v for v in values]
    n = len(xs)
    if n == 0:
        return Summary(float("nan"), float("nan"), 0)
    mean = sum(xs) / n
    if n == 1:
        return Summary(mean, 0.0, 1)
    var = sum((x - mean) ** 2 for x in xs) / (n - 1)
    return Summary(mean, math.sqrt(var / n), n)


def by_task(rows: Iterable[tuple[str, float]]) -> dict[str, Summary]:
    groups: dict[str, list[float]] = defaultdict(list)
    for task, value in rows:
        groups[task].append(value)
    return {task: summarise(vals) for task, vals in sorted(groups.items())}


def game_mean(tasks: dict[str, Summary]) -> Summary:
    """A game's progression: the mean of its task means; the error combines the task errors."""
    valid = [s for s in tasks.values() if s.n > 0]
    if not valid:
        return Summary(float("nan"), float("nan"), 0)
    mean = sum(s.mean for s in valid) / len(valid)
    stderr = math.sqrt(sum(s.stderr**2 for s in valid)) / len(valid)
    return Summary(mean, stderr, sum(s.n for s in valid))


def summary_from_sums(n: int, total: float, total_sq: float) -> Summary:
    """The summary of ``n`` 0–1 progressions given their sum and sum of squares (what a store
    query aggregates), reported ×100."""
    if n == 0:
        return Summary(float("nan"), float("nan"), 0)
    mean = total / n
    if n == 1:
        return Summary(100 * mean, 0.0, 1)
    var = max(0.0, (total_sq - total * total / n) / (n - 1))
    return Summary(100 * mean, 100 * math.sqrt(var / n), n)
