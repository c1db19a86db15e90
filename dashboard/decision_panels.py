"""The parts of the Decisions page: one decision in context, and the agreement table."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from automem_core.analysis.decision_table import agreements
from dashboard import data
from dashboard.render import (
    diff_files,
    escape_text,
    render_completion_html,
    render_diff_html,
    render_op_results_html,
    render_prompt_html,
)

NEXT_STEPS = 5
SIGNALS = (
    "retrieved", "progress_after", "redundant_write", "never_read", "empty_search",
    "early_outcome",
)  # fmt: skip


def agreement_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Human vs judge, human vs score, judge vs score: pairs, agreement and Cohen's kappa."""
    rows = []
    for name, found in agreements(df).items():
        rows.append(
            {
                "between": name,
                "both labelled": found.pairs,
                "agree": found.agreed,
                "agree %": None if found.observed is None else round(100 * found.observed, 1),
                "Cohen's kappa": None if found.kappa is None else round(found.kappa, 3),
            }
        )
    return pd.DataFrame(rows)


def _lines(state: dict[str, object]) -> dict[str, list[str]]:
    return {name: list(f.lines) for name, f in state.items()}  # type: ignore[attr-defined]


def detail(root: Path, decision: pd.Series) -> None:
    """The decision's prompt, completion, op results, memory diff, next steps, and a link."""
    found = data.locate(root, str(decision["run_id"]), str(decision["episode_id"]))
    if found is None:
        st.error("Its episode is not in the store any more.")
        return
    step, phase, turn = int(decision["step"]), str(decision["phase"]), int(decision["turn"])
    try:
        ep = data.load_episode(found)
        view = data.decision_detail(ep, step, phase, turn, NEXT_STEPS)
    except data.EpisodeChanged:
        st.rerun(scope="app")  # published again meanwhile: load the new attempt
    except data.StoreError as exc:
        st.error(escape_text(str(exc)), icon=":material/error:")
        return
    except data.READ_ERRORS as exc:
        st.error(escape_text(data.read_error(found, exc)), icon=":material/error:")
        return
    signals = " · ".join(f"{s}: {'yes' if decision[s] else 'no'}" for s in SIGNALS)
    st.markdown(
        f"**{phase.upper()} turn {turn}, step {step}** of `{escape_text(ep.episode_id)}` · "
        f"score {decision['score']:.2f} · judge {decision['judge'] or '—'} · "
        f"label {decision['label'] or '—'}"
    )
    st.caption(signals)
    if decision.get("judge_reason"):
        st.caption(f"Judge: {decision['judge_reason']}")
    if st.button("Open the replay at this step", key="decisions.replay", icon=":material/replay:"):
        st.switch_page(
            "views/replay.py",
            query_params={"run": found.run_id, "episode": ep.episode_id, "step": str(step)},
        )
    left, right = st.columns(2, gap="medium")
    turn_row = view["turn"]
    with left:
        if turn_row is not None:
            messages = json.loads(turn_row["messages_json"])
            st.html(render_prompt_html(messages) + render_completion_html(turn_row["completion"]))
        results = render_op_results_html(view["ops"])
        if results:
            st.html(results)
    with right:
        st.markdown("**Memory** when the turn began → at the end of the step")
        diff = render_diff_html(diff_files(_lines(view["before"]), _lines(view["after"])))
        st.html(f'<div class="am-diff-prev">{diff}</div>')
        st.markdown(f"**The next {NEXT_STEPS} steps**")
        later = pd.DataFrame(view["next_steps"])
        if later.empty:
            st.caption("The episode ended.")
        else:
            st.dataframe(
                later[["step", "action", "reward", "progression"]],
                hide_index=True,
                key="decisions.next_steps",
            )
