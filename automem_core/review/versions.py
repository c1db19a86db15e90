"""The lineage of scaffold versions: which proposal made each, what became of it, and what it
scored on the gating and held-out seeds, with the evaluation budget spent."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from automem_core.analysis.runs import AGENT_COST_SQL
from automem_core.store.current import latest_sql
from automem_core.store.reader import query_store

LINEAGE_SQL = f"""
WITH latest AS ({latest_sql("proposals")}),
spent AS (
  SELECT e.scaffold_id || '@' || left(e.scaffold_hash, 8) AS version, count(*) AS episodes,
    sum(e.tokens_in + e.tokens_out) AS tokens, sum({AGENT_COST_SQL}) AS agent_cost
  FROM episodes e JOIN runs r USING (run_id) GROUP BY ALL),
gate AS ({latest_sql("evaluations")}),
cost AS (
  SELECT proposal_id, sum(cost_usd) AS reviewer_cost, sum(tokens_in + tokens_out) AS reviewer_tokens
  FROM proposals GROUP BY ALL)
SELECT coalesce(l.candidate_version, l.proposal_id) AS version, l.parent_version AS parent,
  l.proposal_id, l.event AS status, l.summary, l.same_seeds,
  g.mean AS gating, g.parent_mean AS parent_gating, g.delta AS gating_delta,
  h.mean AS heldout, h.parent_mean AS parent_heldout,
  coalesce(s.episodes, 0) AS episodes, coalesce(s.tokens, 0) AS tokens,
  coalesce(s.agent_cost, 0) AS agent_cost,
  c.reviewer_cost, c.reviewer_tokens, l.created_at
FROM latest l
LEFT JOIN gate g ON g.version = l.candidate_version AND g.seed_set = 'gating'
LEFT JOIN gate h ON h.version = l.candidate_version AND h.seed_set = 'heldout'
LEFT JOIN spent s ON s.version = l.candidate_version
LEFT JOIN cost c ON c.proposal_id = l.proposal_id
ORDER BY l.created_at
"""


HELD_OUT_FELL = "accepted, held-out fell"


def lineage(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per proposed version, after one per base version the proposals started from.

    Each candidate's numbers stand beside its parent's on the same pairs (``gating`` and
    ``parent_gating``, ``heldout`` and ``parent_heldout``). A base version has no numbers of its
    own: it scored differently beside each candidate, on that candidate's pairs, and one number
    would compare what differs. An accepted version whose held-out progression fell below its
    parent's is marked as such, never plainly accepted."""
    found = con.execute(LINEAGE_SQL).df()
    fell = (found["status"] == "accepted") & (found["heldout"] < found["parent_heldout"])
    found.loc[fell, "status"] = HELD_OUT_FELL
    bases = sorted(set(found["parent"]) - set(found["version"]))
    rows = [
        {"version": base, "parent": None, "proposal_id": None, "status": "base", "summary": ""}
        for base in bases
    ]
    return pd.concat([pd.DataFrame(rows), found], ignore_index=True) if rows else found


def load_lineage(root: Path) -> pd.DataFrame:
    return query_store(root, lineage, tables=("proposals", "evaluations", "episodes", "runs"))
