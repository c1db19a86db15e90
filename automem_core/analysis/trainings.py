"""What evaluated each trained specialist: the runs that name its training, beside the base-model
runs of the same game, scaffold version and seeds (the comparison the specialist must win)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from automem_core.analysis.runs import VERSION_SQL, clean_summary, task_stats
from automem_core.store.reader import query_store

_RUNS_SQL = f"""
SELECT run_id, game, {VERSION_SQL} AS version, list_sort(seeds) AS seeds, training_id,
  memory_client, action_client
FROM runs
"""
COLUMNS = ["run", "role", "game", "scaffold", "seeds", "memory client", "action client",
           "clean", "progression", "± se"]  # fmt: skip


def evaluation_runs(con: duckdb.DuckDBPyConnection, training_id: str) -> pd.DataFrame:
    """The runs that evaluate ``training_id`` (role ``specialist``) and the runs without a
    specialist on the same game, version and seeds (role ``base``), with clean progression
    (×100) ± standard error."""
    runs = con.execute(_RUNS_SQL).df()
    mine = runs[runs["training_id"] == training_id]
    keys = {(g, v, tuple(s)) for g, v, s in zip(mine["game"], mine["version"], mine["seeds"],
                                                strict=True)}  # fmt: skip
    plain = runs[runs["training_id"].isna()]
    base = plain[[(g, v, tuple(s)) in keys for g, v, s in zip(
        plain["game"], plain["version"], plain["seeds"], strict=True)]]  # fmt: skip
    stats = task_stats(con)
    out = []
    for role, part in (("specialist", mine), ("base", base)):
        for r in part.itertuples(index=False):
            rows = stats[stats["run_id"] == r.run_id].to_dict("records")
            s = clean_summary(rows)
            seeds = ",".join(str(x) for x in r.seeds)
            out.append([r.run_id, role, r.game, r.version, seeds, r.memory_client,
                        r.action_client, s.n, s.mean, s.stderr])  # fmt: skip
    return pd.DataFrame(out, columns=COLUMNS)


def load_evaluation_runs(root: Path, training_id: str) -> pd.DataFrame:
    return query_store(
        root, lambda con: evaluation_runs(con, training_id), tables=("runs", "episodes")
    )
