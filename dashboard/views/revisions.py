"""Revisions: the reviewer's scaffold revisions (Loop 1); empty until the reviewer loop has run."""

import streamlit as st

st.title("Revisions")
st.info(
    "Scaffold revisions proposed by the reviewer will be listed here: the patch, its rationale, "
    "the cited steps as links into the replay, approve / reject / edit, and the candidate's "
    "results against its parent."
)
st.markdown(
    "Proposals appear here once the reviewer loop has run: "
    "`automem improve --game GAME --data DIR` (coming next)."
)
