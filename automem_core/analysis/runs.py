"""Runs and episodes as tables: status, progression, cost and failure counts.

Progression means count *clean* episodes only (status ``ok``: every model call answered); the
degraded (some calls failed), model-error and failed episodes are counted beside every mean, so a
dead endpoint never looks like a result. A scaffold version is named ``id@hash8`` everywhere.
A run still marked ``running`` whose heartbeat is older than :data:`STALE_AFTER_S` is shown as
``interrupted`` (its process was killed before it could say so).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from automem_core.analysis.summary import Summary, by_task, game_mean
from automem_core.store.reader import query_store

# A live run rewrites run.parquet at least every 30 s; older than this, it was killed.
STALE_AFTER_S = 120.0
UNKNOWN = "unknown"  # the status of a run whose run.parquet cannot be read
VERSION_SQL = "scaffold_id || '@' || left(scaffold_hash, 8)"
RUN_COLUMNS = [
    "run",
    "status",
    "game",
    "tasks",
    "seed_set",
    "scaffold",
    "model",
    "episodes",
    "clean",
    "degraded",
    "failed",
    "progression",
    "± se",
    "tokens",
    "wall time (s)",
    "updated_at",
]


def effective_status(status: str, updated_at: str | None, now: datetime) -> str:
    """``running`` with no heartbeat for :data:`STALE_AFTER_S` seconds is ``interrupted``."""
    if status != "running":
        return status
    beat = parse_time(updated_at)
    if beat is None or (now - beat).total_seconds() > STALE_AFTER_S:
        return "interrupted"
    return status


def parse_time(value: str | None) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_RUNS_SQL = f"""
SELECT run_id, game, tasks, seed_set, {VERSION_SQL} AS version, memory_client, status,
  episodes_planned, updated_at
FROM runs ORDER BY created_at, run_id
"""
_EPISODES_SQL = f"""
SELECT episode_id, run_id, game, task, seed, {VERSION_SQL} AS scaffold, memory_client, status,
  end_reason, steps, total_reward, progression, invalid_actions, llm_calls, failed_calls,
  failure_defaults, tokens_in + tokens_out AS tokens, wall_s, error,
  unchanged_observations, longest_zero_reward_streak, oscillations, empty_searches,
  redundant_writes, writes_never_read, writes_checked, agent_ops, op_counts_json, file_lines_json
FROM episodes ORDER BY run_id, task, seed
"""
RUN_ROW_COLUMNS = [
    "run_id", "game", "tasks", "seed_set", "version", "memory_client", "status",
    "episodes_planned", "updated_at",
]  # fmt: skip


def episodes_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per published episode; ``outcome`` is how it ended or its failure status."""
    df = con.execute(_EPISODES_SQL).df()
    df["error"] = df["error"].astype(object).where(df["error"].notna(), None)
    df["outcome"] = df["end_reason"].where(df["status"] == "ok", df["status"])
    return df


def clean_summary(episodes: pd.DataFrame) -> Summary:
    """The game's progression over the clean episodes: the mean of its task means."""
    ok = episodes[episodes["status"] == "ok"]
    return game_mean(by_task(zip(ok["task"], ok["progression"], strict=True)))


def run_rows(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The runs' own rows (settings, status, heartbeat), one per readable ``run.parquet``."""
    return pd.DataFrame(con.execute(_RUNS_SQL).fetchall(), columns=RUN_ROW_COLUMNS)


def runs_frame(
    rows: pd.DataFrame, episodes: pd.DataFrame, now: datetime | None = None
) -> pd.DataFrame:
    """One row per run: settings, episodes published / planned, clean / degraded / failed
    counts, progression (clean only) ± standard error, tokens, wall time and status as of ``now``.

    A run whose ``run.parquet`` cannot be read is still listed when it has published episodes,
    with its game, scaffold and model taken from them and status ``unknown``."""
    now = now or datetime.now(UTC)
    runs = list(rows.itertuples(index=False, name=None))
    groups = {run_id: eps for run_id, eps in episodes.groupby("run_id", sort=True)}
    listed = {r[0] for r in runs}
    orphans = [
        (
            run_id,
            eps["game"].iloc[0],
            sorted(set(eps["task"])),
            None,
            eps["scaffold"].iloc[0],
            eps["memory_client"].iloc[0],
            UNKNOWN,
            None,
            None,
        )
        for run_id, eps in groups.items()
        if run_id not in listed
    ]
    rows = []
    for run_id, game, tasks, seed_set, version, client, status, planned, updated in [
        *runs,
        *orphans,
    ]:
        eps = groups.get(run_id, episodes.iloc[0:0])
        overall = clean_summary(eps)
        rows.append(
            [
                run_id,
                effective_status(status, updated, now),
                game,
                ", ".join(tasks),
                seed_set or "",
                version,
                client,
                f"{len(eps)} / {'?' if planned is None else planned}",
                int((eps["status"] == "ok").sum()),
                int((eps["status"] == "degraded").sum()),
                int(eps["status"].isin(["model_error", "error"]).sum()),
                overall.mean,
                overall.stderr,
                int(eps["tokens"].sum()),
                round(float(eps["wall_s"].sum()), 1),
                updated,
            ]
        )
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def progression_by_version(episodes: pd.DataFrame) -> pd.DataFrame:
    """Per game × scaffold version (``id@hash8``): clean progression ± standard error, and the
    degraded and failed episodes left out of it."""
    out = []
    for (game, version), eps in episodes.groupby(["game", "scaffold"], sort=True):
        s = clean_summary(eps)
        out.append(
            {
                "game": game,
                "scaffold": version,
                "mean": s.mean,
                "se": s.stderr,
                "episodes": s.n,
                "degraded": int((eps["status"] == "degraded").sum()),
                "failed": int(eps["status"].isin(["model_error", "error"]).sum()),
            }
        )
    columns = ["game", "scaffold", "mean", "se", "episodes", "degraded", "failed"]
    return pd.DataFrame(out, columns=columns)


def load_run_rows(root: Path) -> pd.DataFrame:
    return query_store(root, run_rows, tables=("runs",))


def load_episodes(root: Path, run_id: str | None = None) -> pd.DataFrame:
    """Every episode's row (of one run only: then only that run's files are read)."""
    runs = [run_id] if run_id else None
    return query_store(root, episodes_frame, tables=("episodes",), run_ids=runs)


def load_runs(root: Path, now: datetime | None = None) -> pd.DataFrame:
    def query(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
        return runs_frame(run_rows(con), episodes_frame(con), now)

    return query_store(root, query, tables=("runs", "episodes"))


def load_progression_by_version(root: Path) -> pd.DataFrame:
    return progression_by_version(load_episodes(root))
