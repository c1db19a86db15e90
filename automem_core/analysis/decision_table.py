"""The decisions as people label them: each decision (from its run's latest mining), its current
human and judge labels, the verdict its score implies, how many alternative answers it has, its
latest causal value (measured by forks, ``mining/causal.py``) and the exports that took it; and
the alternative answers with their own labels."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from automem_core.analysis.agreement import Agreement, cohen_kappa, score_verdict
from automem_core.store.reader import query_store

TABLES = ("decisions", "labels", "alternatives", "exports", "causal_values")
# A decision's latest causal value: NaN (pandas) where none was measured.
CAUSAL_SQL = """
SELECT decision_id, causal_value, causal_stderr, reward_value AS causal_reward,
  horizon AS causal_horizon, samples AS causal_samples
FROM (SELECT *, row_number() OVER (
        PARTITION BY decision_id ORDER BY created_at DESC, causal_id DESC) AS newest
      FROM causal_values)
WHERE newest = 1
"""
CAUSAL_COLUMNS = ("causal_value", "causal_stderr", "causal_reward", "causal_horizon",
                  "causal_samples")  # fmt: skip
CURRENT_SQL = """
WITH ranked AS (
  SELECT *, row_number() OVER (
    PARTITION BY target_kind, target_id, source = 'human' ORDER BY created_at DESC, label_id DESC
  ) AS newest
  FROM labels WHERE verdict <> 'malformed')
SELECT target_kind, target_id,
  max(verdict) FILTER (WHERE source = 'human' AND newest = 1 AND verdict <> 'cleared') AS human,
  max(author) FILTER (WHERE source = 'human' AND newest = 1 AND verdict <> 'cleared')
    AS human_author,
  max(verdict) FILTER (WHERE source <> 'human' AND newest = 1) AS judge,
  max(source) FILTER (WHERE source <> 'human' AND newest = 1) AS judge_source,
  max(note) FILTER (WHERE source <> 'human' AND newest = 1) AS judge_reason
FROM ranked GROUP BY ALL
"""


def current_labels(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per labelled target: the latest human verdict, the latest judge verdict (and reason),
    and ``label``, the one that counts (human first)."""
    df = con.execute(CURRENT_SQL).df()
    df["label"] = df["human"].where(df["human"].notna(), df["judge"])
    return df


LABEL_COLUMNS = ("human", "judge", "label", "judge_reason", "judge_source", "human_author")


def _with_labels(frame: pd.DataFrame, con: duckdb.DuckDBPyConnection, kind: str) -> pd.DataFrame:
    """``frame`` (keyed by ``<kind>_id``) with each target's current labels beside it."""
    labels = current_labels(con)
    labels = labels[labels["target_kind"] == kind].drop(columns=["target_kind"])
    out = frame.merge(labels, left_on=f"{kind}_id", right_on="target_id", how="left")
    out = out.drop(columns=["target_id"])
    for column in LABEL_COLUMNS:
        out[column] = out[column].astype(object).where(out[column].notna(), None)
    return out


def decisions_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    out = _with_labels(con.execute("SELECT * FROM decisions").df(), con, "decision")
    out["score_verdict"] = out["score"].map(score_verdict)
    alternatives = con.execute(
        "SELECT decision_id, count(DISTINCT alternative_id) AS alternatives FROM alternatives "
        "GROUP BY ALL"
    ).df()
    out = out.merge(alternatives, on="decision_id", how="left")
    out["alternatives"] = out["alternatives"].fillna(0).astype("int64")
    exported = con.execute(
        "SELECT decision_id, list(DISTINCT export_id) AS exports FROM "
        "(SELECT export_id, unnest(decision_ids) AS decision_id FROM exports) GROUP BY ALL"
    ).df()
    out = out.merge(exported, on="decision_id", how="left")
    causal = con.execute(CAUSAL_SQL).df()
    out = out.merge(causal, on="decision_id", how="left")
    for column in CAUSAL_COLUMNS:
        out[column] = out[column].astype("float64")
    out["exports"] = [[] if _missing(e) else [str(x) for x in e] for e in out["exports"]]
    return out.sort_values(["run_id", "episode_id", "step", "phase", "turn"], ignore_index=True)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def load_decisions(root: Path) -> pd.DataFrame:
    return query_store(root, decisions_frame, tables=TABLES)


ALTERNATIVES_SQL = """
SELECT a.alternative_id, a.decision_id, d.run_id, d.episode_id, d.game, d.task, d.seed,
  d.scaffold_version, d.step, d.phase, d.turn, a.model, a.sample, a.completion, a.results_json,
  a.created_at
FROM alternatives a JOIN decisions d USING (decision_id)
ORDER BY d.run_id, d.episode_id, d.step, d.phase, d.turn, a.sample, a.created_at
"""


def alternatives_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every alternative answer of a mined decision, with the decision's place and the
    alternative's own current labels."""
    return _with_labels(con.execute(ALTERNATIVES_SQL).df(), con, "alternative")


def load_alternatives(root: Path) -> pd.DataFrame:
    return query_store(root, alternatives_frame, tables=("decisions", "labels", "alternatives"))


def agreements(decisions: pd.DataFrame) -> dict[str, Agreement]:
    """Human vs judge, human vs score, judge vs score, over the decisions both labelled
    (``unsure`` is a verdict of its own)."""
    human, judge, scored = decisions["human"], decisions["judge"], decisions["score_verdict"]
    return {
        "human vs judge": cohen_kappa(zip(human, judge, strict=True)),
        "human vs score": cohen_kappa(zip(human, scored, strict=True)),
        "judge vs score": cohen_kappa(zip(judge, scored, strict=True)),
    }
