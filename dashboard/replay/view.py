"""Replay: pick a run and an episode, move through its steps; for the step, the frame, the
observation, the LLM turns with their ops, the action, and the memory with its diff.

The page reads only the chosen run's episode list and the chosen episode. A step change reruns
only the step's panels (a fragment): the timeline figure is sent once per episode and a marker
under it follows the step.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import data
from dashboard.empty import show_empty_store, warn_unreadable
from dashboard.pages import PAGES
from dashboard.render import escape_text, markdown_literal
from dashboard.replay import panels
from dashboard.replay import state as rs
from dashboard.widgets import identity, keys

SHOWN_FORKS = 20  # fork links drawn; the table lists every fork


def step_view(found: data.EpisodeFiles, info: pd.Series) -> None:
    """The current step (a fragment). The episode read here follows its rows when a compaction
    moves them; an episode published again, or one that cannot be read, is handled here too,
    since the page's own handlers do not see what a fragment raises when it reruns alone."""
    try:
        _step_view(found, info)
    except data.EpisodeChanged:
        st.rerun(scope="app")  # load the new attempt of the episode
    except data.StoreError as exc:  # it left the store
        st.error(escape_text(str(exc)), icon=":material/error:")
    except data.READ_ERRORS as exc:
        st.error(escape_text(data.read_error(found, exc)), icon=":material/error:")


def _step_view(found: data.EpisodeFiles, info: pd.Series) -> None:
    """Controls, the timeline marker, frame, step, memory, turns."""
    if st.session_state.get(rs.PLAYING) != rs.playback():
        st.rerun(scope="app")  # play or speed changed: rebuild with the new interval
    ep = data.load_episode(found)
    rs.tick(ep.last_step)
    log = keys.key_log(["ArrowLeft", "ArrowRight"], key="replay.keys")
    with log.unseen() as moves:  # each press moves once, whichever run takes it
        delta = sum(1 if k == "ArrowRight" else -1 for k in moves)
        if delta:
            rs.step_by(delta, ep.last_step, ep.first_step)
    step = rs.current_step(ep.first_step, ep.last_step)
    panels.cursor(ep, step)
    panels.controls(ep, step)
    row = ep.step_row(step)
    pixels = info.game == "crafter" or _frame_kind(ep, step) == "png"
    left, right = st.columns([5, 6] if pixels else [6, 5], gap="medium")
    with left:
        panels.step_panel(ep, row, step, pixels)
    with right:
        panels.memory(ep, step)
    panels.turns(ep, step)
    rs.write_url(found.run_id, found.episode_id, step, st.session_state.get(rs.COMPARE))


def _frame_kind(ep: data.EpisodeData, step: int) -> str | None:
    found = data.frame_at(ep, step)
    return found[0] if found else None


def fork_origin(root: Path, info: pd.Series) -> None:
    """For a fork: its parent (a link to the parent at the fork step) and its edit in words."""
    parent = info.get("parent_episode_id")
    if parent is None or pd.isna(parent):
        return
    step = int(info["fork_step"])
    run = data.episode_run(root, str(parent))
    cols = st.columns([3, 2, 4], vertical_alignment="center")
    if run is None:
        cols[0].caption(f"Fork of {markdown_literal(str(parent))} (not here) at step {step}")
    else:
        cols[0].page_link(
            PAGES["replay"], label=f"Fork of {markdown_literal(str(parent))} at step {step}",
            icon=":material/call_split:",
            query_params=identity.keep_in_url(
                {"run": run, "episode": str(parent), "step": str(step)}
            ),
        )  # fmt: skip
        cols[1].page_link(
            PAGES["compare"], label="Beside its parent", icon=":material/compare:",
            query_params=identity.keep_in_url(
                {"compare": f"{info['episode_id']},{parent}", "step": str(step)}
            ),
        )  # fmt: skip
    cols[2].caption("Edit: " + escape_text(data.edit_words(info.get("fork_edit_json"))))


def fork_list(forks: pd.DataFrame) -> None:
    """The episode's forks: a table, and a link to each one's replay at its fork step."""
    if forks.empty:
        return
    with st.expander(f"Forks of this episode ({len(forks)})", icon=":material/call_split:"):
        st.dataframe(
            forks, hide_index=True, key="replay.forks",
            column_config={"progression": st.column_config.NumberColumn(format="%.3f")},
        )  # fmt: skip
        for f in forks.head(SHOWN_FORKS).itertuples():
            label = f"{markdown_literal(str(f.episode_id))} · from step {f.fork_step}"
            st.page_link(
                PAGES["replay"], label=label, icon=":material/replay:",
                query_params=identity.keep_in_url({"run": str(f.run_id),
                                                   "episode": str(f.episode_id),
                                                   "step": str(f.fork_step)}),
            )  # fmt: skip
        if len(forks) > SHOWN_FORKS:
            st.caption(f"and {len(forks) - SHOWN_FORKS} more (see the table)")


def bad_link(run_ids: list[str], episodes: pd.DataFrame) -> str | None:
    """What is wrong with the deep link this page was opened with (None: nothing)."""
    asked = st.session_state.get(rs.BAD_LINK)
    if not asked:
        return None
    run, episode = asked.get("run"), asked.get("episode")
    if run and run not in run_ids:
        return f"The link asks for run {run!r}, which is not in this store."
    if episode not in set(episodes["episode_id"]):
        return f"The link asks for episode {episode!r}, which is not in run {run or '?'}."
    return None


def pickers(root: Path) -> tuple[str, pd.DataFrame, str] | None:
    """Run and episode pickers in the sidebar: (run, its episodes, chosen episode)."""
    run_ids = data.run_ids(root)
    if not run_ids:
        return None
    st.subheader("Episode")
    run_id = rs.choose(run_ids, rs.RUN)
    rs.sync_widget("replay.w_run", run_id)
    st.selectbox("Run", run_ids, key="replay.w_run", on_change=rs.pick_run, args=("replay.w_run",))
    episodes = data.run_episodes(root, run_id)
    if episodes.empty:
        st.caption("This run has no published episode yet.")
        return run_id, episodes, ""
    with st.expander("Filters", expanded=False):
        for column, key in rs.FILTERS.items():
            options = sorted(episodes[column].dropna().unique().tolist())
            st.multiselect(column.capitalize(), options, key=key)
    shown = rs.filtered_episodes(episodes)
    if shown.empty:
        st.warning("No episode of this run matches the filters.")
        return run_id, episodes, ""
    labels = {
        e.episode_id: f"{e.task} · seed {e.seed} · {e.steps} steps · {100 * e.progression:.0f}%"
        + ("" if e.status == "ok" else f" · {e.status}")
        for e in shown.itertuples()
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
    return run_id, episodes, episode_id


root = data.data_root()
rs.adopt_url()
asked = dict(st.session_state.get(rs.BAD_LINK) or {})
if not data.store_token(root):
    st.title("Replay")
    show_empty_store(root, "replay")
    st.stop()
warn_unreadable(root)
with st.sidebar:
    picked = pickers(root)
if picked is None or not picked[2]:
    st.title("Replay")
    st.info("Pick a run with episodes in the sidebar.")
    st.stop()
run_id, episodes, episode_id = picked
problem = bad_link(data.run_ids(root), episodes)
if problem:
    st.title("Replay")
    st.error(escape_text(problem) + " Pick an episode in the sidebar.", icon=":material/link_off:")
    st.stop()
st.session_state.pop(rs.BAD_LINK, None)
if "step" in asked:
    st.warning(
        f"The link's step {escape_text(asked['step'])!r} is not a step number; step 0 is shown."
    )

info = episodes[episodes["episode_id"] == episode_id].iloc[0]
st.subheader(episode_id)
st.caption(
    f"{info.game} · {info.task} · seed {info.seed} · scaffold {info.scaffold} · "
    f"{info.steps} steps · progression {100 * info.progression:.1f}% · {info.outcome}"
)
fork_origin(root, info)
start = 0 if pd.isna(info.get("fork_step")) else int(info["fork_step"])  # a fork's first
same_seed = data.same_seed_episodes(root, str(info.game), str(info.task), int(info.seed))
others = [e for e in same_seed if e != episode_id]
if others:
    with st.expander(f"Side by side with another episode of seed {info.seed} ({len(others)})",
                     icon=":material/compare:"):  # fmt: skip
        beside = st.multiselect("Episodes", others, key="replay.beside", max_selections=3)
        if beside:
            st.page_link(
                PAGES["compare"], label="Open them side by side", icon=":material/compare:",
                query_params=identity.keep_in_url(
                    {"compare": ",".join([episode_id, *beside]), "step": str(start)}
                ),
            )  # fmt: skip
if rs.highlighted():
    cols = st.columns([6, 1], vertical_alignment="center")
    cols[0].caption("Marked: " + " ".join(escape_text(w) for w in rs.highlighted()))
    cols[1].button("Clear marks", key="replay.clear_marks", on_click=rs.clear_highlight)
if info.error:
    with st.expander("This episode ended in an error", icon=":material/error:"):
        st.code(str(info.error), language=None)
found = data.locate(root, run_id, episode_id)
if found is None:
    st.error(f"Episode {escape_text(episode_id)} is not in the store any more.")
    st.stop()
try:
    ep = data.load_episode(found)
    if ep.n_steps == 0:
        st.info("This episode has no steps.")
        st.stop()
    cited = panels.citation(root, episode_id)
    forks = data.episode_forks(root, episode_id)
    fork_list(forks)
    panels.jumps(ep)
    panels.timeline(ep, cited, tuple(int(s) for s in forks["fork_step"]))
    playing, speed = rs.playback()
    st.session_state[rs.PLAYING] = (playing, speed)
    st.fragment(run_every=1.0 / speed if playing else None)(step_view)(found, info)
except data.StoreError as exc:  # it left the store while loading
    st.error(escape_text(str(exc)), icon=":material/error:")
except data.READ_ERRORS as exc:  # one corrupt episode; the rest of the store still works
    st.error(escape_text(data.read_error(found, exc)), icon=":material/error:")
