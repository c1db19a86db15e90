"""What a page shows when the data folder has no runs yet: the command, and a seed button."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import data


def show_empty_store(root: Path, page: str) -> None:
    """Say what to run, and offer to seed the demo (``automem demo``) right here."""
    st.info(
        f"No runs in `{root}` yet. Play some episodes with `automem run --game crafter "
        f"--episodes 3 --data {root}`, or seed a small demo of every game with the embedded "
        f"player: `automem demo --data {root}` (about a minute)."
    )
    if st.button("Seed the demo now", key=f"{page}.seed_demo", type="primary"):
        with st.spinner(f"Running `automem demo --data {root}`…"):
            ok, output = data.seed_demo(root)
        data.clear_caches()
        if ok:
            st.rerun()
        st.error("The demo did not finish; its last output:")
        st.code(output or "(no output)", language=None)
