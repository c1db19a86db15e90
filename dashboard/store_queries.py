"""Store-wide queries: runs, episodes, progression by scaffold version, op statistics, file growth.

Tables come from DuckDB views over the published Parquet (``automem_core.store``) and are keyed by
a token of the published files and their mtimes, so a finished episode of a run still in progress
shows up on the next rerun.
"""

from __future__ import annotations

import glob
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from automem_core.metrics import by_task, game_mean
from automem_core.reports import summarise_runs
from automem_core.store.layout import DATA_ENV, Layout
from automem_core.store.memory_at import memory_state_at_dir
from automem_core.store.reader import connect
from dashboard.episode_queries import episode_mtime

REPO = Path(__file__).resolve().parent.parent


def data_root() -> Path:
    """``--data DIR`` (after ``streamlit run dashboard/app.py --``), $AUTOMEM_DATA, or data/."""
    args = sys.argv[1:] if sys.argv and sys.argv[0].endswith("app.py") else []
    for i, arg in enumerate(args):
        if arg == "--data" and i + 1 < len(args):
            return Path(args[i + 1])
        if arg.startswith("--data="):
            return Path(arg.split("=", 1)[1])
    return Path(os.environ.get(DATA_ENV) or "data")


def store_token(root: Path) -> str:
    """Changes whenever a run file or a published episode appears or is rewritten."""
    runs = Layout(root).runs
    paths = glob.glob(str(runs / "*" / "run.parquet"))
    paths += glob.glob(str(runs / "*" / "episodes" / "*" / "episodes.parquet"))
    digest = hashlib.sha1()
    for path in sorted(paths):
        try:
            digest.update(f"{path}:{os.stat(path).st_mtime_ns};".encode())
        except FileNotFoundError:  # replaced while we looked
            continue
    return digest.hexdigest() if paths else ""


def rerun_if_changed(root: Path, token: str) -> None:
    """Rerun the whole page when the store changed since ``token`` (a live run published)."""
    if store_token(root) != token:
        st.rerun(scope="app")


def clear_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()


def seed_demo(root: Path) -> tuple[bool, str]:
    """Run ``automem demo --data root``; (succeeded, the output's last lines)."""
    cmd = [sys.executable, "-m", "automem_core.cli", "demo", "--data", str(root), "--quiet"]
    try:
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-20:])
    return done.returncode == 0, tail


@st.cache_data(show_spinner=False)
def runs_table(root: str, token: str) -> pd.DataFrame:
    """One row per run: settings, episodes, progression mean ± standard error, cost, errors."""
    con = connect(Path(root))
    extra = {
        r[0]: r[1:]
        for r in con.execute(
            "SELECT r.run_id, r.tasks, coalesce(sum(e.wall_s), 0) "
            "FROM runs r LEFT JOIN episodes e USING (run_id) GROUP BY ALL"
        ).fetchall()
    }
    con.close()
    rows = []
    for s in summarise_runs(Path(root)):
        tasks, wall = extra.get(s.run_id, ([], 0.0))
        rows.append(
            {
                "run": s.run_id,
                "status": s.status,
                "game": s.game,
                "tasks": ", ".join(tasks),
                "scaffold": s.scaffold_id,
                "model": s.client,
                "episodes": f"{s.episodes} / {s.planned}",
                "progression": s.overall.mean,
                "± se": s.overall.stderr,
                "tokens": s.tokens,
                "wall time (s)": round(float(wall), 1),
                "errors": s.errors,
            }
        )
    return pd.DataFrame(rows)


@st.cache_data(show_spinner=False)
def episodes_table(root: str, token: str) -> pd.DataFrame:
    con = connect(Path(root))
    df = con.execute(
        "SELECT episode_id, run_id, game, task, seed, scaffold_id, status, end_reason, steps, "
        "total_reward, progression, invalid_actions, tokens_in + tokens_out AS tokens, wall_s, "
        "error FROM episodes ORDER BY run_id, task, seed"
    ).df()
    con.close()
    df["outcome"] = np.where(df["status"] == "ok", df["end_reason"], "error")
    return df


@st.cache_data(show_spinner=False)
def progression_by_version(root: str, token: str) -> pd.DataFrame:
    """Per game × scaffold version: progression (mean of task means) ± standard error."""
    con = connect(Path(root))
    rows = con.execute(
        "SELECT game, scaffold_id, task, progression FROM episodes WHERE status = 'ok'"
    ).fetchall()
    con.close()
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
    FROM ops WHERE ok AND hits > 0 AND kind IN ('SEARCH', 'READ', 'TAIL'))
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
"""


@st.cache_data(show_spinner=False)
def op_stats(root: str, token: str) -> pd.DataFrame:
    """Per run: ops per step by kind, empty searches, redundant writes, writes never read."""
    con = connect(Path(root))
    steps = con.execute("SELECT run_id, sum(steps) AS steps FROM episodes GROUP BY ALL").df()
    kinds = con.execute(
        "SELECT e.run_id, o.kind, count(*) AS n, "
        "count(*) FILTER (WHERE o.kind = 'SEARCH' AND o.ok AND o.hits = 0) AS empty "
        "FROM memory_ops o JOIN episodes e USING (episode_id) WHERE o.phase <> 'helper' "
        "GROUP BY ALL"
    ).df()
    quality = con.execute(_OP_STATS_SQL).df()
    con.close()
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
    """Per run and memory file: mean lines at the start and end of episodes, growth per 100."""
    rows = []
    for e in episodes_table(root, token).itertuples():
        folder = Layout(Path(root)).episode_dir(e.run_id, e.episode_id)
        mtime = episode_mtime(folder)
        if mtime < 0:
            continue
        for name, (start, end) in _file_lines(str(folder), mtime, int(e.steps) - 1).items():
            rows.append((e.run_id, name, start, end, 100 * (end - start) / max(1, int(e.steps))))
    df = pd.DataFrame(rows, columns=["run", "file", "lines at start", "lines at end", "per 100"])
    return df.groupby(["run", "file"], as_index=False).mean().round(1)
