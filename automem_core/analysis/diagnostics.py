"""Diagnostics per episode and per run, in DuckDB SQL over the store's views.

What Loop 1's reviewer, the Overview page and ``automem diagnostics`` read to see where an agent
manages memory badly. Per episode:

- ``invalid_actions``: steps whose action was not one of the game's (or missing): the default
  was played;
- ``unchanged_observations``: steps whose observation equals the previous step's;
- ``longest_zero_reward_streak``: the longest run of consecutive steps without positive reward;
- ``oscillations``: steps whose observation returns to the one two steps before after a
  different one (A, B, A);
- ``empty_searches``: SEARCH ops that matched no line;
- ``redundant_writes``: written lines (APPEND, WRITE, UPSERT) already written to that file earlier
  in the episode;
- ``writes_never_read``: written lines no later SEARCH, READ or TAIL returned;
- ops per step by kind (agent ops only, not helper writes), and file growth: lines per memory file
  at the start and the end of the episode (from its first and last keyframe).

"Read by" and "redundant" compare whole lines exactly; a line returned by a read counts as read.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from automem_core.memory import READ_ONLY_OPS
from automem_core.store.reader import query_store

# The reads that return memory lines: every read-only op but COUNT (it returns only a number).
READ_KINDS = tuple(sorted(READ_ONLY_OPS - {"COUNT"}))
WRITE_KINDS = ("APPEND", "WRITE", "UPSERT", "UPSERT_MAP")
EPISODE_COLUMNS = [
    "episode_id",
    "run_id",
    "steps",
    "invalid_actions",
    "unchanged_observations",
    "longest_zero_reward_streak",
    "oscillations",
    "empty_searches",
    "redundant_writes",
    "writes_never_read",
    "writes_checked",
    "agent_ops",
]


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


_STEP_SQL = """
WITH s AS (
  SELECT episode_id, step, action_valid, reward, observation,
    lag(observation) OVER w AS prev1, lag(observation, 2) OVER w AS prev2,
    sum(CASE WHEN reward > 0 THEN 1 ELSE 0 END) OVER (
      PARTITION BY episode_id ORDER BY step ROWS UNBOUNDED PRECEDING) AS reward_block
  FROM steps WHERE {where}
  WINDOW w AS (PARTITION BY episode_id ORDER BY step)),
streaks AS (
  SELECT episode_id, reward_block, count(*) FILTER (WHERE NOT reward > 0) AS streak
  FROM s GROUP BY ALL)
SELECT s.episode_id,
  count(*) AS steps,
  count(*) FILTER (WHERE NOT action_valid) AS invalid_actions,
  count(*) FILTER (WHERE observation = prev1) AS unchanged_observations,
  count(*) FILTER (WHERE observation = prev2 AND observation <> prev1) AS oscillations,
  (SELECT max(streak) FROM streaks WHERE streaks.episode_id = s.episode_id)
    AS longest_zero_reward_streak
FROM s GROUP BY s.episode_id
"""

_OPS_SQL = f"""
WITH ops AS (
  SELECT episode_id, seq, kind, file, ok, hits, result, mutations_json
  FROM memory_ops WHERE phase <> 'helper' AND {{where}}),
w AS (
  SELECT episode_id, seq, file,
    json_extract_string(mutations_json, '$[0].kind') AS mk,
    json_extract_string(mutations_json, '$[0].text') AS mt,
    json_extract_string(mutations_json, '$[0].key') AS mkey
  FROM ops WHERE ok AND kind IN ({_in(WRITE_KINDS)})),
wl AS (
  SELECT episode_id, seq, file, unnest(CASE WHEN mk = 'upsert'
      THEN [replace(replace(mkey || ': ' || mt, chr(13), ' '), chr(10), ' ')]
      ELSE string_split(mt, chr(10)) END) AS line
  FROM w WHERE mk IN ('append', 'write', 'upsert')),
rl AS (
  SELECT episode_id, max(seq) AS last_read, line FROM (
    SELECT episode_id, seq, unnest(string_split(result, chr(10))[2:]) AS line
    FROM ops WHERE ok AND hits > 0 AND kind IN ({_in(READ_KINDS)}))
  GROUP BY episode_id, line),
per_write AS (
  SELECT wl.episode_id, wl.seq,
    bool_or(coalesce(rl.last_read > wl.seq, false)) AS was_read,
    bool_and(wl.n_before > 0) AS redundant
  FROM (SELECT *, count(*) OVER (PARTITION BY episode_id, file, line ORDER BY seq
          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS n_before FROM wl) wl
  LEFT JOIN rl ON rl.episode_id = wl.episode_id AND rl.line = wl.line
  GROUP BY ALL),
quality AS (
  SELECT episode_id, count(*) FILTER (WHERE redundant) AS redundant_writes,
    count(*) FILTER (WHERE NOT was_read) AS writes_never_read, count(*) AS writes_checked
  FROM per_write GROUP BY episode_id),
counts AS (
  SELECT episode_id, count(*) AS agent_ops,
    count(*) FILTER (WHERE kind = 'SEARCH' AND ok AND hits = 0) AS empty_searches
  FROM ops GROUP BY episode_id)
SELECT counts.episode_id, agent_ops, empty_searches,
  coalesce(redundant_writes, 0) AS redundant_writes,
  coalesce(writes_never_read, 0) AS writes_never_read,
  coalesce(writes_checked, 0) AS writes_checked
FROM counts LEFT JOIN quality USING (episode_id)
"""


def _scope(run_id: str | None) -> tuple[str, list[str]]:
    """A WHERE clause limiting a table's rows to the episodes of one run (all: ``run_id=None``)."""
    if run_id is None:
        return "true", []
    return "episode_id IN (SELECT episode_id FROM episodes WHERE run_id = ?)", [run_id]


def episode_diagnostics(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> pd.DataFrame:
    """One row per published episode (of ``run_id``): every diagnostic above."""
    where, params = _scope(run_id)
    steps = con.execute(_STEP_SQL.format(where=where), params).df()
    ops = con.execute(_OPS_SQL.format(where=where), params).df()
    episodes = con.execute(f"SELECT episode_id, run_id FROM episodes WHERE {where}", params).df()
    out = episodes.merge(steps, on="episode_id", how="left").merge(ops, on="episode_id", how="left")
    counts = [c for c in EPISODE_COLUMNS if c not in ("episode_id", "run_id")]
    out[counts] = out.reindex(columns=counts).fillna(0).astype("int64")
    return out[EPISODE_COLUMNS].sort_values("episode_id", ignore_index=True)


def ops_by_kind(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> pd.DataFrame:
    """Per run and op kind: agent ops, and ops per step over the run's steps."""
    where, params = _scope(run_id)
    return con.execute(
        f"""
        WITH steps AS (
          SELECT run_id, sum(steps) AS steps FROM episodes WHERE {where} GROUP BY ALL),
        ops AS (
          SELECT e.run_id, o.kind, count(*) AS n
          FROM memory_ops o JOIN episodes e USING (episode_id)
          WHERE o.phase <> 'helper' AND {where.replace("episode_id IN", "o.episode_id IN", 1)}
          GROUP BY ALL)
        SELECT ops.run_id, kind, n, round(n / greatest(steps, 1), 3) AS per_step
        FROM ops JOIN steps USING (run_id) ORDER BY run_id, kind
        """,
        params * 2,
    ).df()


def file_growth(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> pd.DataFrame:
    """Per run and memory file: mean lines at the start and the end of its episodes, and growth
    per 100 steps (from each episode's first and last keyframe)."""
    where, params = _scope(run_id)
    return con.execute(
        f"""
        WITH k AS (
          SELECT episode_id, step, files_json,
            row_number() OVER (PARTITION BY episode_id ORDER BY step) AS first_k,
            row_number() OVER (PARTITION BY episode_id ORDER BY step DESC) AS last_k
          FROM memory_snapshots WHERE {where}),
        lines AS (
          SELECT episode_id, step, first_k = 1 AS is_first, last_k = 1 AS is_last,
            unnest(json_keys(files_json)) AS file, files_json
          FROM k WHERE first_k = 1 OR last_k = 1),
        counted AS (
          SELECT episode_id, file, is_first, is_last, step,
            json_array_length(json_extract(files_json, '$."' || file || '".lines')) AS n
          FROM lines),
        per_episode AS (
          SELECT episode_id, file,
            coalesce(max(n) FILTER (WHERE is_first), 0) AS start_lines,
            coalesce(max(n) FILTER (WHERE is_last), 0) AS end_lines
          FROM counted GROUP BY ALL)
        SELECT e.run_id AS run, p.file, round(avg(start_lines), 1) AS "lines at start",
          round(avg(end_lines), 1) AS "lines at end",
          round(avg(100.0 * (end_lines - start_lines) / greatest(e.steps, 1)), 1) AS "per 100"
        FROM per_episode p JOIN episodes e USING (episode_id)
        GROUP BY ALL ORDER BY run, p.file
        """,
        params,
    ).df()


def run_diagnostics(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> pd.DataFrame:
    """One row per run: the episode diagnostics summed, plus ops per step by kind
    (``<KIND> /step`` columns) and the share of checked writes never read."""
    per_episode = episode_diagnostics(con, run_id)
    if per_episode.empty:
        return pd.DataFrame(columns=["run", *EPISODE_COLUMNS[2:]])
    sums = per_episode.drop(columns=["episode_id"]).groupby("run_id").sum()
    sums["never read %"] = (
        100 * sums["writes_never_read"] / sums["writes_checked"].clip(lower=1)
    ).round(1)
    kinds = ops_by_kind(con, run_id)
    if not kinds.empty:
        wide = kinds.pivot_table(index="run_id", columns="kind", values="per_step", fill_value=0)
        wide.columns = [f"{k} /step" for k in wide.columns]
        sums = sums.join(wide).fillna(0)
    return sums.reset_index().rename(columns={"run_id": "run"})


def load_diagnostics(root: Path, run_id: str | None = None) -> dict[str, pd.DataFrame]:
    """Every diagnostic table of the store (or one run): ``runs``, ``episodes``, ``file_growth``."""

    def query(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
        return {
            "runs": run_diagnostics(con, run_id),
            "episodes": episode_diagnostics(con, run_id),
            "file_growth": file_growth(con, run_id),
        }

    return query_store(root, query)
