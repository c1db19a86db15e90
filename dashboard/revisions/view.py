"""Revisions: the reviewer's scaffold revisions (Loop 1), and people deciding on them.

Proposals by status; for one of them: what it changes (parent vs candidate, side by side), why
(summary, rationale, predicted effect, the cited steps as links into the replay), approve /
reject / edit-then-approve with a reason, the gate's verdict with the paired results, the
reviewer's raw output and every event so far. A second tab draws the version lineage. While an
``automem optimize`` loop runs, the page follows its new proposals and the gate's verdicts.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import data
from dashboard.render import escape_text
from dashboard.revisions import actions as revision_actions
from dashboard.revisions import data as revision_data
from dashboard.revisions import panels as revision_panels
from dashboard.revisions.render import CSS
from dashboard.widgets import identity

STATUSES = ("proposed", "approved", "edited", "accepted", "declined", "rejected", "invalid")
PICK = "revisions.proposal"
REFRESH_S = 3
LIST_COLUMNS = [
    "proposal_id", "event", "summary", "parent_version", "candidate_version", "reviewer",
    "author", "created_at", "cost_usd", "reason",
]  # fmt: skip
LIST_CONFIG = {
    "proposal_id": st.column_config.TextColumn("proposal"),
    "event": st.column_config.TextColumn("status", help="the proposal's latest event"),
    "author": st.column_config.TextColumn("by", help="who caused the latest event"),
    "cost_usd": st.column_config.NumberColumn("reviewer $", format="%.4f"),
}


def show_empty(root: Path) -> None:
    st.info(
        f"No proposals in `{root}` yet. Start Loop 1 with `automem optimize --game crafter "
        f"--data {root}`: it plays episodes, asks the reviewer for a revision and waits for "
        f"your decision here. Or review runs you have played: `automem review --run RUN "
        f"--data {root}` (list them with `automem runs`)."
    )


def loops_banner(root: Path, found: pd.DataFrame) -> bool:
    """Say what each running ``automem optimize`` loop waits for; True when one runs."""
    status = dict(zip(found["proposal_id"], found["event"], strict=True))
    running = False
    for state in revision_data.loops(root):
        if state.finished:
            continue
        running = True
        event = status.get(state.pending) if state.pending else None
        if event == "proposed":
            st.info(
                f"`automem optimize` ({escape_text(state.loop_id)}) is waiting for your "
                f"decision on {state.pending}.",
                icon=":material/pending_actions:",
            )
        elif event in ("approved", "edited"):
            st.caption(f":material/sync: {escape_text(state.loop_id)} is gating {state.pending}.")
    return running


def _filtered() -> None:
    """A new status filter: pick among what it shows (the URL's proposal may not be there)."""
    if "proposal" in st.query_params:
        del st.query_params["proposal"]


def status_filter(found: pd.DataFrame) -> pd.DataFrame:
    counts = found["event"].value_counts()
    options = [s for s in STATUSES if s in counts] + sorted(set(counts.index) - set(STATUSES))
    chosen = st.multiselect(
        "Status", options, key="revisions.status", placeholder="every status",
        on_change=_filtered,
        format_func=lambda s: f"{s} ({counts[s]})",
    )  # fmt: skip
    return found[found["event"].isin(chosen)] if chosen else found


def _picked() -> None:
    """A person picked a proposal: the URL follows at once (it is what the page shows)."""
    st.query_params["proposal"] = str(st.session_state[PICK])


def pick(shown: pd.DataFrame, found: pd.DataFrame) -> str:
    """The proposal to show: the URL's (``?proposal=…``, whatever the status filter, across
    citation round trips, Back and the sidebar), else the newest waiting one, else the newest;
    the URL follows a choice. The statuses shown are the current ones."""
    ids = [str(p) for p in shown["proposal_id"]][::-1]  # newest first
    url = str(st.query_params.get("proposal") or "")
    if url and url not in ids and url in set(found["proposal_id"]):
        ids = [url, *ids]
    if url in ids:
        st.session_state[PICK] = url
    elif st.session_state.get(PICK) not in ids:
        waiting = shown[shown["event"] == "proposed"]
        st.session_state[PICK] = str(waiting["proposal_id"].iloc[-1]) if len(waiting) else ids[0]
    labels = {
        str(p.proposal_id): f"{p.proposal_id} · {p.event} · {str(p.summary)[:80]}"
        for p in found.itertuples()
    }
    chosen = str(st.selectbox("Proposal", ids, key=PICK, on_change=_picked,
                              format_func=lambda p: labels[p]))  # fmt: skip
    if st.query_params.get("proposal") != chosen:
        st.query_params.from_dict(identity.keep_in_url({"proposal": chosen}))
    return chosen


def detail(root: Path, proposal: pd.Series, who: str) -> None:
    revision_panels.header(root, proposal)
    revision_panels.decided(proposal)
    left, right = st.columns([3, 2], gap="medium")
    with left:
        st.subheader("What changes")
        revision_panels.diff(root, proposal)
    with right:
        st.subheader("Why")
        revision_panels.evidence(proposal)
    if proposal["event"] == "proposed":
        revision_actions.decide(root, proposal, who)
    else:
        revision_actions.show_outcome(str(proposal["proposal_id"]))
    st.subheader("Gate")
    revision_panels.gate(root, proposal)
    revision_panels.reviewer_output(proposal)
    st.subheader("History")
    revision_panels.history(root, str(proposal["proposal_id"]))


root = data.data_root()
st.html(f"<style>{CSS}</style>")
st.title("Revisions")
who = revision_actions.author()
seen = revision_data.token(root)
found = revision_data.load_proposals(root)
if found.empty:
    show_empty(root)
    st.stop()
revision_actions.show_done()
running = loops_banner(root, found)
if (
    running or found["event"].isin(["approved", "edited"]).any() or revision_data.gate_running(root)
):  # a gate that runs (from here or a loop) records its verdict and report: follow them
    st.fragment(run_every=REFRESH_S)(revision_data.rerun_if_changed)(root, seen)
proposals_tab, lineage_tab = st.tabs(["Proposals", "Lineage"])
with proposals_tab:
    shown = status_filter(found)
    if shown.empty:
        st.info("No proposal has the chosen status.")
    else:
        st.dataframe(
            shown[LIST_COLUMNS].iloc[::-1], hide_index=True, key="revisions.list",
            column_config=LIST_CONFIG,
        )  # fmt: skip
        chosen = pick(shown, found)
        detail(root, found.set_index("proposal_id", drop=False).loc[chosen], who)
with lineage_tab:
    revision_panels.lineage(root)
