"""What a page shows when the store has nothing to show: no runs yet (the command, and a seed
button), or files that cannot be read (named, so they can be deleted or re-run)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import data
from dashboard.render import escape_text

SHOWN_FILES = 3  # unreadable files named in the warning; the rest are counted


def show_empty_store(root: Path, page: str) -> None:
    """Say what to run, and offer to seed the demo (``automem demo``) right here."""
    st.info(
        f"No runs in `{root}` yet. Play some episodes with `automem run --game crafter "
        f"--episodes 3 --data {root}`, or seed a small demo of every game with the embedded "
        f"player: `automem demo --data {root}` (about a minute)."
    )
    if st.button("Seed the demo now", key=f"{page}.seed_demo", type="primary"):
        with st.spinner(f"Running `automem demo --data {root.resolve()}`…"):
            ok, error = data.seed_demo(root)
        data.clear_caches()
        if ok:
            st.rerun()
        st.error(f"The demo did not finish: {escape_text(error)}", icon=":material/error:")


def warn_unreadable(root: Path) -> None:
    """One line naming the store's unreadable files, which every table leaves out."""
    bad = data.store_problems(root)
    if not bad:
        return
    named = ", ".join(escape_text(p) for p in bad[:SHOWN_FILES])
    more = f" and {len(bad) - SHOWN_FILES} more" if len(bad) > SHOWN_FILES else ""
    st.warning(
        f"Left out unreadable {'file' if len(bad) == 1 else 'files'} {named}{more}: delete "
        "them or re-run their episodes.",
        icon=":material/warning:",
    )
