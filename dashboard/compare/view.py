"""Compare: two to four episodes of the same game, task and seed side by side, in lockstep.

One step control moves every column (← / →, every press kept); each column shows that episode's
frame, action, reward, progression and its memory change at the step; the first divergence (the
first step whose action or observation differs) is marked and can be jumped to, as can the next
step where the episodes act differently. Deep link: ``/compare?compare=EP1,EP2&step=N``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from automem_core.analysis.compare import (
    MAX_EPISODES,
    CompareError,
    Lane,
    check_comparable,
    divergences,
    lane,
    next_divergence,
    progression_frame,
    shown_step,
)
from dashboard import data
from dashboard.empty import show_empty_store
from dashboard.render import diff_files, escape_text, render_diff_html
from dashboard.replay.panels import frame_html
from dashboard.widgets import identity, keys

PAGE = "compare"
CHOSEN, STEP = f"{PAGE}.episodes", f"{PAGE}.step"


def _from_url() -> None:
    """Take the episodes and step of a deep link the first time this session sees it."""
    wanted = str(st.query_params.get("compare") or "")
    if wanted and st.session_state.get(f"{PAGE}.url") != wanted:
        st.session_state[f"{PAGE}.url"] = wanted
        st.session_state[CHOSEN] = [e for e in wanted.split(",") if e]
        try:
            st.session_state[STEP] = max(0, int(st.query_params.get("step", 0)))
        except ValueError:
            st.session_state[STEP] = 0


def _write_url(ids: list[str], step: int) -> None:
    want = {"compare": ",".join(ids), "step": str(step)}
    if {k: st.query_params.get(k) for k in want} != want:
        st.query_params.from_dict(identity.keep_in_url(want))


def picker(episodes: pd.DataFrame) -> list[str]:
    """Choose episodes: the first fixes the game, task and seed the others must share."""
    chosen = [e for e in st.session_state.get(CHOSEN, []) if e in set(episodes["episode_id"])]
    options = episodes
    if chosen:
        first = episodes[episodes["episode_id"] == chosen[0]].iloc[0]
        same = (episodes["game"] == first["game"]) & (episodes["task"] == first["task"])
        options = episodes[same & (episodes["seed"] == first["seed"])]
    st.session_state[CHOSEN] = chosen
    picked: list[str] = st.multiselect(
        f"Episodes (2 to {MAX_EPISODES} of one game, task and seed)",
        sorted(set(options["episode_id"]) | set(chosen)), key=CHOSEN,
        max_selections=MAX_EPISODES,
    )  # fmt: skip
    return picked


def _lanes(loaded: list[data.EpisodeData]) -> tuple[list[Lane], list[int]]:
    """The episodes' lanes and the steps where they differ (kept while the same ones show)."""
    key = tuple((ep.source.episode_id, ep.source.token) for ep in loaded)
    cached = st.session_state.get(f"{PAGE}.lanes")
    if cached is None or cached[0] != key:
        lanes = [lane(ep) for ep in loaded]
        cached = (key, lanes, divergences(lanes))
        st.session_state[f"{PAGE}.lanes"] = cached
    return cached[1], cached[2]


def controls(lanes: list[Lane], diffs: list[int], step: int, moves: list[str]) -> int:
    """The step control shared by every column; returns the step to show."""
    longest = max(ln.end for ln in lanes)
    step += sum(1 if k == "ArrowRight" else -1 for k in moves)
    row = st.container(horizontal=True, vertical_alignment="bottom")
    if row.button("Back · ←", key=f"{PAGE}.prev"):
        step -= 1
    if row.button("Next · →", key=f"{PAGE}.next"):
        step += 1
    first = diffs[0] if diffs else None
    if row.button("First divergence", key=f"{PAGE}.first", disabled=first is None,
                  type="primary"):  # fmt: skip
        step = first if first is not None else step
    later = next_divergence(lanes, step, first)
    if row.button("Next divergence", key=f"{PAGE}.later", disabled=later is None):
        step = later if later is not None else step
    step = max(min(ln.first for ln in lanes), min(step, longest - 1))  # forks start later
    split = "never: the episodes act and see the same throughout" if first is None else str(first)
    row.html(
        f'<div class="am-cmp-where">step <b>{step}</b> of {longest - 1} · first divergence: '
        f"<b>{escape_text(split)}</b> · {len(diffs)} steps differ</div>"
    )
    return step


def column(root: Path, ep: data.EpisodeData, ln: Lane, step: int, first: int | None) -> None:
    at = shown_step(ln, step)
    row = ep.step_row(at)
    ended = f" · ended at step {ln.end - 1}" if step >= ln.end else ""
    if step < ln.first:
        ended = f" · a fork: starts at step {ln.first}"
    split = " · <b>diverged</b>" if first is not None and at >= first else ""
    st.html(
        f'<div class="am-cmp-head"><b>{escape_text(ep.episode_id)}</b>{ended}{split}</div>'
        f'<div class="am-cmp-frame">{frame_html(ep, at)}</div>'
        f'<div class="am-cmp-facts">action <b>{escape_text(str(row["action"]))}</b> · reward '
        f"{float(row['reward']):+g} · progression {100 * float(row['progression']):.1f}%</div>"
    )
    before = data.memory_at_step(ep, at - 1)
    now = data.memory_at_step(ep, at)
    diff = render_diff_html(diff_files(_lines(before), _lines(now)))
    st.html(f'<div class="am-diff-prev am-cmp-diff">{diff}</div>')


def _lines(view: data.MemoryView) -> dict[str, list[str]]:
    return {name: lines for name, (lines, _origins) in view.items()}


def chart(lanes: list[Lane]) -> go.Figure:
    frame = progression_frame(lanes)
    fig = go.Figure()
    for episode, part in frame.groupby("episode", sort=False):
        fig.add_scatter(x=part["step"], y=part["progression"], mode="lines", name=str(episode))
    fig.update_layout(height=200, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      yaxis_title="progression (%)", legend={"orientation": "h"})  # fmt: skip
    return fig


root = data.data_root()
st.title("Compare")
if not data.store_token(root):
    show_empty_store(root, "episodes")
    st.stop()
_from_url()
episodes = data.episodes_table(str(root), data.episodes_token(root))
ids = picker(episodes)
if len(ids) < 2:
    st.info("Choose two to four episodes of one game, task and seed to see them step by step "
            "side by side (or open a gate pair from the Revisions page).")  # fmt: skip
    st.stop()
chosen = episodes[episodes["episode_id"].isin(ids)].drop_duplicates("episode_id")
try:
    check_comparable(chosen)
except CompareError as exc:
    st.error(str(exc))
    st.stop()
loaded = []
for r in chosen.set_index("episode_id").loc[ids].reset_index().itertuples():
    found = data.locate(root, str(r.run_id), str(r.episode_id))
    if found is None:
        st.error(f"{r.episode_id} is not in the store any more.")
        st.stop()
    loaded.append(data.load_episode(found))
lanes, diffs = _lanes(loaded)
st.plotly_chart(chart(lanes), key=f"{PAGE}.chart")


@st.fragment
def lockstep() -> None:
    """The step control and the columns: a step change redraws only these."""
    log = keys.key_log(["ArrowLeft", "ArrowRight"], key=f"{PAGE}.keys")
    with log.unseen() as moves:  # each press moves once, whichever run takes it
        step = controls(lanes, diffs, int(st.session_state.get(STEP, 0)), moves)
        st.session_state[STEP] = step
    _write_url(ids, step)
    first = diffs[0] if diffs else None
    for col, ep, ln in zip(st.columns(len(lanes), gap="small"), loaded, lanes, strict=True):
        with col:
            column(root, ep, ln, step, first)


lockstep()
