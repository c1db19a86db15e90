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

The per-episode part (everything but ``percentile`` and the window ``k``) is what the writer
stores per decision turn in ``turn_signals`` as it records an episode (``store/turn_signals.py``,
kept equal to :data:`SIGNALS_FROM_LOG_SQL` by a test). Mining reads those rows; for episodes
written before that table existed it runs the SQL over the log, about three times slower.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import duckdb
import pyarrow as pa

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
MINING_TABLES = ("episodes", "turns", "memory_ops", "steps", "turn_signals")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


_EPISODES = f"""
eps AS (
  SELECT episode_id, run_id, game, task, seed, {VERSION_SQL} AS scaffold_version, progression,
    percent_rank() OVER (PARTITION BY task ORDER BY progression) AS percentile
  FROM episodes WHERE run_id IN (SELECT run_id FROM _mine_runs)),
batch AS (SELECT * FROM eps WHERE episode_id IN (SELECT episode_id FROM _mine_batch))"""

# Each decision's signals within its episode, from the log: the columns of ``turn_signals``,
# which the writer computes the same way (store/turn_signals.py) for episodes it records.
_SIGNALS_FROM_LOG = f"""
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
  SELECT wl_seen.*, r.seq AS read_seq, r.step AS read_step, r.kind AS read_kind
  FROM wl_seen ASOF LEFT JOIN r ON wl_seen.lh = r.lh AND r.seq > wl_seen.seq),
progress AS (
  SELECT hash(episode_id, step) AS pk,
    min(CASE WHEN reward > 0
               -- before step 0 there was none; a fork's first step rises over nothing
               OR progression > coalesce(prev, CASE WHEN step = 0 THEN 0 ELSE progression END)
             THEN step END) OVER (
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
    min(f.read_seq) AS read_seq,
    arg_min(f.read_step, f.read_seq) AS read_step,
    arg_min(f.read_kind || '@' || f.read_step, f.read_seq) AS read_by,
    max(CASE WHEN regexp_matches(f.line, '(?i)\\bstep\\s+[0-9]+')
          AND TRY_CAST(regexp_extract(f.line, '(?i)\\bstep\\s+([0-9]+)', 1) AS BIGINT) >= f.step
        THEN 1 ELSE 0 END) = 1 AS early
  FROM first_read f GROUP BY ALL),
writes AS (
  SELECT hash(episode_id, step, phase, turn) AS tk,
    sum(n_lines) AS lines_written,
    bool_or(redundant) AS redundant_write,
    arg_min(read_step, read_seq) AS read_step,
    arg_min(read_by, read_seq) AS read_by,
    bool_or(early) AS early_outcome
  FROM per_write GROUP BY tk),
turn_ops AS (
  SELECT hash(episode_id, step, phase, turn) AS tk,
    list_transform(list_sort(list(struct_pack(seq := seq, kind := kind))), lambda x: x.kind)
      AS op_kinds,
    bool_or(kind = 'SEARCH' AND ok AND hits = 0) AS empty_search,
    arg_min(kind || '@' || step, seq) FILTER (
      WHERE kind IN ({_in(READ_KINDS)}) AND ok AND hits > 0) AS consult_by
  FROM ops GROUP BY tk),
sig AS (
  SELECT d.episode_id, d.step, d.phase, d.turn,
    coalesce(o.op_kinds, []) AS op_kinds,
    coalesce(w.lines_written, 0)::BIGINT AS lines_written,
    coalesce(w.redundant_write, false) AS redundant_write,
    coalesce(w.early_outcome, false) AS early_outcome,
    coalesce(o.empty_search, false) AS empty_search,
    w.read_step, w.read_by, rp.next_progress AS read_progress, o.consult_by,
    dp.next_progress AS turn_progress
  FROM dec d
  LEFT JOIN turn_ops o ON o.tk = d.tk
  LEFT JOIN writes w ON w.tk = d.tk
  LEFT JOIN progress rp ON rp.pk = hash(d.episode_id, w.read_step)
  LEFT JOIN progress dp ON dp.pk = hash(d.episode_id, d.step))"""

_SIGNALS_STORED = """
sig AS (
  SELECT * FROM turn_signals
  WHERE episode_id BETWEEN $lo AND $hi AND episode_id IN (SELECT episode_id FROM batch))"""

SCORE_SQL = " + ".join(
    ["(percentile - 0.5)", *(f"({w:g}) * {name}::DOUBLE" for name, w in WEIGHTS.items())]
)

_DECISIONS = f"""
SELECT *, round({SCORE_SQL}, 4) AS score FROM (
  SELECT s.episode_id || ':' || s.step || ':' || s.phase || ':' || s.turn AS decision_id,
    e.run_id, s.episode_id, e.game, e.task, e.seed, e.scaffold_version, s.step, s.phase, s.turn,
    s.op_kinds, s.lines_written,
    CASE WHEN s.phase = 'log' THEN s.read_step IS NOT NULL
         ELSE s.consult_by IS NOT NULL END AS retrieved,
    CASE WHEN s.phase = 'log' THEN (CASE WHEN s.read_by IS NULL THEN [] ELSE [s.read_by] END)
         ELSE (CASE WHEN s.consult_by IS NULL THEN [] ELSE [s.consult_by] END) END
      AS retrieved_by,
    CASE WHEN s.phase = 'log' THEN s.read_step - s.step
         WHEN s.consult_by IS NOT NULL THEN 0 END AS retrieval_delay,
    coalesce(CASE WHEN s.phase = 'log' THEN s.read_progress - s.read_step <= $k
                  WHEN s.consult_by IS NOT NULL THEN s.turn_progress - s.step <= $k END, false)
      AS progress_after,
    s.redundant_write,
    s.lines_written > 0 AND s.read_step IS NULL AS never_read,
    s.empty_search,
    s.phase = 'log' AND s.early_outcome AS early_outcome,
    e.percentile
  FROM sig s JOIN batch e USING (episode_id))"""


def _query(signals: str) -> str:
    return f"WITH {_EPISODES},{signals}{_DECISIONS}"


FROM_LOG_SQL = _query(_SIGNALS_FROM_LOG)
STORED_SQL = _query(_SIGNALS_STORED)
# The signal columns alone, computed from the log (what the writer stores; tests compare them).
SIGNALS_FROM_LOG_SQL = f"WITH {_EPISODES},{_SIGNALS_FROM_LOG}\nSELECT * FROM sig"


def mine_decisions(
    con: duckdb.DuckDBPyConnection,
    run_ids: Sequence[str],
    k: int = PROGRESS_WINDOW,
    batch: int = BATCH_EPISODES,
    use_stored: bool = True,
) -> pa.Table:
    """Every decision of the episodes of ``run_ids``, with its signals and score, in no
    particular order (see :func:`iter_decisions`)."""
    tables = list(iter_decisions(con, run_ids, k, batch, use_stored))
    return pa.concat_tables(tables) if tables else _run_batch(con, STORED_SQL, [], k)


def iter_decisions(
    con: duckdb.DuckDBPyConnection,
    run_ids: Sequence[str],
    k: int = PROGRESS_WINDOW,
    batch: int = BATCH_EPISODES,
    use_stored: bool = True,
) -> Iterator[pa.Table]:
    """The decisions of ``run_ids``, a batch of episodes at a time (so memory stays bounded
    however long the runs are). Signals come from ``turn_signals`` where the writer stored them
    (unless not ``use_stored``), else from the log. ``con`` needs the views of
    ``MINING_TABLES``."""
    con.register("_mine_runs", pa.table({"run_id": pa.array(list(run_ids), pa.string())}))
    mined = "SELECT episode_id FROM episodes WHERE run_id IN (SELECT run_id FROM _mine_runs)"
    ids = [e for (e,) in con.execute(f"{mined} ORDER BY episode_id").fetchall()]
    stored_sql = f"SELECT DISTINCT episode_id FROM turn_signals WHERE episode_id IN ({mined})"
    stored = {e for (e,) in con.execute(stored_sql).fetchall()} if use_stored else set()
    try:
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            for sql, chosen in (
                (STORED_SQL, [e for e in chunk if e in stored]),
                (FROM_LOG_SQL, [e for e in chunk if e not in stored]),
            ):
                if chosen:
                    yield _run_batch(con, sql, chosen, k)
    finally:
        con.unregister("_mine_runs")


def _run_batch(
    con: duckdb.DuckDBPyConnection, sql: str, episode_ids: list[str], k: int
) -> pa.Table:
    con.register("_mine_batch", pa.table({"episode_id": pa.array(episode_ids, pa.string())}))
    lo, hi = (episode_ids[0], episode_ids[-1]) if episode_ids else ("", "")
    try:
        return con.sql(sql, params={"lo": lo, "hi": hi, "k": k}).to_arrow_table()
    finally:
        con.unregister("_mine_batch")
