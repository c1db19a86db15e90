"""Store-wide queries: runs, episodes, progression by scaffold version, op statistics, file growth.

Tables come from DuckDB views over the published Parquet (``automem_core.store``). The heavy
tables are keyed by a token of the published episode files and their mtimes, so a finished episode
of a run still in progress shows up on the next rerun; the runs table is keyed by that token plus
one of the ``run.parquet`` files, so a live run's heartbeat (a rewritten ``run.parquet``) costs
one small query, not a rescan of the op log. A run still marked ``running`` whose heartbeat is
older than :data:`STALE_AFTER_S` is shown as ``interrupted``.
"""

from __future__ import annotations

import glob
import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import duckdb
import numpy as np
import pandas as pd
import streamlit as st

from automem_core.metrics import by_task, game_mean
from automem_core.store.layout import DATA_ENV, Layout
from automem_core.store.memory_at import memory_state_at_dir
from automem_core.store.reader import connect, readable_files
from automem_core.store.schema import TABLES
from dashboard.episode_queries import READ_ERRORS, READ_KINDS, episode_mtime

REPO = Path(__file__).resolve().parent.parent
# The engine rewrites run.parquet at least every 30 s while a run is alive; a run whose last
# heartbeat is older than this was killed without closing its run row.
STALE_AFTER_S = 120.0
UNKNOWN = "unknown"  # the status of a run whose run.parquet cannot be read
RUN_COLUMNS = [
    "run",
    "status",
    "game",
    "tasks",
    "scaffold",
    "model",
    "episodes",
    "progression",
    "± se",
    "tokens",
    "wall time (s)",
    "errors",
    "updated_at",
]
T = TypeVar("T")


def data_root() -> Path:
    """``--data DIR`` (after ``streamlit run dashboard/app.py --``), $AUTOMEM_DATA, or data/."""
    args = sys.argv[1:] if sys.argv and sys.argv[0].endswith("app.py") else []
    for i, arg in enumerate(args):
        if arg == "--data" and i + 1 < len(args):
            return Path(args[i + 1])
        if arg.startswith("--data="):
            return Path(arg.split("=", 1)[1])
    return Path(os.environ.get(DATA_ENV) or "data")


def _files_token(paths: list[str]) -> str:
    digest = hashlib.sha1()
    for path in sorted(paths):
        try:
            digest.update(f"{path}:{os.stat(path).st_mtime_ns};".encode())
        except FileNotFoundError:  # replaced while we looked
            continue
    return digest.hexdigest() if paths else ""


def episodes_token(root: Path) -> str:
    """Changes whenever an episode is published or republished (not on a run's heartbeat)."""
    return _files_token(glob.glob(Layout(root).table_glob("episodes")))


def runs_token(root: Path) -> str:
    """Changes whenever a ``run.parquet`` is written (run start, heartbeat, close)."""
    return _files_token(glob.glob(Layout(root).table_glob("runs")))


def store_token(root: Path) -> str:
    """Changes whenever a run file or a published episode appears or is rewritten ("": none)."""
    episodes, runs = episodes_token(root), runs_token(root)
    return f"{episodes}:{runs}" if episodes or runs else ""


def effective_status(status: str, updated_at: str | None, now: datetime) -> str:
    """The run's status as shown: ``running`` with no heartbeat for :data:`STALE_AFTER_S`
    seconds is ``interrupted`` (its process was killed before it could say so)."""
    if status != "running":
        return status
    beat = _parse_time(updated_at)
    if beat is None or (now - beat).total_seconds() > STALE_AFTER_S:
        return "interrupted"
    return status


def _parse_time(value: str | None) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def stale_at(runs: pd.DataFrame) -> float | None:
    """When (epoch seconds) the first run now shown as running turns ``interrupted`` if its
    heartbeat stops; None when no run is running."""
    live = runs[runs["status"] == "running"]
    beats = [_parse_time(u) for u in live["updated_at"]]
    times = [b.timestamp() + STALE_AFTER_S for b in beats if b is not None]
    return min(times) if times else None


def rerun_if_changed(root: Path, token: str, stale: float | None = None) -> None:
    """Rerun the whole page when the store changed since ``token`` (a live run published or beat)
    or a run shown as running has gone quiet past its heartbeat deadline ``stale``."""
    if store_token(root) != token or (stale is not None and datetime.now(UTC).timestamp() > stale):
        st.rerun(scope="app")


def clear_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()


def seed_demo(root: Path) -> tuple[bool, str]:
    """Run ``automem demo --data ROOT`` (absolute, so the demo lands where the dashboard reads
    whatever the working directory); (succeeded, its last stderr line when it failed)."""
    cmd = [sys.executable, "-m", "automem_core.cli", "demo", "--data", str(root.resolve())]
    cmd.append("--quiet")
    try:
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    if done.returncode == 0:
        return True, ""
    for stream in (done.stderr, done.stdout):
        lines = [line.strip() for line in stream.splitlines() if line.strip()]
        if lines:
            return False, lines[-1]
    return False, f"`automem demo` exited with status {done.returncode}"


def with_store(root: Path, query: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    """``query`` on a fresh connection to the store. The views are built over the files present
    when connecting; when a run replaced a folder since (a re-played episode), DuckDB raises an
    IOException: connect again over the files there now and retry once."""
    try:
        return _on_connection(root, query)
    except duckdb.IOException:
        return _on_connection(root, query)


def _on_connection(root: Path, query: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    con = connect(root)
    try:
        return query(con)
    finally:
        con.close()


@st.cache_data(show_spinner=False)
def unreadable_files(root: str, table: str, token: str) -> list[str]:
    """The files of ``table`` whose Parquet footer does not read (left out of every query)."""
    return readable_files(Layout(Path(root)).table_glob(table))[1]


def store_problems(root: Path) -> list[str]:
    """Every unreadable file of the store, relative to ``root``."""
    tokens = {"runs": runs_token(root), "episodes": episodes_token(root)}
    bad: list[str] = []
    for table in TABLES:
        token = tokens["runs" if table == "runs" else "episodes"]
        bad += unreadable_files(str(root), table, token)
    return sorted(os.path.relpath(p, root) for p in bad)


def runs_table(root: str, token: str, now: datetime | None = None) -> pd.DataFrame:
    """One row per run, with its status as of ``now`` (see :func:`effective_status`)."""
    runs = _runs_table(root, token).copy()
    now = now or datetime.now(UTC)
    runs["status"] = [
        effective_status(s, u, now) for s, u in zip(runs["status"], runs["updated_at"], strict=True)
    ]
    return runs


_RUNS_SQL = (
    "SELECT run_id, game, tasks, scaffold_id, memory_client, status, episodes_planned, "
    "updated_at FROM runs ORDER BY created_at, run_id"
)
_RUN_EPISODES_SQL = (
    "SELECT run_id, game, task, scaffold_id, memory_client, status, progression, "
    "tokens_in + tokens_out, wall_s FROM episodes ORDER BY run_id, task, seed"
)


@st.cache_data(show_spinner=False)
def _runs_table(root: str, token: str) -> pd.DataFrame:
    """One row per run: settings, episodes, progression mean ± standard error, cost, errors.

    A run whose ``run.parquet`` cannot be read is still listed when it has published episodes,
    with its game, scaffold and model taken from them and status ``unknown``."""
    runs, episodes = with_store(
        Path(root),
        lambda con: (con.execute(_RUNS_SQL).fetchall(), con.execute(_RUN_EPISODES_SQL).fetchall()),
    )
    by_run: dict[str, list[tuple]] = {}
    for e in episodes:
        by_run.setdefault(e[0], []).append(e)
    listed = {r[0] for r in runs}
    orphans = [
        (run_id, eps[0][1], sorted({e[2] for e in eps}), eps[0][3], eps[0][4], UNKNOWN, None, None)
        for run_id, eps in sorted(by_run.items())
        if run_id not in listed
    ]
    rows = []
    for run_id, game, tasks, scaffold, client, status, planned, updated in [*runs, *orphans]:
        eps = by_run.get(run_id, [])
        overall = game_mean(by_task((e[2], e[6]) for e in eps if e[5] == "ok"))
        rows.append(
            [
                run_id,
                status,
                game,
                ", ".join(tasks),
                scaffold,
                client,
                f"{len(eps)} / {'?' if planned is None else planned}",
                overall.mean,
                overall.stderr,
                sum(int(e[7]) for e in eps),
                round(float(sum(e[8] for e in eps)), 1),
                sum(1 for e in eps if e[5] != "ok"),
                updated,
            ]
        )
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


@st.cache_data(show_spinner=False)
def episodes_table(root: str, token: str) -> pd.DataFrame:
    df = with_store(
        Path(root),
        lambda con: con.execute(
            "SELECT episode_id, run_id, game, task, seed, scaffold_id, status, end_reason, steps, "
            "total_reward, progression, invalid_actions, tokens_in + tokens_out AS tokens, "
            "wall_s, error FROM episodes ORDER BY run_id, task, seed"
        ).df(),
    )
    df["outcome"] = np.where(df["status"] == "ok", df["end_reason"], "error")
    return df


@st.cache_data(show_spinner=False)
def progression_by_version(root: str, token: str) -> pd.DataFrame:
    """Per game × scaffold version: progression (mean of task means) ± standard error."""
    rows = with_store(
        Path(root),
        lambda con: con.execute(
            "SELECT game, scaffold_id, task, progression FROM episodes WHERE status = 'ok'"
        ).fetchall(),
    )
    groups: dict[tuple[str, str], list[tuple[str, float]]] = {}
    for game, scaffold, task, prog in rows:
        groups.setdefault((game, scaffold), []).append((task, prog))
    out = []
    for (game, scaffold), values in sorted(groups.items()):
        s = game_mean(by_task(values))
        version = scaffold.removeprefix(f"{game}-")
        out.append(
            {
                "game": game,
                "scaffold": scaffold,
                "version": version,
                "mean": s.mean,
                "se": s.stderr,
                "episodes": s.n,
            }
        )
    return pd.DataFrame(out, columns=["game", "scaffold", "version", "mean", "se", "episodes"])


_OP_STATS_SQL = """
WITH ops AS (
  SELECT e.run_id, o.* FROM memory_ops o JOIN episodes e USING (episode_id)
  WHERE o.phase <> 'helper'),
w AS (
  SELECT run_id, episode_id, seq, file,
    json_extract_string(mutations_json, '$[0].kind') AS mk,
    json_extract_string(mutations_json, '$[0].text') AS mt,
    json_extract_string(mutations_json, '$[0].key') AS mkey
  FROM ops WHERE ok AND kind IN ('APPEND', 'WRITE', 'UPSERT', 'UPSERT_MAP')),
wl AS (
  SELECT run_id, episode_id, seq, file, unnest(CASE WHEN mk = 'upsert'
      THEN [replace(replace(mkey || ': ' || mt, chr(13), ' '), chr(10), ' ')]
      ELSE string_split(mt, chr(10)) END) AS line
  FROM w WHERE mk IN ('append', 'write', 'upsert')),
rl AS (
  SELECT episode_id, max(seq) AS last_read, line FROM (
    SELECT episode_id, seq, unnest(string_split(result, chr(10))[2:]) AS line
    FROM ops WHERE ok AND hits > 0 AND kind IN (READ_KINDS))
  GROUP BY episode_id, line),
per_write AS (
  SELECT wl.run_id, wl.episode_id, wl.seq,
    bool_or(coalesce(rl.last_read > wl.seq, false)) AS was_read,
    bool_and(wl.n_before > 0) AS redundant
  FROM (SELECT *, count(*) OVER (PARTITION BY episode_id, file, line ORDER BY seq
          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS n_before FROM wl) wl
  LEFT JOIN rl ON rl.episode_id = wl.episode_id AND rl.line = wl.line
  GROUP BY ALL)
SELECT run_id, count(*) FILTER (WHERE redundant) AS redundant_writes,
  count(*) FILTER (WHERE NOT was_read) AS writes_never_read,
  count(*) AS writes_checked
FROM per_write p GROUP BY run_id
""".replace("READ_KINDS", ", ".join(f"'{k}'" for k in READ_KINDS))


def _op_tables(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, ...]:
    steps = con.execute("SELECT run_id, sum(steps) AS steps FROM episodes GROUP BY ALL").df()
    kinds = con.execute(
        "SELECT e.run_id, o.kind, count(*) AS n, "
        "count(*) FILTER (WHERE o.kind = 'SEARCH' AND o.ok AND o.hits = 0) AS empty "
        "FROM memory_ops o JOIN episodes e USING (episode_id) WHERE o.phase <> 'helper' "
        "GROUP BY ALL"
    ).df()
    return steps, kinds, con.execute(_OP_STATS_SQL).df()


@st.cache_data(show_spinner=False)
def op_stats(root: str, token: str) -> pd.DataFrame:
    """Per run: ops per step by kind, empty searches, redundant writes, writes never read."""
    steps, kinds, quality = with_store(Path(root), _op_tables)
    if steps.empty or kinds.empty:
        return pd.DataFrame()
    wide = kinds.pivot_table(index="run_id", columns="kind", values="n", fill_value=0)
    per_step = wide.div(steps.set_index("run_id")["steps"].clip(lower=1), axis=0).round(2)
    per_step.columns = [f"{k} /step" for k in per_step.columns]
    empty = kinds.groupby("run_id")["empty"].sum().rename("empty_searches")
    out = steps.set_index("run_id").join(per_step).join(empty)
    out = out.join(quality.set_index("run_id"))
    return out.fillna(0).reset_index().rename(columns={"run_id": "run"})


@st.cache_data(show_spinner=False, max_entries=4096)
def _file_lines(folder: str, mtime: int, last_step: int) -> dict[str, tuple[int, int]]:
    start = memory_state_at_dir(Path(folder), -1)
    end = memory_state_at_dir(Path(folder), last_step)
    names = sorted(set(start) | set(end))
    return {
        n: (len(start[n].lines) if n in start else 0, len(end[n].lines) if n in end else 0)
        for n in names
    }


@st.cache_data(show_spinner=False)
def file_growth(root: str, token: str) -> pd.DataFrame:
    """Per run and memory file: mean lines at the start and end of episodes, growth per 100.
    An episode whose memory log cannot be read (corrupt, or replaced meanwhile) is left out."""
    rows = []
    for e in episodes_table(root, token).itertuples():
        folder = Layout(Path(root)).episode_dir(e.run_id, e.episode_id)
        mtime = episode_mtime(folder)
        if mtime < 0:
            continue
        try:
            lines = _file_lines(str(folder), mtime, int(e.steps) - 1)
        except READ_ERRORS:
            continue
        for name, (start, end) in lines.items():
            rows.append((e.run_id, name, start, end, 100 * (end - start) / max(1, int(e.steps))))
    df = pd.DataFrame(rows, columns=["run", "file", "lines at start", "lines at end", "per 100"])
    return df.groupby(["run", "file"], as_index=False).mean().round(1)
