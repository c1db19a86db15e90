"""The paired gate on hand-made results: pairs of clean episodes only, the strict and the
bootstrap rule, and a candidate that breaks the model's answers more often is rejected."""

from __future__ import annotations

import pandas as pd
import pytest

from automem_core.review.gate import paired_gate


def results(values: dict[tuple[str, int], tuple[str, float]]) -> pd.DataFrame:
    rows = [{"task": t, "seed": s, "status": st, "progression": p}
            for (t, s), (st, p) in values.items()]  # fmt: skip
    return pd.DataFrame(rows)


def test_strict_rule_accepts_a_strictly_higher_mean_over_clean_pairs():
    parent = results({("a", 0): ("ok", 0.2), ("a", 1): ("ok", 0.4), ("a", 2): ("degraded", 0.9)})
    cand = results({("a", 0): ("ok", 0.3), ("a", 1): ("ok", 0.4), ("a", 2): ("ok", 0.0)})
    gate = paired_gate(cand, parent)
    assert (gate.pairs, gate.dropped) == (2, 1)  # seed 2 is not clean on the parent's side
    assert gate.delta == pytest.approx(5.0) and gate.accepted
    assert list(gate.table["outcome"]) == ["fixed", "same"]
    same = paired_gate(parent[parent.seed < 2], parent[parent.seed < 2])
    assert not same.accepted and "did not rise" in same.reason  # equal is not better


def test_bootstrap_rule_needs_the_lower_bound_above_zero():
    parent = results({("a", s): ("ok", 0.5) for s in range(12)})
    noisy = results({("a", s): ("ok", 0.5 + (0.3 if s % 2 else -0.25)) for s in range(12)})
    strict, boot = paired_gate(noisy, parent), paired_gate(noisy, parent, rule="bootstrap")
    assert strict.accepted and not boot.accepted and boot.low <= 0 < boot.high
    better = results({("a", s): ("ok", 0.6 + 0.01 * (s % 3)) for s in range(12)})
    assert paired_gate(better, parent, rule="bootstrap").accepted


def test_more_episodes_that_are_not_clean_reject_the_candidate():
    parent = results({("a", 0): ("ok", 0.1), ("a", 1): ("ok", 0.1), ("a", 2): ("ok", 0.1)})
    cand = results({("a", 0): ("ok", 0.9), ("a", 1): ("ok", 0.9), ("a", 2): ("model_error", 0.0)})
    gate = paired_gate(cand, parent)
    assert not gate.accepted and "more episodes that are not clean (1 vs 0)" in gate.reason
    assert not paired_gate(cand.iloc[0:0], parent).accepted
