"""The sections of the replay page: controls, timeline, step, turns and the memory panel."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from automem_core.analysis.step_checks import DIAGNOSTICS, diagnostic_holds
from dashboard import data
from dashboard.charts import (
    TIMELINE_MARGIN_L,
    TIMELINE_MARGIN_R,
    diagnostic_lane,
    mark_forks,
    timeline_figure,
)
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
from dashboard.replay import state as rs
from dashboard.revisions import data as revision_data

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
    first, last = ep.first_step, ep.last_step
    cols = st.columns([0.6, 0.6, 1.4, 8], vertical_alignment="bottom")
    cols[0].button(
        "",
        icon=":material/chevron_left:",
        key="replay.prev",
        help="Previous step (←)",
        on_click=rs.step_by,
        args=(-1, last, first),
    )
    cols[1].button(
        "",
        icon=":material/chevron_right:",
        key="replay.next",
        help="Next step (→)",
        on_click=rs.step_by,
        args=(1, last, first),
    )
    rs.sync_widget("replay.w_goto", step)
    cols[2].number_input(
        "Go to step",
        first,
        last,
        key="replay.w_goto",
        on_change=rs.from_widget,
        args=(rs.STEP, "replay.w_goto"),
    )
    cols[3].caption(f"steps {first}–{last} · ← / → move one step · click the timeline to jump")


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


def citation(root: Path, episode_id: str) -> str | None:
    """The reviewer's claim this episode was opened for, as a banner; its diagnostic."""
    cited = st.session_state.get(rs.CITE)
    if not cited or cited[0] != episode_id:
        return None
    proposal_id, _, index = str(cited[1]).partition(":")
    found = revision_data.load_proposals(root)
    found = found[found["proposal_id"] == proposal_id]
    try:
        claims = json.loads(str(found["citations_json"].iloc[0])) if not found.empty else []
        claim = claims[int(index)]
    except (ValueError, IndexError, TypeError):
        return None
    if not isinstance(claim, dict) or str(claim.get("episode_id")) != episode_id:
        return None
    diagnostic, step = str(claim.get("diagnostic") or ""), int(claim.get("step", 0))
    holds = ""
    if diagnostic in DIAGNOSTICS:
        ep = data.load_episode(data.locate(root, "", episode_id))  # type: ignore[arg-type]
        ok = diagnostic_holds(ep, step, diagnostic)
        holds = " (the step check confirms it)" if ok else " (the step check does not find it)"
    st.info(
        f"{escape_text(proposal_id)} cites {escape_text(diagnostic or 'this step')} at step "
        f"{step}{holds}: {escape_text(str(claim.get('shows', '')))}",
        icon=":material/format_quote:",
    )
    return diagnostic if diagnostic in DIAGNOSTICS else None


def diagnostic_steps(ep: EpisodeData, diagnostic: str) -> list[int]:
    """Every step where ``diagnostic`` holds (kept for the episode shown)."""
    key = ("replay.diag", ep.source.episode_id, ep.source.token, diagnostic)
    found = st.session_state.get("replay.diag")
    if found is None or found[0] != key:
        steps = [
            s for s in range(ep.first_step, ep.last_step + 1) if diagnostic_holds(ep, s, diagnostic)
        ]
        found = (key, steps)
        st.session_state["replay.diag"] = found
    return list(found[1])


def timeline(
    ep: EpisodeData, diagnostic: str | None = None, fork_steps: tuple[int, ...] = ()
) -> None:
    """The episode's timeline, drawn once per episode (the step marker is :func:`cursor`), with
    the lane of one diagnostic (the one a citation names, or one chosen) where asked, and a
    dotted line at each step a fork of it starts from."""
    options = ["none", *DIAGNOSTICS]
    if diagnostic and st.session_state.get("replay.lane_for") != ep.source.episode_id:
        st.session_state["replay.lane"] = diagnostic  # a citation shows its diagnostic at once
        st.session_state["replay.lane_for"] = ep.source.episode_id
    chosen = st.selectbox(
        "Diagnostic on the timeline", options, key="replay.lane",
        help="The same step checks that validate the reviewer's citations",
    )  # fmt: skip
    lane = None if chosen == "none" else str(chosen)
    key = (ep.source.episode_id, ep.source.token, lane, fork_steps)
    cached = st.session_state.get("replay.figure")
    if cached is None or cached[0] != key:
        extra = None
        if lane is not None:
            extra = (
                lane.replace("_", " "),
                diagnostic_lane(ep.timeline, diagnostic_steps(ep, lane)),
            )
        cached = (key, mark_forks(timeline_figure(ep.timeline, extra), fork_steps))
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
    first, span = ep.first_step, max(ep.last_step - ep.first_step + 1, 1)
    share = (step - first + 0.5) / span
    margins = TIMELINE_MARGIN_L + TIMELINE_MARGIN_R
    left = f"calc({TIMELINE_MARGIN_L}px + (100% - {margins}px) * {share:.5f})"
    st.html(
        f'<div class="am-track"><div class="am-cursor" style="left:{left}">'
        f"<span>step {step}</span></div></div>"
    )


def step_panel(ep: EpisodeData, row: dict[str, Any], step: int, pixels: bool) -> None:
    """The frame, the step's card (action, reward, progression, cost, warnings) and the
    observation, as one HTML block: a step change re-renders one element here, not six."""
    at = min(int(np.searchsorted(ep.step_index, step)), len(ep.cum_reward) - 1)
    total = float(ep.cum_reward[at])
    layout = "am-stepview am-stepview-side" if pixels else "am-stepview"
    st.html(
        f'<div class="{layout}"><div>{frame_html(ep, step)}</div>'
        f"<div>{_marked(render_step_html(row, total, ep.last_step + 1))}</div></div>"
        + _marked(_observation_html(row["observation"], wrap=pixels))
    )


def _marked(markup: str) -> str:
    """The words a search hit asked to see (``&highlight=``) marked in ``markup``."""
    return mark_words(markup, rs.highlighted())


def frame_html(ep: EpisodeData, step: int) -> str:
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
    start = ep.first_step - 1  # the memory the episode started with
    other = st.session_state.get(rs.COMPARE)
    other = start if other is None else max(start, min(int(other), ep.last_step))
    rs.sync_widget("replay.w_compare", other)
    st.number_input(
        f"Compare with step ({start}: the memory it started with)",
        start,
        ep.last_step,
        key="replay.w_compare",
        on_change=rs.from_widget,
        args=(rs.COMPARE, "replay.w_compare"),
    )
    then = data.memory_at_step(ep, other)
    old, new = (then, now) if other <= step else (now, then)
    lo, hi = sorted((other, step))
    st.caption(f"From step {lo} to step {hi}: + added, − removed")
    st.html(_marked(render_diff_html(diff_files(_lines(old), _lines(new)))))
