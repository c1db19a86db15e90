"""A person's decision on a waiting proposal: approve, reject, or edit the patch then approve.

Each goes through ``review.proposals`` (an appended record with the author, the UTC time and the
reason; an edited patch is validated again), from a button callback, so the page that follows
already shows the new state. A refusal is kept for the page to show as one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd
import streamlit as st

from automem_core.review.outcomes import parse_patch
from automem_core.review.proposals import approve, approve_edited, reject
from automem_core.store.layout import StoreError
from dashboard.render import escape_text
from dashboard.revisions.render import pretty_json
from dashboard.widgets import identity

Action = Literal["approve", "reject", "edit"]
REASON = "revisions.reason"
REFUSED, DONE = "revisions.refused", "revisions.done"  # (proposal id, message)


def patch_key(proposal_id: str) -> str:
    return f"revisions.patch.{proposal_id}"


def one_line(message: str) -> str:
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return lines[0] if lines else "refused"


def author() -> str:
    """Who signs the decisions: the signed-in or chosen identity (``widgets/identity.py``)."""
    return identity.current()


def act(root: Path, proposal_id: str, action: Action) -> None:
    """Record the decision; on refusal keep the reason for the page, and nothing is recorded."""
    who = identity.current()
    reason = str(st.session_state.get(REASON) or "")
    try:
        if not who:
            raise ValueError("type your name in the sidebar (or sign in): decisions are signed")
        if action == "approve":
            row = approve(root, proposal_id, who, reason)
        elif action == "reject":
            row = reject(root, proposal_id, who, reason)
        else:
            patch = parse_patch(str(st.session_state.get(patch_key(proposal_id)) or ""))
            row = approve_edited(root, proposal_id, who, reason, patch)
    except (ValueError, StoreError, OSError) as exc:  # ProposalError and ScaffoldError included
        st.session_state[REFUSED] = (proposal_id, one_line(str(exc)))
        return
    st.session_state[REASON] = ""
    what = "approved with your edit" if row.event == "edited" else row.event
    st.session_state[DONE] = (proposal_id, f"{proposal_id} {what} by {row.author}")


def decide(root: Path, proposal: pd.Series, who: str) -> None:
    """The reason, then approve / reject, and the patch to edit before approving."""
    pid = str(proposal["proposal_id"])
    st.markdown("**Your decision**")
    st.text_area(
        "Reason (required; kept with your decision)", key=REASON, height=80,
        placeholder="why this revision should, or should not, be gated",
    )  # fmt: skip
    row = st.container(horizontal=True)
    row.button(
        "Approve", key="revisions.approve", type="primary", icon=":material/check:",
        on_click=act, args=(root, pid, "approve"), disabled=not who,
        help="Approve the candidate as proposed: the gate plays it beside its parent next",
    )  # fmt: skip
    row.button(
        "Reject", key="revisions.reject", icon=":material/close:",
        on_click=act, args=(root, pid, "reject"), disabled=not who,
    )  # fmt: skip
    with st.expander("Edit the patch, then approve", icon=":material/edit:"):
        key = patch_key(pid)
        if key not in st.session_state:
            st.session_state[key] = pretty_json(str(proposal["patch_json"]))
        st.text_area(
            "Patch (RFC 6902 JSON Patch over the parent's canonical scaffold)", key=key,
            height=200, help="The edited candidate is validated again before it is approved",
        )  # fmt: skip
        st.button(
            "Approve with this patch", key="revisions.approve_edited",
            icon=":material/edit_note:", on_click=act, args=(root, pid, "edit"), disabled=not who,
        )  # fmt: skip
    if not who:
        st.caption("Give your name in the sidebar to decide.")
    show_outcome(pid)


def show_outcome(proposal_id: str) -> None:
    """The refusal of the last decision tried on this proposal, if any (shown once)."""
    refused = st.session_state.get(REFUSED)
    if refused and refused[0] == proposal_id:
        st.session_state.pop(REFUSED)
        st.error(f"Refused: {escape_text(refused[1])}", icon=":material/block:")


def show_done() -> None:
    """The last decision recorded (shown once, at the top of the page)."""
    done = st.session_state.pop(DONE, None)
    if done:
        st.success(escape_text(done[1]), icon=":material/check_circle:")
