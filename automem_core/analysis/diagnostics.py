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
:func:`episode_diagnostics` computes them from the op log in SQL (the reference, and what Loop 1's
reviewer queries); the writer keeps the same numbers in each episode's row as it writes it
(``store/summary.py``), and the per-run tables here are built from those, so a page over
thousands of episodes reads no op log.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import duckdb
import pandas as pd

from automem_core.memory import READ_ONLY_OPS
from automem_core.store.catalog import scan
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


BATCH_EPISODES = 256  # episodes per query: memory stays bounded however large the store


def episode_diagnostics(
    con: duckdb.DuckDBPyConnection, run_id: str | None = None, batch: int = BATCH_EPISODES
) -> pd.DataFrame:
    """One row per published episode (of ``run_id``): every diagnostic above, computed from the
    op log ``batch`` episodes at a time (sorted, so a compacted part's row groups are skipped
    outside each batch's range of ids)."""
    where, params = _scope(run_id)
    episodes = con.execute(
        f"SELECT episode_id, run_id FROM episodes WHERE {where} ORDER BY episode_id", params
    ).df()
    frames = []
    ids = episodes["episode_id"].tolist()
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        con.register("_diag_batch", pd.DataFrame({"episode_id": chunk}))
        scope = "episode_id BETWEEN ? AND ? AND episode_id IN (SELECT episode_id FROM _diag_batch)"
        bounds = [chunk[0], chunk[-1]]
        steps = con.execute(_STEP_SQL.format(where=scope), bounds).df()
        ops = con.execute(_OPS_SQL.format(where=scope), bounds).df()
        frames.append(steps.merge(ops, on="episode_id", how="outer"))
        con.unregister("_diag_batch")
    found = pd.concat(frames) if frames else pd.DataFrame(columns=["episode_id"])
    out = episodes.merge(found, on="episode_id", how="left")
    counts = [c for c in EPISODE_COLUMNS if c not in ("episode_id", "run_id")]
    out[counts] = out.reindex(columns=counts).fillna(0).astype("int64")
    return out[EPISODE_COLUMNS].reset_index(drop=True)


def store_diagnostics(root: Path, run_id: str | None = None) -> pd.DataFrame:
    """:func:`episode_diagnostics` over the whole store, one run's files at a time."""
    frames = []
    for run in [run_id] if run_id else [r.run_id for r in scan(root)]:
        query = functools.partial(episode_diagnostics, run_id=run)
        tables = ("episodes", "steps", "memory_ops")  # only these: a mirror fetches no more
        frames.append(query_store(root, query, tables=tables, run_ids=[run]))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=EPISODE_COLUMNS)


SUMMARY_SQL = """
SELECT episode_id, run_id, steps, invalid_actions, unchanged_observations,
  longest_zero_reward_streak, oscillations, empty_searches, redundant_writes, writes_never_read,
  writes_checked, agent_ops, op_counts_json, file_lines_json
FROM episodes WHERE {where} ORDER BY episode_id
"""


def episode_summaries(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> pd.DataFrame:
    """The same numbers as :func:`episode_diagnostics`, read from the summary the writer kept in
    each episode's row (cheap: no op log is read), with ops by kind and file lines as JSON."""
    where, params = _scope(run_id)
    return con.execute(SUMMARY_SQL.format(where=where), params).df()


def ops_by_kind(summaries: pd.DataFrame) -> pd.DataFrame:
    """Per run and op kind: agent ops, and ops per step over the run's steps."""
    rows = [
        (run_id, kind, n)
        for run_id, counts in zip(summaries["run_id"], summaries["op_counts_json"], strict=True)
        for kind, n in json.loads(counts).items()
    ]
    ops = pd.DataFrame(rows, columns=["run_id", "kind", "n"])
    ops = ops.groupby(["run_id", "kind"], as_index=False)["n"].sum()
    steps = summaries.groupby("run_id")["steps"].sum().rename("steps")
    ops = ops.join(steps, on="run_id")
    ops["per_step"] = (ops["n"] / ops["steps"].clip(lower=1)).round(3)
    return ops.drop(columns="steps")


def file_growth(summaries: pd.DataFrame) -> pd.DataFrame:
    """Per run and memory file: mean lines at the start and the end of its episodes, and growth
    per 100 steps (from each episode's first and last keyframe)."""
    rows = [
        (run_id, name, start, end, 100.0 * (end - start) / max(int(steps), 1))
        for run_id, steps, files in zip(
            summaries["run_id"], summaries["steps"], summaries["file_lines_json"], strict=True
        )
        for name, (start, end) in json.loads(files).items()
    ]
    columns = ["run", "file", "lines at start", "lines at end", "per 100"]
    growth = pd.DataFrame(rows, columns=columns)
    return growth.groupby(["run", "file"], as_index=False).mean().round(1)


def run_diagnostics(summaries: pd.DataFrame) -> pd.DataFrame:
    """One row per run: the episode diagnostics summed, plus ops per step by kind
    (``<KIND> /step`` columns) and the share of checked writes never read."""
    if summaries.empty:
        return pd.DataFrame(columns=["run", *EPISODE_COLUMNS[2:]])
    counts = summaries[EPISODE_COLUMNS].drop(columns=["episode_id"])
    sums = counts.groupby("run_id").sum()
    sums["never read %"] = (
        100 * sums["writes_never_read"] / sums["writes_checked"].clip(lower=1)
    ).round(1)
    kinds = ops_by_kind(summaries)
    if not kinds.empty:
        wide = kinds.pivot_table(index="run_id", columns="kind", values="per_step", fill_value=0)
        wide.columns = [f"{k} /step" for k in wide.columns]
        sums = sums.join(wide).fillna(0)
    return sums.reset_index().rename(columns={"run_id": "run"})


def load_diagnostics(root: Path, run_id: str | None = None) -> dict[str, pd.DataFrame]:
    """Every diagnostic table of the store (or one run): ``runs``, ``episodes``, ``file_growth``."""

    summaries = query_store(root, lambda con: episode_summaries(con, run_id), tables=("episodes",))
    return {
        "runs": run_diagnostics(summaries),
        "episodes": summaries.drop(columns=["op_counts_json", "file_lines_json"]),
        "file_growth": file_growth(summaries),
    }
