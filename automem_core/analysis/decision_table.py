"""The decisions as people label them: each decision (from its run's latest mining), its current
human and judge labels, the verdict its score implies, how many alternative answers it has, its
latest causal value (measured by forks, ``mining/causal.py``) and the exports that took it; and
the alternative answers with their own labels."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import pandas as pd

from automem_core.analysis.agreement import Fleiss, agreement_matrix, fleiss_kappa, score_verdict
from automem_core.analysis.label_policy import resolve
from automem_core.store.current import latest_sql
from automem_core.store.reader import query_store
from automem_core.store.record_rows import LabelPolicy

TABLES = ("decisions", "labels", "alternatives", "exports", "causal_values")
BASE_TABLES = ("decisions", "alternatives", "exports", "causal_values")  # what the base reads
# Each person's own latest label (a withdrawn one, "cleared", is no label), and the judge's
# latest verdict (answers that held none, "malformed", never count).
PEOPLE_SQL = latest_sql("labels", "source = 'human' AND verdict NOT IN ('malformed')")
JUDGE_SQL = latest_sql(
    "labels", "source <> 'human' AND verdict <> 'malformed'", key=("target_kind", "target_id")
)
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


def person_labels(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Each person's current label of each target they labelled."""
    found = con.execute(
        f"SELECT target_kind, target_id, author, verdict, created_at FROM ({PEOPLE_SQL})"
    ).df()
    return found[found["verdict"] != "cleared"].reset_index(drop=True)


def current_labels(
    con: duckdb.DuckDBPyConnection,
    policy: LabelPolicy = "latest",
    adjudicators: Sequence[str] = (),
    people: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per labelled target: the people's label resolved by ``policy`` (``human``, who decided
    it, how many labelled it, whether they disagree, whether it is an unresolved conflict), the
    judge's latest verdict and reason, and ``label``, the one that counts: the people's, else
    (when no person labelled it) the judge's."""
    people = resolve(person_labels(con) if people is None else people, policy, adjudicators)
    judge = con.execute(
        "SELECT target_kind, target_id, verdict AS judge, source AS judge_source, "
        f"note AS judge_reason FROM ({JUDGE_SQL})"
    ).df()
    df = people.merge(judge, on=["target_kind", "target_id"], how="outer")
    df["labellers"] = df["labellers"].fillna(0).astype("int64")
    for flag in ("disagree", "conflict"):
        df[flag] = df[flag].astype("boolean").fillna(False).astype(bool)
    judged = df["judge"].where(~df["conflict"])
    df["label"] = df["human"].where(df["human"].notna(), judged)
    return df


LABEL_COLUMNS = ("human", "judge", "label", "judge_reason", "judge_source", "human_author")


def with_labels(frame: pd.DataFrame, labels: pd.DataFrame, kind: str) -> pd.DataFrame:
    """``frame`` (keyed by ``<kind>_id``) with each target's current labels (a
    :func:`current_labels` frame) beside it."""
    labels = labels[labels["target_kind"] == kind].drop(columns=["target_kind"])
    out = frame.merge(labels, left_on=f"{kind}_id", right_on="target_id", how="left")
    out = out.drop(columns=["target_id"])
    for column in LABEL_COLUMNS:
        out[column] = out[column].astype(object).where(out[column].notna(), None)
    out["labellers"] = out["labellers"].fillna(0).astype("int64")
    for flag in ("disagree", "conflict"):
        out[flag] = out[flag].astype("boolean").fillna(False).astype(bool)
    return out


def decisions_base(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every decision without its labels: the mined row, the verdict its score implies, how many
    alternatives it has, the exports that took it. (Labels change far more often: pages keep
    this apart and add :func:`current_labels` with :func:`with_labels`.)"""
    out = con.execute("SELECT * FROM decisions").df()
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


def decisions_frame(
    con: duckdb.DuckDBPyConnection,
    policy: LabelPolicy = "latest",
    adjudicators: Sequence[str] = (),
) -> pd.DataFrame:
    labels = current_labels(con, policy, adjudicators)
    return with_labels(decisions_base(con), labels, "decision")


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def load_decisions(
    root: Path, policy: LabelPolicy = "latest", adjudicators: Sequence[str] = ()
) -> pd.DataFrame:
    """Every decision with its labels resolved by ``policy`` (see ``label_policy.py``)."""
    return query_store(root, lambda con: decisions_frame(con, policy, adjudicators), tables=TABLES)


ALTERNATIVES_SQL = """
SELECT a.alternative_id, a.decision_id, d.run_id, d.episode_id, d.game, d.task, d.seed,
  d.scaffold_version, d.step, d.phase, d.turn, a.model, a.sample, a.completion, a.results_json,
  a.created_at
FROM alternatives a JOIN decisions d USING (decision_id)
ORDER BY d.run_id, d.episode_id, d.step, d.phase, d.turn, a.sample, a.created_at
"""


def alternatives_frame(
    con: duckdb.DuckDBPyConnection,
    policy: LabelPolicy = "latest",
    adjudicators: Sequence[str] = (),
) -> pd.DataFrame:
    """Every alternative answer of a mined decision, with the decision's place and the
    alternative's own current labels."""
    alternatives = con.execute(ALTERNATIVES_SQL).df()
    return with_labels(alternatives, current_labels(con, policy, adjudicators), "alternative")


def load_alternatives(
    root: Path, policy: LabelPolicy = "latest", adjudicators: Sequence[str] = ()
) -> pd.DataFrame:
    return query_store(
        root,
        lambda con: alternatives_frame(con, policy, adjudicators),
        tables=("decisions", "labels", "alternatives"),
    )


def load_base(root: Path) -> pd.DataFrame:
    return query_store(root, decisions_base, tables=BASE_TABLES)


def load_current_labels(
    root: Path, policy: LabelPolicy = "latest", adjudicators: Sequence[str] = ()
) -> pd.DataFrame:
    return query_store(
        root, lambda con: current_labels(con, policy, adjudicators), tables=("labels",)
    )


def load_label_state(
    root: Path, policy: LabelPolicy = "latest", adjudicators: Sequence[str] = ()
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each person's current labels and the targets' resolved labels, from one read."""

    def read(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
        people = person_labels(con)
        return people, current_labels(con, policy, adjudicators, people)

    return query_store(root, read, tables=("labels",))


ALTERNATIVES_BASE_SQL = """
SELECT a.alternative_id, a.decision_id, a.model, a.sample, a.completion, a.results_json
FROM alternatives a SEMI JOIN decisions d ON a.decision_id = d.decision_id
ORDER BY a.decision_id, a.sample, a.created_at
"""


def load_alternatives_base(root: Path) -> pd.DataFrame:
    """The alternative answers of the mined decisions, without labels."""
    return query_store(
        root, lambda con: con.execute(ALTERNATIVES_BASE_SQL).df(),
        tables=("decisions", "alternatives"),
    )  # fmt: skip


def load_people(root: Path) -> pd.DataFrame:
    """Each person's current label of each decision and alternative (``target_kind``,
    ``target_id``, ``author``, ``verdict``, ``created_at``)."""
    return query_store(root, person_labels, tables=("labels",))


def agreement_tables(decisions: pd.DataFrame, people: pd.DataFrame) -> tuple[pd.DataFrame, Fleiss]:
    """Over ``decisions``: Cohen's kappa for every pair of labellers (each person, the judge,
    the score's verdict) and Fleiss' kappa across the people."""
    shown = set(decisions["decision_id"])
    mine = people[(people["target_kind"] == "decision") & people["target_id"].isin(shown)]
    ids = decisions["decision_id"]
    others = {
        "judge": dict(zip(ids, decisions["judge"], strict=True)),
        "score": dict(zip(ids, decisions["score_verdict"], strict=True)),
    }
    return agreement_matrix(mine, others), fleiss_kappa(mine)
