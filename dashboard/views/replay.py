"""Replay: pick a run and an episode, move through its steps; for the step, the frame, the
observation, the LLM turns with their ops, the action, and the memory with its diff."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data, replay_panels
from dashboard import replay_state as rs
from dashboard.empty import show_empty_store, warn_unreadable
from dashboard.render import escape_text


def show_episode(found: data.EpisodeFiles, info: pd.Series) -> None:
    """The episode at the current step: controls, timeline, frame, step, memory, turns."""
    ep = data.load_episode(found)
    if ep.n_steps == 0:
        st.info("This episode has no steps.")
        return
    step = rs.current_step(ep.n_steps)
    replay_panels.controls(ep, step)
    replay_panels.timeline(ep, step)
    row = ep.step_row(step)
    crafter = info.game == "crafter"
    left, right = st.columns([5, 6] if crafter else [6, 5], gap="medium")
    with left:
        top = st.columns([1.3, 1]) if crafter else [st.container(), st.container()]
        with top[0]:
            replay_panels.frame(ep, step)
        with top[1]:
            replay_panels.step_summary(ep, row, step)
        replay_panels.observation(row, wrap=crafter)
    with right:
        replay_panels.memory(ep, step)
    st.markdown("**LLM turns** (LOG, then PLAN)")
    replay_panels.turns(ep, step)


root = data.data_root()
token = data.store_token(root)
rs.adopt_url()
if not token:
    st.title("Replay")
    show_empty_store(root, "replay")
    st.stop()

warn_unreadable(root)
runs = data.runs_table(str(root), token)
episodes = data.episodes_table(str(root), data.episodes_token(root))

with st.sidebar:
    st.subheader("Episode")
    with st.expander("Filters", expanded=False):
        for column, key in rs.FILTERS.items():
            options = sorted(episodes[column].dropna().unique().tolist())
            st.multiselect(column.capitalize(), options, key=key)
    shown = rs.filtered_episodes(episodes)
    run_ids = [r for r in runs["run"].tolist() if r in set(shown["run_id"])]
    if not run_ids:
        st.warning("No episode matches the filters.")
        st.stop()
    run_id = rs.choose(run_ids, rs.RUN)
    rs.sync_widget("replay.w_run", run_id)
    st.selectbox("Run", run_ids, key="replay.w_run", on_change=rs.pick_run, args=("replay.w_run",))
    of_run = shown[shown["run_id"] == run_id]
    labels = {
        e.episode_id: f"{e.task} · seed {e.seed} · {e.steps} steps · {100 * e.progression:.0f}%"
        + ("" if e.status == "ok" else " · error")
        for e in of_run.itertuples()
    }
    episode_id = rs.choose(list(labels), rs.EPISODE)
    rs.sync_widget("replay.w_episode", episode_id)
    st.selectbox(
        "Episode",
        list(labels),
        key="replay.w_episode",
        format_func=lambda e: labels[e],
        on_change=rs.pick_episode,
        args=("replay.w_episode",),
    )

info = episodes[episodes["episode_id"] == episode_id].iloc[0]
st.subheader(episode_id)
st.caption(
    f"{info.game} · {info.task} · seed {info.seed} · scaffold {info.scaffold} · "
    f"{info.steps} steps · progression {100 * info.progression:.1f}% · {info.outcome}"
)
if info.error:
    with st.expander("This episode ended in an error", icon=":material/error:"):
        st.code(str(info.error), language=None)
found = data.locate(root, run_id, episode_id)
if found is None:
    st.error(f"Episode {escape_text(episode_id)} is not in the store any more.")
    st.stop()
try:
    show_episode(found, info)
except data.READ_ERRORS as exc:  # one corrupt episode; the rest of the store still works
    st.error(escape_text(data.read_error(found, exc)), icon=":material/error:")
step = int(st.session_state.get(rs.STEP) or 0)
rs.write_url(run_id, episode_id, step, st.session_state.get(rs.COMPARE))
