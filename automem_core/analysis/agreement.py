"""Agreement between labellers: counts of each pair of verdicts and Cohen's kappa."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Agreement:
    pairs: int  # items both labelled
    agreed: int
    kappa: float | None  # None when undefined (no items, or one verdict only on both sides)
    table: dict[tuple[str, str], int]  # (first's verdict, second's verdict) → count

    @property
    def observed(self) -> float | None:
        return self.agreed / self.pairs if self.pairs else None


def cohen_kappa(pairs: Iterable[tuple[str, str]]) -> Agreement:
    """Agreement of two labellers over the items both labelled: (p_o − p_e) / (1 − p_e)."""
    items = [(a, b) for a, b in pairs if a is not None and b is not None]
    n = len(items)
    table = Counter(items)
    agreed = sum(c for (a, b), c in table.items() if a == b)
    if n == 0:
        return Agreement(0, 0, None, {})
    first, second = Counter(a for a, _ in items), Counter(b for _, b in items)
    expected = sum(first[v] * second[v] for v in first) / (n * n)
    observed = agreed / n
    kappa = None if expected == 1 else (observed - expected) / (1 - expected)
    return Agreement(n, agreed, kappa, dict(table))


def score_verdict(score: float) -> str:
    """The verdict the mined score implies: good above zero, bad otherwise."""
    return "good" if score > 0 else "bad"
