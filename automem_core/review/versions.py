"""The lineage of scaffold versions: which proposal made each, what became of it, and what it
scored on the gating and held-out seeds, with the evaluation budget spent."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from automem_core.analysis.runs import VERSION_SQL
from automem_core.store.current import latest_sql
from automem_core.store.reader import query_store

LINEAGE_SQL = f"""
WITH latest AS ({latest_sql("proposals")}),
spent AS (
  SELECT {VERSION_SQL} AS version, count(*) AS episodes, sum(tokens_in + tokens_out) AS tokens
  FROM episodes GROUP BY ALL),
gate AS ({latest_sql("evaluations")}),
cost AS (
  SELECT proposal_id, sum(cost_usd) AS reviewer_cost, sum(tokens_in + tokens_out) AS reviewer_tokens
  FROM proposals GROUP BY ALL)
SELECT coalesce(l.candidate_version, l.proposal_id) AS version, l.parent_version AS parent,
  l.proposal_id, l.event AS status, l.summary, l.same_seeds,
  g.mean AS gating, g.parent_mean AS parent_gating, g.delta AS gating_delta,
  h.mean AS heldout, h.parent_mean AS parent_heldout,
  coalesce(s.episodes, 0) AS episodes, coalesce(s.tokens, 0) AS tokens,
  c.reviewer_cost, c.reviewer_tokens, l.created_at
FROM latest l
LEFT JOIN gate g ON g.version = l.candidate_version AND g.seed_set = 'gating'
LEFT JOIN gate h ON h.version = l.candidate_version AND h.seed_set = 'heldout'
LEFT JOIN spent s ON s.version = l.candidate_version
LEFT JOIN cost c ON c.proposal_id = l.proposal_id
ORDER BY l.created_at
"""


def lineage(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per proposed version, after one per base version the proposals started from
    (its numbers are those it scored as a parent beside its candidates)."""
    found = con.execute(LINEAGE_SQL).df()
    bases = sorted(set(found["parent"]) - set(found["version"]))
    rows = []
    for base in bases:
        means = dict(
            con.execute(
                "SELECT seed_set, arg_max(parent_mean, created_at) FROM evaluations "
                "WHERE parent_version = ? GROUP BY seed_set",
                [base],
            ).fetchall()
        )
        rows.append(
            {"version": base, "parent": None, "proposal_id": None, "status": "base",
             "summary": "", "gating": means.get("gating"), "heldout": means.get("heldout")}
        )  # fmt: skip
    return pd.concat([pd.DataFrame(rows), found], ignore_index=True) if rows else found


def load_lineage(root: Path) -> pd.DataFrame:
    return query_store(root, lineage, tables=("proposals", "evaluations", "episodes"))
