"""The paired gate: a candidate scaffold is kept only if progression improves on the same seeds.

The candidate and its parent play the same (task, seed) pairs of the ``gating`` seed set. A pair
counts only if both episodes are clean (every model call answered); the others are dropped and
counted. Rules:

- ``strict`` (the paper's): accept when the candidate's mean progression over the pairs is
  strictly higher than the parent's;
- ``bootstrap``: accept when the 95 % lower bound of the paired-bootstrap interval of the mean
  improvement is above zero (``scipy.stats.bootstrap``).

Either way, a candidate with more degraded or failed episodes than its parent is rejected: a
version that breaks the model's answers must not win on the episodes that survived.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from automem_core.store.record_rows import GateRule

Rule = GateRule
BOOTSTRAP_RESAMPLES = 2_000


@dataclass(frozen=True)
class GateResult:
    rule: Rule
    pairs: int
    dropped: int
    mean: float  # candidate, ×100
    parent_mean: float
    delta: float
    stderr: float
    low: float
    high: float
    degraded: int
    parent_degraded: int
    accepted: bool
    reason: str
    table: pd.DataFrame  # per (task, seed): candidate, parent, delta, outcome

    def pairs_json(self) -> str:
        return json.dumps(self.table.to_dict("records"))


def _not_clean(episodes: pd.DataFrame) -> int:
    return int((episodes["status"] != "ok").sum())


def paired_gate(
    candidate: pd.DataFrame, parent: pd.DataFrame, rule: Rule = "strict", seed: int = 0
) -> GateResult:
    """Compare the two versions' episodes (columns task, seed, status, progression)."""
    merged = candidate.merge(parent, on=["task", "seed"], how="outer", suffixes=("", "_parent"))
    clean = (merged["status"] == "ok") & (merged["status_parent"] == "ok")
    pairs = merged[clean].copy()
    pairs["candidate"] = 100 * pairs["progression"]
    pairs["parent"] = 100 * pairs["progression_parent"]
    pairs["delta"] = pairs["candidate"] - pairs["parent"]
    pairs["outcome"] = np.select(
        [pairs["delta"] > 0, pairs["delta"] < 0], ["fixed", "regressed"], "same"
    )
    table = pairs[["task", "seed", "candidate", "parent", "delta", "outcome"]].sort_values(
        ["task", "seed"], ignore_index=True
    )
    degraded, parent_degraded = _not_clean(candidate), _not_clean(parent)
    n = len(table)
    deltas = table["delta"].to_numpy(dtype=float)
    mean = float(table["candidate"].mean()) if n else math.nan
    parent_mean = float(table["parent"].mean()) if n else math.nan
    delta = float(deltas.mean()) if n else math.nan
    stderr = float(deltas.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0
    low, high = _interval(deltas, rule, seed)
    if n == 0:
        accepted, reason = False, "no pair of clean episodes to compare"
    elif degraded > parent_degraded:
        accepted, reason = (
            False,
            (
                f"the candidate has more episodes that are not clean ({degraded} vs "
                f"{parent_degraded}): its model answers broke more often"
            ),
        )
    elif rule == "strict":
        accepted = delta > 0
        reason = f"mean progression {'rose' if accepted else 'did not rise'}: Δ {delta:+.2f}"
    else:
        accepted = low > 0
        reason = f"95 % lower bound of the improvement is {low:+.2f} ({'>' if accepted else '≤'} 0)"
    return GateResult(
        rule, n, len(merged) - n, mean, parent_mean, delta, stderr, low, high, degraded,
        parent_degraded, accepted, reason, table,
    )  # fmt: skip


def _interval(deltas: np.ndarray, rule: Rule, seed: int) -> tuple[float, float]:
    """The interval the rule reports: mean ± 1.96 s.e. (strict) or the bootstrap's."""
    n = len(deltas)
    if n == 0:
        return math.nan, math.nan
    mean = float(deltas.mean())
    if n == 1 or float(deltas.std()) == 0.0:
        return mean, mean
    if rule == "bootstrap":
        found = stats.bootstrap(
            (deltas,), np.mean, confidence_level=0.95, n_resamples=BOOTSTRAP_RESAMPLES,
            method="percentile", random_state=np.random.default_rng(seed),
        )  # fmt: skip
        return float(found.confidence_interval.low), float(found.confidence_interval.high)
    half = 1.96 * float(deltas.std(ddof=1)) / math.sqrt(n)
    return mean - half, mean + half
