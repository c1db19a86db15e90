"""Runs and episodes as tables: status, progression, cost and failure counts.

Progression means count *clean* episodes only (status ``ok``: every model call answered); the
degraded (some calls failed), model-error and failed episodes are counted beside every mean, so a
dead endpoint never looks like a result. A scaffold version is named ``id@hash8`` everywhere.
A run still marked ``running`` whose heartbeat is older than :data:`STALE_AFTER_S` is shown as
``interrupted`` (its process was killed before it could say so).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from automem_core.analysis.summary import Summary, game_mean, summary_from_sums
from automem_core.store.reader import query_store

# A live run rewrites run.parquet at least every 30 s; older than this, it was killed.
STALE_AFTER_S = 120.0
UNKNOWN = "unknown"  # the status of a run whose run.parquet cannot be read
VERSION_SQL = "scaffold_id || '@' || left(scaffold_hash, 8)"
# What an episode's tokens cost at its run's memory-model prices (US dollars; zero unpriced).
AGENT_COST_SQL = """(e.tokens_in * coalesce(TRY_CAST(json_extract_string(r.model_config_json,
  '$.memory.price_in_per_1m') AS DOUBLE), 0) + e.tokens_out * coalesce(TRY_CAST(
  json_extract_string(r.model_config_json, '$.memory.price_out_per_1m') AS DOUBLE), 0)) / 1e6"""
RUN_COSTS_SQL = f"""
SELECT e.run_id, sum({AGENT_COST_SQL}) AS agent_cost
FROM episodes e JOIN runs r USING (run_id) GROUP BY e.run_id
"""
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
  episodes_planned, updated_at, max_steps, model_config_json
FROM runs ORDER BY created_at, run_id
"""
_EPISODES_SQL = f"""
SELECT episode_id, run_id, game, task, seed, {VERSION_SQL} AS scaffold, memory_client, status,
  end_reason, steps, total_reward, progression, invalid_actions, llm_calls, failed_calls,
  failure_defaults, tokens_in + tokens_out AS tokens, wall_s, error,
  unchanged_observations, longest_zero_reward_streak, oscillations, empty_searches,
  redundant_writes, writes_never_read, writes_checked, agent_ops, op_counts_json, file_lines_json,
  parent_episode_id, fork_step, fork_edit_json
FROM episodes ORDER BY run_id, task, seed
"""
RUN_ROW_COLUMNS = [
    "run_id", "game", "tasks", "seed_set", "version", "memory_client", "status",
    "episodes_planned", "updated_at", "max_steps", "model_config_json",
]  # fmt: skip


def episodes_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per published episode; ``outcome`` is how it ended or its failure status."""
    df = con.execute(_EPISODES_SQL).df()
    df["error"] = df["error"].astype(object).where(df["error"].notna(), None)
    df["outcome"] = df["end_reason"].where(df["status"] == "ok", df["status"])
    return df


# Compacted parts carry their per-task totals in the run's manifest (store/part_stats.py, the
# same sums): they are added to the sums over every other episode, so no part file is opened.
TASK_STATS_SQL = f"""
WITH totals AS (
  SELECT run_id, task, game, scaffold_id, scaffold_hash, memory_client, count(*) AS episodes,
    sum(steps) AS steps,
    count(*) FILTER (WHERE status = 'ok') AS clean,
    count(*) FILTER (WHERE status = 'degraded') AS degraded,
    count(*) FILTER (WHERE status IN ('model_error', 'error')) AS failed,
    coalesce(sum(progression) FILTER (WHERE status = 'ok'), 0) AS p_sum,
    coalesce(sum(progression * progression) FILTER (WHERE status = 'ok'), 0) AS p_sumsq,
    sum(tokens_in + tokens_out) AS tokens, sum(wall_s) AS wall_s
  FROM unsummarised_episodes GROUP BY ALL
  UNION ALL BY NAME
  SELECT * FROM part_task_stats)
SELECT run_id, task, any_value(game) AS game, any_value({VERSION_SQL}) AS scaffold,
  any_value(memory_client) AS memory_client, sum(episodes)::BIGINT AS episodes,
  sum(steps)::BIGINT AS steps, sum(clean)::BIGINT AS clean, sum(degraded)::BIGINT AS degraded,
  sum(failed)::BIGINT AS failed, sum(p_sum)::DOUBLE AS p_sum, sum(p_sumsq)::DOUBLE AS p_sumsq,
  sum(tokens)::BIGINT AS tokens, sum(wall_s)::DOUBLE AS wall_s
FROM totals GROUP BY run_id, task ORDER BY run_id, task
"""


def task_stats(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per run and task: episodes by status, the clean episodes' progression sums, cost. Every
    table of runs and versions is built from these few rows, not from every episode."""
    return con.execute(TASK_STATS_SQL).df()


def fork_runs(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The runs whose episodes are forks (``run/fork.py``): they start mid-game from another
    episode, so their progression is no version's and is never compared with a run's."""
    found = con.execute("SELECT DISTINCT run_id FROM episodes WHERE fork_step IS NOT NULL")
    return {str(r[0]) for r in found.fetchall()}


Stats = list[dict[str, Any]]  # rows of task_stats


def task_summaries(stats: Stats) -> dict[str, Summary]:
    """Each task's clean progression, from rows of :func:`task_stats` (summed across runs)."""
    sums: dict[str, list[float]] = {}
    for row in stats:
        acc = sums.setdefault(str(row["task"]), [0, 0.0, 0.0])
        acc[0] += row["clean"]
        acc[1] += row["p_sum"]
        acc[2] += row["p_sumsq"]
    return {t: summary_from_sums(int(n), s, ss) for t, (n, s, ss) in sorted(sums.items())}


def clean_summary(stats: Stats) -> Summary:
    """A game's progression over the clean episodes: the mean of its task means."""
    return game_mean({t: s for t, s in task_summaries(stats).items() if s.n})


def _total(stats: Stats, column: str) -> float:
    return sum(float(row[column]) for row in stats)


def run_rows(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The runs' own rows (settings, status, heartbeat), one per readable ``run.parquet``."""
    return pd.DataFrame(con.execute(_RUNS_SQL).fetchall(), columns=RUN_ROW_COLUMNS)


def runs_frame(
    rows: pd.DataFrame, stats: pd.DataFrame, now: datetime | None = None
) -> pd.DataFrame:
    """One row per run: settings, episodes published / planned, clean / degraded / failed
    counts, progression (clean only) ± standard error, tokens, wall time and status as of ``now``.

    A run whose ``run.parquet`` cannot be read is still listed when it has published episodes,
    with its game, scaffold and model taken from them and status ``unknown``."""
    now = now or datetime.now(UTC)
    groups: dict[str, Stats] = {}
    for row in stats.to_dict("records"):
        groups.setdefault(str(row["run_id"]), []).append(row)
    listed = set(rows["run_id"])
    orphans = [
        (run_id, part[0]["game"], sorted(r["task"] for r in part), None, part[0]["scaffold"],
         part[0]["memory_client"], UNKNOWN, None, None, None, None)
        for run_id, part in groups.items()
        if run_id not in listed
    ]  # fmt: skip
    out = []
    for run_id, game, tasks, seed_set, version, client, status, planned, updated, *_ in [
        *rows.itertuples(index=False, name=None),
        *orphans,
    ]:
        part = groups.get(run_id, [])
        overall = clean_summary(part)
        episodes = int(_total(part, "episodes"))
        out.append(
            [
                run_id,
                effective_status(status, updated, now),
                game,
                ", ".join(tasks),
                seed_set or "",
                version,
                client,
                f"{episodes} / {'?' if planned is None else planned}",
                int(_total(part, "clean")),
                int(_total(part, "degraded")),
                int(_total(part, "failed")),
                overall.mean,
                overall.stderr,
                int(_total(part, "tokens")),
                round(_total(part, "wall_s"), 1),
                updated,
            ]
        )
    return pd.DataFrame(out, columns=RUN_COLUMNS)


def comparison_label(seed_set: object, max_steps: object) -> str:
    """How a comparison group is named: its seed set and step cap."""
    named = str(seed_set) if seed_set not in (None, "") and seed_set == seed_set else "unnamed"
    return f"{named} seeds · {int(max_steps):,} steps"  # type: ignore[call-overload]


def progression_by_version(
    stats: pd.DataFrame, rows: pd.DataFrame, forks: Collection[str] = ()
) -> pd.DataFrame:
    """Per comparison group (seed set × step cap, which must never be pooled: a version played
    on easier seeds or for longer is not better) × game × scaffold version (``id@hash8``): clean
    progression ± standard error, and the degraded and failed episodes left out of it. The
    runs of ``forks`` (:func:`fork_runs`) are left out."""
    settings = rows.set_index("run_id")[["seed_set", "max_steps"]].to_dict("index")
    groups: dict[tuple[str, str, str], Stats] = {}
    for row in stats.to_dict("records"):
        if str(row["run_id"]) in forks:
            continue
        run = settings.get(str(row["run_id"]), {"seed_set": None, "max_steps": 0})
        label = comparison_label(run["seed_set"], run["max_steps"])
        groups.setdefault((label, str(row["game"]), str(row["scaffold"])), []).append(row)
    out = []
    for (label, game, version), part in sorted(groups.items()):
        s = clean_summary(part)
        out.append(
            {
                "comparison": label,
                "game": game,
                "scaffold": version,
                "mean": s.mean,
                "se": s.stderr,
                "episodes": s.n,
                "degraded": int(_total(part, "degraded")),
                "failed": int(_total(part, "failed")),
            }
        )
    columns = ["comparison", "game", "scaffold", "mean", "se", "episodes", "degraded", "failed"]
    return pd.DataFrame(out, columns=columns)


def priced_runs(rows: pd.DataFrame) -> list[str]:
    """The runs whose memory model has a price (only their costs need their episodes read)."""
    found = []
    for run_id, text in zip(rows["run_id"], rows["model_config_json"], strict=True):
        try:
            memory = json.loads(str(text)).get("memory", {})
        except (ValueError, AttributeError):
            continue
        if float(memory.get("price_in_per_1m") or 0) or float(memory.get("price_out_per_1m") or 0):
            found.append(str(run_id))
    return found


def load_run_costs(root: Path, run_ids: Sequence[str] | None = None) -> dict[str, float]:
    """run id → what its episodes' tokens cost at its memory model's prices (US dollars)."""
    found = query_store(
        root, lambda con: con.execute(RUN_COSTS_SQL).fetchall(), tables=("runs", "episodes"),
        run_ids=list(run_ids) if run_ids is not None else None,
    )  # fmt: skip
    return {str(run): float(cost or 0.0) for run, cost in found}


def load_run_rows(root: Path) -> pd.DataFrame:
    return query_store(root, run_rows, tables=("runs",))


def load_episodes(root: Path, run_id: str | None = None) -> pd.DataFrame:
    """Every episode's row (of one run only: then only that run's files are read)."""
    runs = [run_id] if run_id else None
    return query_store(root, episodes_frame, tables=("episodes",), run_ids=runs)


def load_task_stats(root: Path) -> pd.DataFrame:
    return query_store(root, task_stats, tables=("episodes",))


def load_runs(root: Path, now: datetime | None = None) -> pd.DataFrame:
    def query(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
        return runs_frame(run_rows(con), task_stats(con), now)

    return query_store(root, query, tables=("runs", "episodes"))


def load_fork_runs(root: Path) -> set[str]:
    return query_store(root, fork_runs, tables=("episodes",))


def load_progression_by_version(root: Path) -> pd.DataFrame:
    return progression_by_version(load_task_stats(root), load_run_rows(root), load_fork_runs(root))
