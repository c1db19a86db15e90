"""The sections of the replay page: controls, timeline, step, turns and the memory panel."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from dashboard import data
from dashboard import replay_state as rs
from dashboard.charts import TIMELINE_MARGIN_L, TIMELINE_MARGIN_R, timeline_figure
from dashboard.data import EpisodeData, MemoryView
from dashboard.render import (
    diff_files,
    escape_block,
    escape_text,
    mark_words,
    png_data_uri,
    render_completion_html,
    render_diff_html,
    render_file_html,
    render_op_results_html,
    render_prompt_html,
    render_step_html,
    render_terminal_html,
)

SPEEDS = (0.5, 1.0, 2.0, 4.0, 8.0)
JUMPS = (
    ("reward", "reward"),
    ("invalid", "invalid action"),
    ("write", "memory write"),
    ("warning", "warning"),
)
PHASES = {"log": "LOG", "plan": "PLAN", "action": "ACTION"}


def controls(ep: EpisodeData, step: int) -> None:
    """Previous / next and go-to (the jumps and playback are :func:`jumps`; a click on the
    timeline jumps too). Only go-to changes with the step, so the buttons are sent unchanged.
    No step slider: its every move redrew a heavy widget, which made each step change in the
    browser a third slower, and the timeline does its job."""
    last = max(ep.n_steps - 1, 0)
    cols = st.columns([0.6, 0.6, 1.4, 8], vertical_alignment="bottom")
    cols[0].button(
        "",
        icon=":material/chevron_left:",
        key="replay.prev",
        help="Previous step (←)",
        on_click=rs.step_by,
        args=(-1, last),
    )
    cols[1].button(
        "",
        icon=":material/chevron_right:",
        key="replay.next",
        help="Next step (→)",
        on_click=rs.step_by,
        args=(1, last),
    )
    rs.sync_widget("replay.w_goto", step)
    cols[2].number_input(
        "Go to step",
        0,
        last,
        key="replay.w_goto",
        on_change=rs.from_widget,
        args=(rs.STEP, "replay.w_goto"),
    )
    cols[3].caption(f"steps 0–{last} · ← / → move one step · click the timeline to jump")


def jumps(ep: EpisodeData) -> None:
    """Jump to the next event of a kind, and playback. Drawn with the episode, outside the step
    fragment: nothing here changes with the step (the target is found at the click), so a step
    change does not re-render them."""
    cols = st.columns([1.2, 1.2, 1.4, 1.4, 1.5, 0.4, 1.0, 1.3], vertical_alignment="center")
    cols[0].caption("Jump to next:")
    for col, (kind, label) in zip(cols[1:5], JUMPS, strict=True):
        col.button(
            label,
            key=f"replay.next_{kind}",
            on_click=rs.jump,
            args=(ep, kind, label),
            disabled=len(ep.events[kind]) == 0,
            icon=":material/arrow_forward:",
            help=f"The next step with a {label} after the one shown",
            width="stretch",
        )
    cols[6].toggle("Play", key="replay.play", on_change=rs.play_changed)
    cols[7].selectbox(
        "Speed",
        SPEEDS,
        index=2,
        key="replay.speed",
        format_func=lambda s: f"{s:g} steps/s",
        label_visibility="collapsed",
        on_change=rs.play_changed,
    )


def timeline(ep: EpisodeData) -> None:
    """The episode's timeline, drawn once per episode (the step marker is :func:`cursor`)."""
    key = (ep.source.episode_id, ep.source.token)
    cached = st.session_state.get("replay.figure")
    if cached is None or cached[0] != key:
        cached = (key, timeline_figure(ep.timeline))
        st.session_state["replay.figure"] = cached
    fig = cached[1]
    st.plotly_chart(
        fig,
        key=rs.TIMELINE,
        on_select=rs.timeline_clicked,
        selection_mode="points",
        config={"displayModeBar": False},
    )


def cursor(ep: EpisodeData, step: int) -> None:
    """The current step's marker, under the timeline and aligned with its x axis; redrawn on
    every step while the figure itself is not sent again."""
    last = max(ep.n_steps - 1, 1)
    share = (step + 0.5) / (last + 1)
    margins = TIMELINE_MARGIN_L + TIMELINE_MARGIN_R
    left = f"calc({TIMELINE_MARGIN_L}px + (100% - {margins}px) * {share:.5f})"
    st.html(
        f'<div class="am-track"><div class="am-cursor" style="left:{left}">'
        f"<span>step {step}</span></div></div>"
    )


def step_panel(ep: EpisodeData, row: dict[str, Any], step: int, pixels: bool) -> None:
    """The frame, the step's card (action, reward, progression, cost, warnings) and the
    observation, as one HTML block: a step change re-renders one element here, not six."""
    total = float(ep.cum_reward[min(step, len(ep.cum_reward) - 1)])
    layout = "am-stepview am-stepview-side" if pixels else "am-stepview"
    st.html(
        f'<div class="{layout}"><div>{_frame_html(ep, step)}</div>'
        f"<div>{_marked(render_step_html(row, total, ep.n_steps))}</div></div>"
        + _marked(_observation_html(row["observation"], wrap=pixels))
    )


def _marked(markup: str) -> str:
    """The words a search hit asked to see (``&highlight=``) marked in ``markup``."""
    return mark_words(markup, rs.highlighted())


def _frame_html(ep: EpisodeData, step: int) -> str:
    found = data.frame_at(ep, step)
    if found is None:
        return '<span class="am-dim">No frame recorded for this step.</span>'
    if found[0] == "png":
        return f'<img class="am-frame" alt="frame of step {step}" src="{png_data_uri(found[1])}">'
    return render_terminal_html(found[1])


def _observation_html(text: str, wrap: bool) -> str:
    """The text the agent saw; ``wrap=False`` keeps a terminal map's columns aligned."""
    cls = "am-obs am-obs-wrap" if wrap else "am-obs"
    return (
        "<div><b>Observation</b> (what the agent saw before acting)</div>"
        f'<pre class="{cls}">{escape_block(text)}</pre>'
    )


def turns(ep: EpisodeData, step: int) -> None:
    """Every LLM turn of the step: the prompt (collapsed), the completion with its ops
    highlighted, parse errors, and each op's result; LOG turns on the left, PLAN (and action)
    turns on the right. One HTML block: a step change re-renders one element, not four per turn."""
    found = data.turns_at(ep, step)
    if not found:
        st.html("<b>LLM turns</b><br><small>No LLM turns at this step.</small>")
        return
    ops = ep.ops_at(step)
    log = [t for t in found if t["phase"] == "log"]
    parts = (log, [t for t in found if t["phase"] != "log"]) if log else (found,)
    columns = [
        "".join(
            _turn_html(t, [o for o in ops if o["phase"] == t["phase"] and o["turn"] == t["turn"]])
            for t in part
        )
        for part in parts
    ]
    layout = "am-turns am-turns-two" if log else "am-turns"
    body = "".join(f"<div>{c}</div>" for c in columns)
    st.html(_marked(f'<b>LLM turns</b> (LOG, then PLAN)<div class="{layout}">{body}</div>'))


def _turn_html(t: dict[str, Any], ops: list[dict[str, Any]]) -> str:
    extra = f" · <b>error</b>: {escape_text(t['error'])}" if t.get("error") else ""
    head = (
        f'<div class="am-turn-head"><b>{PHASES.get(t["phase"], t["phase"])}</b> turn {t["turn"]}'
        f" · {escape_text(t['client'])} · {t['tokens_in']} in / {t['tokens_out']} out"
        f" · {t['latency_ms']:.0f} ms{extra}</div>"
    )
    try:
        messages = json.loads(t["messages_json"])
    except (TypeError, ValueError):
        messages = [{"role": "?", "content": str(t["messages_json"])}]
    errors = "".join(
        f'<div class="am-warn">parse: {escape_text(err)}</div>'
        for err in t.get("parse_errors") or []
    )
    body = render_prompt_html(messages) + render_completion_html(t["completion"] or "")
    return f'<div class="am-turn">{head}{body}{errors}{render_op_results_html(ops)}</div>'


def memory(ep: EpisodeData, step: int) -> None:
    """Memory at the step: the diff against the previous step, the files with each line's
    provenance, and the diff against any other step."""
    now = data.memory_at_step(ep, step)
    st.html(f"<b>Memory at the end of step {step}</b>")
    # Only the open tab is computed and sent: a step change costs one view, not three.
    diff_tab, files_tab, compare_tab = st.tabs(rs.MEMORY_TABS, key=rs.MEMORY_TAB, on_change="rerun")
    if diff_tab.open:
        with diff_tab:
            before = data.memory_at_step(ep, step - 1)
            diff = render_diff_html(diff_files(_lines(before), _lines(now)))
            st.html(_marked(f'<div class="am-diff-prev">{diff}</div>'))
    if files_tab.open:
        with files_tab:
            st.caption(
                "@N: the step that wrote the line · read: steps whose SEARCH/READ/TAIL returned "
                "it (grey: later than this step) · green: written at this step"
            )
            st.html(_marked(_files_html(ep, now, step)))
    if compare_tab.open:
        with compare_tab:
            _compare(ep, now, step)


def _lines(view: MemoryView) -> dict[str, list[str]]:
    return {name: lines for name, (lines, _origins) in view.items()}


def _files_html(ep: EpisodeData, view: MemoryView, step: int) -> str:
    parts = [
        render_file_html(
            name, lines, origins, step, ep.read_by, open_=step in origins or len(lines) <= 12
        )
        for name, (lines, origins) in view.items()
    ]
    return f'<div class="am-files">{"".join(parts)}</div>'


def _compare(ep: EpisodeData, now: MemoryView, step: int) -> None:
    other = st.session_state.get(rs.COMPARE)
    other = -1 if other is None else max(-1, min(int(other), ep.n_steps - 1))
    rs.sync_widget("replay.w_compare", other)
    st.number_input(
        "Compare with step (−1: the initial files)",
        -1,
        ep.n_steps - 1,
        key="replay.w_compare",
        on_change=rs.from_widget,
        args=(rs.COMPARE, "replay.w_compare"),
    )
    then = data.memory_at_step(ep, other)
    old, new = (then, now) if other <= step else (now, then)
    lo, hi = sorted((other, step))
    st.caption(f"From step {lo} to step {hi}: + added, − removed")
    st.html(_marked(render_diff_html(diff_files(_lines(old), _lines(new)))))
