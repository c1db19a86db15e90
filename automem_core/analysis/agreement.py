"""Agreement between labellers: Cohen's kappa for each pair (scikit-learn), Fleiss' kappa across
all of them (statsmodels), with the number of items each figure rests on.

A labeller is a person (their current label of each decision), the judge, or the verdict the
mined score implies. ``unsure`` is a verdict of its own. Kappa is undefined (None) with no shared
item, or when both labellers gave one and the same verdict throughout.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Agreement:
    pairs: int  # items both labelled
    agreed: int
    kappa: float | None  # None when undefined (no items, or one verdict only on both sides)
    table: dict[tuple[str, str], int]  # (first's verdict, second's verdict) → count

    @property
    def observed(self) -> float | None:
        return self.agreed / self.pairs if self.pairs else None


def cohen_kappa(pairs: Iterable[tuple[str | None, str | None]]) -> Agreement:
    """Agreement of two labellers over the items both labelled (Cohen's kappa by
    ``sklearn.metrics.cohen_kappa_score``)."""
    items = [(a, b) for a, b in pairs if a is not None and b is not None]
    table = Counter(items)
    agreed = sum(c for (a, b), c in table.items() if a == b)
    if not items:
        return Agreement(0, 0, None, {})
    if len({v for item in items for v in item}) < 2:
        return Agreement(len(items), agreed, None, dict(table))
    from sklearn.metrics import cohen_kappa_score

    kappa = float(cohen_kappa_score([a for a, _ in items], [b for _, b in items]))
    return Agreement(len(items), agreed, None if math.isnan(kappa) else kappa, dict(table))


def score_verdict(score: float) -> str:
    """The verdict the mined score implies: good above zero, bad otherwise."""
    return "good" if score > 0 else "bad"


def agreement_matrix(
    people: pd.DataFrame, others: Mapping[str, Mapping[str, str | None]] | None = None
) -> pd.DataFrame:
    """One row per pair of labellers: ``people`` (``target_id``, ``author``, ``verdict``: each
    person's current label) and ``others`` (name → target id → verdict, say the judge and the
    score), with the items they share, how many they agree on, and Cohen's kappa."""
    raters: dict[str, dict[str, str]] = {}
    for author, rows in people.groupby("author", sort=True):
        raters[str(author)] = dict(zip(rows["target_id"], rows["verdict"], strict=True))
    for name, verdicts in (others or {}).items():
        raters[name] = {str(k): str(v) for k, v in verdicts.items() if v is not None}
    rows = []
    for a, b in itertools.combinations(raters, 2):
        shared = raters[a].keys() & raters[b].keys()
        found = cohen_kappa((raters[a][t], raters[b][t]) for t in sorted(shared))
        rows.append({
            "first": a, "second": b, "shared items": found.pairs, "agree": found.agreed,
            "agree %": None if found.observed is None else round(100 * found.observed, 1),
            "Cohen's kappa": None if found.kappa is None else round(found.kappa, 3),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=["first", "second", "shared items", "agree", "agree %",
                                       "Cohen's kappa"])  # fmt: skip


@dataclass(frozen=True)
class Fleiss:
    kappa: float | None
    items: int  # items every person labelled
    raters: int


def fleiss_kappa(people: pd.DataFrame) -> Fleiss:
    """Fleiss' kappa over the items every person labelled (``statsmodels``); None with fewer
    than two people, no such item, or one verdict throughout."""
    authors = sorted(people["author"].unique())
    if len(authors) < 2:
        return Fleiss(None, 0, len(authors))
    wide = people.pivot_table(index="target_id", columns="author", values="verdict",
                              aggfunc="last").dropna()  # fmt: skip
    if wide.empty or len(pd.unique(wide.values.ravel())) < 2:
        return Fleiss(None, len(wide), len(authors))
    from statsmodels.stats.inter_rater import aggregate_raters
    from statsmodels.stats.inter_rater import fleiss_kappa as _fleiss

    codes = {v: i for i, v in enumerate(sorted(pd.unique(wide.values.ravel())))}
    counts, _ = aggregate_raters(wide.replace(codes).to_numpy(dtype=int))
    kappa = float(_fleiss(counts))
    return Fleiss(None if math.isnan(kappa) else kappa, len(wide), len(authors))
