"""One record of the labelling workbench, sized to fill a 1280×800 screen without scrolling the
page: what the agent saw (the lines its ops concern first), what it answered with the ops
highlighted, what each op returned, the memory before and after, and what happened next. An
alternative answer is shown beside the original. Everything the agent or a model wrote is
escaped (``render.py``); nothing here renders Markdown from it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from automem_core.mining.answer_effect import answer_effect
from automem_core.scaffold import load_version
from dashboard import data
from dashboard.decisions import data as decision_data
from dashboard.pages import PAGES
from dashboard.render import (
    diff_files,
    escape_block,
    escape_text,
    render_completion_html,
    render_diff_html,
    render_op_results_html,
)
from dashboard.widgets import identity

NEXT_STEPS = 5
SIGNALS = ("retrieved", "progress_after", "redundant_write", "never_read", "empty_search",
           "early_outcome")  # fmt: skip
_WORD = re.compile(r"[A-Za-z]{4,}")


def relevant_first(observation: str, completion: str) -> tuple[list[str], list[str]]:
    """The observation's lines that share a word with the completion's text (what its ops are
    about), and the other lines."""
    words = {w.lower() for w in _WORD.findall(completion)}
    lines = observation.splitlines()
    near = [ln for ln in lines if words & {w.lower() for w in _WORD.findall(ln)}]
    return near, [ln for ln in lines if ln not in near]


def _observation_html(observation: str, completion: str) -> str:
    near, rest = relevant_first(observation, completion)
    head = (
        f'<pre class="am-obs am-obs-wrap am-near">{escape_block(chr(10).join(near))}</pre>'
        if near
        else ""
    )
    body = f'<pre class="am-obs am-obs-wrap am-rest">{escape_block(chr(10).join(rest))}</pre>'
    return f'<div class="am-lab-obs">{head}{body}</div>'


def _lines(state: dict[str, Any]) -> dict[str, list[str]]:
    return {name: list(f.lines) for name, f in state.items()}


def _next_steps_html(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return '<div class="am-empty">The episode ended.</div>'
    body = "".join(
        f"<tr><td>{r['step']}</td><td>{escape_text(str(r['action']))}</td>"
        f"<td>{r['reward']:+g}</td><td>{100 * r['progression']:.0f}%</td></tr>"
        for r in rows
    )
    return (
        '<table class="am-lab-next"><tr><th>step</th><th>action</th><th>reward</th>'
        f"<th>progression</th></tr>{body}</table>"
    )


def header_html(decision: pd.Series, item_kind: str, sample: str = "") -> str:
    """The record's place and numbers in one line (all text escaped)."""
    what = f"alternative answer {escape_text(sample)}" if item_kind == "alternative" else ""
    signals = " ".join(
        f'<span class="am-badge{" am-added" if bool(decision[s]) else ""}">'
        f"{s.replace('_', ' ')}</span>"
        for s in SIGNALS
    )
    judge = decision.get("judge") or "—"
    return (
        f'<div class="am-lab-head"><b>{escape_text(str(decision["phase"]).upper())} turn '
        f"{int(decision['turn'])}, step {int(decision['step'])}</b> {what} · "
        f"{escape_text(str(decision['game']))} {escape_text(str(decision['task']))} seed "
        f"{int(decision['seed'])} · score <b>{float(decision['score']):.2f}</b> · judge "
        f"{escape_text(str(judge))} · label {escape_text(str(decision.get('label') or '—'))}"
        f"<div>{signals}</div></div>"
    )


def show(root: Path, decision: pd.Series, alternative: dict[str, Any] | None = None) -> None:
    """Draw one record: the decision, or ``alternative`` beside the decision's own answer."""
    found = data.locate(root, str(decision["run_id"]), str(decision["episode_id"]))
    if found is None:
        st.error("Its episode is not in the store any more.")
        return
    step, phase, turn = int(decision["step"]), str(decision["phase"]), int(decision["turn"])
    try:
        ep = data.load_episode(found)
        view = decision_data.decision_detail(ep, step, phase, turn, NEXT_STEPS)
    except data.EpisodeChanged:
        st.rerun(scope="app")  # published again meanwhile: load the new attempt
    except data.StoreError as exc:
        st.error(escape_text(str(exc)), icon=":material/error:")
        return
    except data.READ_ERRORS as exc:
        st.error(escape_text(data.read_error(found, exc)), icon=":material/error:")
        return
    kind = "alternative" if alternative is not None else "decision"
    sample = f"#{alternative['sample']} from {alternative['model']}" if alternative else ""
    shown = decision.copy()
    if alternative is not None:  # the alternative's own labels; the decision's place and signals
        for column in ("judge", "label", "judge_reason"):
            shown[column] = alternative.get(column)
    st.html(header_html(shown, kind, sample))
    st.page_link(
        PAGES["replay"], label="Open the replay at this step", icon=":material/replay:",
        query_params=identity.keep_in_url(
            {"run": found.run_id, "episode": ep.episode_id, "step": str(step)}
        ),
    )  # fmt: skip
    if shown.get("judge_reason"):
        reason = escape_text(str(shown["judge_reason"]))
        st.html(f'<div class="am-lab-reason">Judge: {reason}</div>')
    turn_row = view["turn"]
    original = str(turn_row["completion"]) if turn_row is not None else ""
    observation = str(ep.step_row(step).get("observation", ""))
    left, right = st.columns([1, 1], gap="medium")
    if alternative is None:
        answer, results = original, render_op_results_html(view["ops"])
        before, after = _lines(view["before"]), _lines(view["after"])
    else:
        answer = str(alternative["completion"])
        effect = answer_effect(
            load_version(root, str(decision["scaffold_version"])), ep, step, phase, turn, answer
        )
        results = "".join(f'<pre class="am-result">{escape_block(r)}</pre>' for r in effect.results)
        before = {k: v.splitlines() for k, v in effect.before.items()}
        after = {k: v.splitlines() for k, v in effect.after.items()}
    with left:
        st.html(
            '<div class="am-lab-col">'
            f'<div class="am-lab-title">What it saw</div>{_observation_html(observation, answer)}'
            f'<div class="am-lab-title">{"This answer" if alternative else "Its answer"}</div>'
            f"{render_completion_html(answer)}"
            f'<div class="am-lab-title">What its ops returned</div>{results or "—"}'
            "</div>"
        )
    with right:
        parts = ['<div class="am-lab-col">']
        if alternative is not None:
            parts += ['<div class="am-lab-title">The original answer</div>',
                      render_completion_html(original)]  # fmt: skip
        diff = render_diff_html(diff_files(before, after))
        parts += [
            '<div class="am-lab-title">Memory before → after its ops</div>',
            f'<div class="am-diff-prev">{diff}</div>',
            f'<div class="am-lab-title">The next {NEXT_STEPS} steps'
            f"{' (after the original answer)' if alternative is not None else ''}</div>",
            _next_steps_html(view["next_steps"]),
            "</div>",
        ]
        st.html("".join(parts))
