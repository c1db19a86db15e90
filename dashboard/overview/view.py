"""Overview: every run with its progression and cost, progression by game × scaffold version,
memory-op statistics per run; pick a run or an episode to open its replay."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import data
from dashboard.charts import ops_per_step_figure, progression_figure
from dashboard.empty import show_empty_store, warn_unreadable
from dashboard.pages import PAGES
from dashboard.widgets import identity

NUM = st.column_config.NumberColumn
TEXT = st.column_config.TextColumn
RUN_COLUMNS = [
    "run",
    "status",
    "game",
    "scaffold",
    "episodes",
    "clean",
    "degraded",
    "failed",
    "progression",
    "± se",
    "tokens",
    "agent $",
    "wall time (s)",
    "model",
    "seed_set",
    "tasks",
]
RUN_CONFIG = {
    "run": TEXT("run", width="medium"),
    "status": TEXT(
        "status",
        width="small",
        help=f"running, finished or interrupted (killed: no heartbeat for "
        f"{data.STALE_AFTER_S:.0f} s); unknown: its run.parquet cannot be read",
    ),
    "game": TEXT("game", width="small"),
    "tasks": TEXT("tasks", width="small"),
    "scaffold": TEXT("scaffold", width="small", help="scaffold version: id@content-hash"),
    "episodes": TEXT("episodes", help="published / planned", width="small"),
    "clean": NUM("clean", width="small", help="episodes where every model call answered"),
    "degraded": NUM(
        "degraded", width="small", help="some model calls failed; left out of progression"
    ),
    "failed": NUM(
        "failed",
        width="small",
        help="the episode failed, or too many model calls did; left out of progression",
    ),
    "seed_set": TEXT("seeds", width="small", help="the seed set's role: review, gating, …"),
    "progression": NUM(
        "progression", format="%.1f", help="×100, clean episodes only, mean of task means"
    ),
    "± se": NUM("± se", format="%.1f", help="standard error over episodes", width="small"),
    "tokens": NUM("tokens", format="localized"),
    "wall time (s)": NUM("wall (s)", format="%.0f", width="small"),
}
EPISODE_COLUMNS = [
    "episode_id",
    "task",
    "seed",
    "outcome",
    "steps",
    "progression",
    "total_reward",
    "invalid_actions",
    "failed_calls",
    "tokens",
    "wall_s",
    "error",
]
QUALITY_CONFIG = {
    "run": TEXT("run", width="medium"),
    "empty_searches": NUM("empty searches", help="SEARCH that matched no line", width="small"),
    "redundant_writes": NUM(
        "redundant", help="wrote a line already written to that file", width="small"
    ),
    "writes_never_read": NUM(
        "never read", help="no later SEARCH/READ/TAIL returned the line", width="small"
    ),
    "never read %": NUM("never read %", format="%.0f", width="small"),
}


def open_replay(run_id: str, episode_id: str) -> None:
    st.switch_page(
        PAGES["replay"],
        query_params=identity.keep_in_url({"run": run_id, "episode": episode_id, "step": "0"}),
    )


def totals(runs: pd.DataFrame, stats: pd.DataFrame) -> None:
    cols = st.columns(5)
    cols[0].metric("Runs", len(runs))
    cols[1].metric("Running", int((runs["status"] == "running").sum()))
    cols[2].metric("Episodes", int(stats["episodes"].sum()))
    cols[3].metric("Steps", f"{int(stats['steps'].sum()):,}")
    cols[4].metric("Not clean", int((stats["degraded"] + stats["failed"]).sum()))


def runs_table(runs: pd.DataFrame) -> None:
    """The runs; selecting one makes it the run below."""
    picked = st.dataframe(
        runs,
        key="overview.runs",
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        column_order=RUN_COLUMNS,
        column_config=RUN_CONFIG,
    )
    st.caption("Select a run to see its episodes and open one in the replay.")
    rows = picked.selection.rows if picked is not None else []
    if rows and st.session_state.get("overview.table_row") != rows[0]:
        st.session_state["overview.run"] = runs.iloc[rows[0]]["run"]
    st.session_state["overview.table_row"] = rows[0] if rows else None


def pick_run(runs: pd.DataFrame) -> str:
    st.markdown("**Open a replay**")
    run_ids = runs["run"].tolist()
    if st.session_state.get("overview.run") not in run_ids:
        st.session_state["overview.run"] = run_ids[0]
    run_id: str = st.selectbox("Run", run_ids, key="overview.run")
    return run_id


def pick_episode(run_id: str, episodes: pd.DataFrame) -> None:
    """The run's episode picker with an "Open replay" button."""
    labels = {
        e.episode_id: f"{e.task} · seed {e.seed} · {e.steps} steps · "
        f"{100 * e.progression:.0f}% · {e.outcome}"
        for e in episodes.itertuples()
    }
    if not labels:
        st.caption("This run has no published episode yet.")
        return
    if st.session_state.get("overview.episode") not in labels:
        st.session_state["overview.episode"] = next(iter(labels))
    episode_id = st.selectbox(
        "Episode", list(labels), key="overview.episode", format_func=lambda e: labels[e]
    )
    if episode_id and st.button(
        "Open replay", key="overview.open", type="primary", icon=":material/replay:"
    ):
        open_replay(run_id, episode_id)


def episodes_table(run_id: str, episodes: pd.DataFrame) -> None:
    """The run's episodes; selecting one opens its replay."""
    st.subheader(f"Episodes of {run_id}")
    shown = episodes[EPISODE_COLUMNS].reset_index(drop=True)
    shown["progression"] = 100 * shown["progression"]  # ×100, as in the runs table
    picked = st.dataframe(
        shown,
        key="overview.episodes",
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            "progression": NUM("progression", format="%.1f", help="×100"),
            "failed_calls": NUM("failed calls", help="model calls that failed after retries"),
            "total_reward": NUM("reward", format="%.2f"),
            "wall_s": NUM("wall (s)", format="%.1f"),
        },
    )
    st.caption("Select an episode to open its replay.")
    rows = picked.selection.rows if picked is not None else []
    chosen = shown.iloc[rows[0]]["episode_id"] if rows else None
    if chosen is not None and st.session_state.get("overview.table_episode") != chosen:
        st.session_state["overview.table_episode"] = chosen
        open_replay(run_id, chosen)
    st.session_state["overview.table_episode"] = chosen


def memory_ops(root: Path, token: str, run_id: str) -> None:
    """Ops per step by kind, empty searches, redundant writes, writes never read (of the chosen
    run, or of every run side by side), and the chosen run's file growth."""
    st.subheader("Memory operations")
    every = st.toggle(
        "Compare every run",
        key="overview.ops_all",
        help="reads every episode's summary; the first time takes longer on a large store",
    )
    stats = data.op_stats(str(root), token) if every else data.run_op_stats(root, run_id)
    if stats.empty:
        st.caption("No memory operations logged yet.")
        return
    chart_col, table_col = st.columns([4, 5])
    chart_col.plotly_chart(ops_per_step_figure(stats), key="overview.ops_chart")
    quality = stats[["run", "empty_searches", "redundant_writes", "writes_never_read"]].copy()
    quality["never read %"] = 100 * stats["writes_never_read"] / stats["writes_checked"].clip(1)
    table_col.dataframe(
        quality, key="overview.op_quality", hide_index=True, column_config=QUALITY_CONFIG
    )
    st.markdown(f"**File growth** of {run_id} (mean over its episodes)")
    growth = data.run_file_growth(root, run_id)
    st.dataframe(
        growth.drop(columns=["run"]),
        key="overview.growth",
        hide_index=True,
        column_config={"per 100": NUM("lines per 100 steps", format="%.1f")},
    )


if "episode" in st.query_params:  # a deep link to the app's root opens the replay
    st.switch_page(PAGES["replay"], query_params=st.query_params.to_dict())

root = data.data_root()
token = data.store_token(root)
st.title("Runs")
if not token:
    show_empty_store(root, "overview")
    st.stop()
warn_unreadable(root)
published = data.episodes_token(root)  # the heavy tables ignore run heartbeats
runs = data.runs_table(str(root), token)
if runs.empty:
    st.info("No run can be read yet; the warning above names the files left out.")
    st.stop()
if (runs["status"] == "running").any():
    st.caption(":material/sync: A run is in progress: this page refreshes as its episodes finish.")
    st.fragment(run_every=5)(data.rerun_if_changed)(root, token, data.stale_at(runs))
totals(runs, data.task_stats(str(root), published))
runs_table(runs)
left, right = st.columns([3, 2])
with right:
    run_id = pick_run(runs)
    episodes = data.run_episodes(root, run_id)
    pick_episode(run_id, episodes)
with left:
    chart = data.progression_by_version(str(root), published)
    if chart.empty:
        st.caption("No finished episodes yet, so no progression chart.")
    else:
        groups = chart.groupby("comparison")["scaffold"].nunique().sort_values(ascending=False)
        chosen = st.selectbox(
            "Compare versions on", list(groups.index), key="overview.comparison",
            help="Versions are compared only on the same seed set and step cap: pooling runs "
            "of other seeds or lengths would make a version look better or worse than it is",
        )  # fmt: skip
        shown = chart[chart["comparison"] == chosen]
        st.plotly_chart(progression_figure(shown, str(chosen)), key="overview.progression")
episodes_table(run_id, episodes)
memory_ops(root, published, run_id)
