"""Memory decisions mined from the log, with the signals that say whether they helped (Loop 2).

Every LOG turn and every PLAN consultation (a PLAN turn that ran ops) is a decision. Its signals,
computed in DuckDB SQL from the episode's turns, memory ops and steps:

- ``retrieved``: for a LOG turn, a line it wrote was returned by a later SEARCH, READ or TAIL
  (``retrieved_by`` names the first such read, ``retrieval_delay`` the steps until it); for a
  PLAN consultation, its own reads returned lines;
- ``progress_after``: that first retrieval (for a consultation: the consultation itself) came
  within ``k`` steps before a reward or a rise in progression;
- ``redundant_write``: every line of one of its writes had been written to that file before;
- ``never_read``: it wrote lines and none of them was ever returned by a later read;
- ``empty_search``: one of its SEARCH ops matched nothing;
- ``early_outcome``: a LOG turn at step t wrote about step t or later (``Step N …`` with N ≥ t):
  the outcome of step t's action cannot have been observed yet, so the LOG invariant broke;
- ``percentile``: the episode's progression percentile among the mined episodes of its task.

The score combines them (:data:`SCORE_FORMULA`, shown on the Decisions page and dataset cards).
Lines are compared whole, as in the diagnostics.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd

from automem_core.analysis.diagnostics import READ_KINDS, WRITE_KINDS
from automem_core.analysis.runs import VERSION_SQL

PROGRESS_WINDOW = 5  # k: steps after a retrieval in which a reward or progression rise counts
WEIGHTS = {
    "retrieved": 1.0,
    "progress_after": 1.0,
    "redundant_write": -0.5,
    "never_read": -0.5,
    "empty_search": -0.5,
    "early_outcome": -2.0,
}
SCORE_FORMULA = (
    " ".join(f"{'+' if w > 0 else '-'} {abs(w):g}·{name}" for name, w in WEIGHTS.items())
    + " + (percentile - 0.5)"
).removeprefix("+ ")
BATCH_EPISODES = 256


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


_SQL = f"""
WITH eps AS (
  SELECT episode_id, run_id, game, task, seed, {VERSION_SQL} AS scaffold_version, progression,
    percent_rank() OVER (PARTITION BY task ORDER BY progression) AS percentile
  FROM episodes WHERE run_id IN (SELECT run_id FROM _mine_runs)),
batch AS (SELECT * FROM eps WHERE episode_id IN (SELECT episode_id FROM _mine_batch)),
dec AS (
  SELECT t.episode_id, t.step, t.phase, t.turn, hash(t.episode_id, t.step, t.phase, t.turn) AS tk
  FROM turns t
  WHERE t.episode_id BETWEEN $lo AND $hi AND t.episode_id IN (SELECT episode_id FROM batch)
    AND (t.phase = 'log' OR (t.phase = 'plan' AND t.n_ops > 0))),
ops AS NOT MATERIALIZED (
  SELECT episode_id, step, seq, phase, turn, kind, file, ok, hits, result, mutations_json
  FROM memory_ops
  WHERE episode_id BETWEEN $lo AND $hi AND episode_id IN (SELECT episode_id FROM batch)
    AND phase IN ('log', 'plan')),
w AS (
  SELECT episode_id, step, seq, phase, turn, file,
    json_extract_string(mutations_json, '$[0].kind') AS mk,
    json_extract_string(mutations_json, '$[0].text') AS mt,
    json_extract_string(mutations_json, '$[0].key') AS mkey
  FROM ops WHERE ok AND kind IN ({_in(WRITE_KINDS)})),
wl AS (
  SELECT episode_id, step, seq, phase, turn, file, unnest(CASE WHEN mk = 'upsert'
      THEN [replace(replace(mkey || ': ' || mt, chr(13), ' '), chr(10), ' ')]
      ELSE string_split(mt, chr(10)) END) AS line
  FROM w WHERE mk IN ('append', 'write', 'upsert')),
wl_seen AS (
  SELECT *, hash(episode_id, line) AS lh,
    count(*) OVER (PARTITION BY hash(episode_id, file, line) ORDER BY seq
      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS n_before
  FROM wl),
r AS (
  SELECT step, seq, kind, hash(episode_id, line) AS lh FROM (
    SELECT episode_id, step, seq, kind, unnest(string_split(result, chr(10))[2:]) AS line
    FROM ops WHERE ok AND hits > 0 AND kind IN ({_in(READ_KINDS)}))),
first_read AS (
  SELECT wl_seen.*, r.step AS read_step, r.kind AS read_kind
  FROM wl_seen ASOF LEFT JOIN r ON wl_seen.lh = r.lh AND r.seq > wl_seen.seq),
progress AS (
  SELECT hash(episode_id, step) AS pk,
    min(CASE WHEN reward > 0 OR progression > coalesce(prev, 0) THEN step END) OVER (
      PARTITION BY episode_id ORDER BY step
      ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS next_progress
  FROM (SELECT episode_id, step, reward, progression,
          lag(progression) OVER (PARTITION BY episode_id ORDER BY step) AS prev
        FROM steps
        WHERE episode_id BETWEEN $lo AND $hi
          AND episode_id IN (SELECT episode_id FROM batch))),
per_write AS (
  SELECT f.episode_id, f.step, f.phase, f.turn, f.seq,
    bool_and(f.n_before > 0) AS redundant,
    count(*) AS n_lines,
    min(f.read_step) AS read_step,
    arg_min(f.read_kind || '@' || f.read_step, f.read_step) AS read_by,
    max(CASE WHEN regexp_matches(f.line, '(?i)\\bstep\\s+\\d+')
          AND TRY_CAST(regexp_extract(f.line, '(?i)\\bstep\\s+(\\d+)', 1) AS BIGINT) >= f.step
        THEN 1 ELSE 0 END) = 1 AS early
  FROM first_read f GROUP BY ALL),
writes AS (
  SELECT hash(episode_id, step, phase, turn) AS tk,
    sum(n_lines) AS lines_written,
    bool_or(redundant) AS redundant_write,
    min(read_step) AS read_step,
    arg_min(read_by, read_step) AS read_by,
    bool_or(early) AS early_outcome
  FROM per_write GROUP BY tk),
turn_ops AS (
  SELECT hash(episode_id, step, phase, turn) AS tk,
    list_transform(list_sort(list(struct_pack(seq := seq, kind := kind))), lambda x: x.kind)
      AS op_kinds,
    bool_or(kind = 'SEARCH' AND ok AND hits = 0) AS empty_search,
    bool_or(kind IN ({_in(READ_KINDS)}) AND ok AND hits > 0) AS consulted,
    arg_min(kind || '@' || step, seq) FILTER (
      WHERE kind IN ({_in(READ_KINDS)}) AND ok AND hits > 0) AS consult_by
  FROM ops GROUP BY tk)
SELECT d.episode_id || ':' || d.step || ':' || d.phase || ':' || d.turn AS decision_id,
  e.run_id, d.episode_id, e.game, e.task, e.seed, e.scaffold_version, d.step, d.phase, d.turn,
  coalesce(o.op_kinds, []) AS op_kinds,
  coalesce(w.lines_written, 0) AS lines_written,
  CASE WHEN d.phase = 'log' THEN w.read_step IS NOT NULL
       ELSE coalesce(o.consulted, false) END AS retrieved,
  CASE WHEN d.phase = 'log' THEN (CASE WHEN w.read_by IS NULL THEN [] ELSE [w.read_by] END)
       ELSE (CASE WHEN o.consult_by IS NULL THEN [] ELSE [o.consult_by] END) END
    AS retrieved_by,
  CASE WHEN d.phase = 'log' THEN w.read_step - d.step
       WHEN o.consulted THEN 0 END AS retrieval_delay,
  coalesce(CASE WHEN d.phase = 'log' THEN rp.next_progress - w.read_step <= $k
                WHEN o.consulted THEN dp.next_progress - d.step <= $k END, false)
    AS progress_after,
  coalesce(w.redundant_write, false) AS redundant_write,
  coalesce(w.lines_written, 0) > 0 AND w.read_step IS NULL AS never_read,
  coalesce(o.empty_search, false) AS empty_search,
  d.phase = 'log' AND coalesce(w.early_outcome, false) AS early_outcome,
  e.percentile
FROM dec d
JOIN batch e USING (episode_id)
LEFT JOIN turn_ops o ON o.tk = d.tk
LEFT JOIN writes w ON w.tk = d.tk
LEFT JOIN progress rp ON rp.pk = hash(d.episode_id, w.read_step)
LEFT JOIN progress dp ON dp.pk = hash(d.episode_id, d.step)
ORDER BY d.episode_id, d.step, d.phase, d.turn
"""


def score(decisions: pd.DataFrame) -> pd.Series:
    """The documented score (:data:`SCORE_FORMULA`) of each decision."""
    total = decisions["percentile"].astype(float) - 0.5
    for name, weight in WEIGHTS.items():
        total = total + weight * decisions[name].astype(float)
    return total.round(4)


def mine_decisions(
    con: duckdb.DuckDBPyConnection,
    run_ids: Sequence[str],
    k: int = PROGRESS_WINDOW,
    batch: int = BATCH_EPISODES,
) -> pd.DataFrame:
    """Every decision of the episodes of ``run_ids``, with its signals and score (a batch of
    episodes at a time, so memory stays bounded however long the runs are)."""
    con.register("_mine_runs", pd.DataFrame({"run_id": list(run_ids)}))
    episodes = con.execute(
        "SELECT episode_id FROM episodes WHERE run_id IN (SELECT run_id FROM _mine_runs) "
        "ORDER BY episode_id"
    ).fetchall()
    ids = [e for (e,) in episodes]
    frames = []
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        con.register("_mine_batch", pd.DataFrame({"episode_id": chunk}))
        params = {"lo": chunk[0], "hi": chunk[-1], "k": k}
        # Through Arrow: a third faster than .df() for these list and string columns.
        frames.append(con.sql(_SQL, params=params).to_arrow_table().to_pandas())
        con.unregister("_mine_batch")
    con.unregister("_mine_runs")
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    out["score"] = score(out)
    return out
