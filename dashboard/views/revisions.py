"""Revisions: the reviewer's scaffold revisions (Loop 1). A placeholder until Loop 1 lands."""

import streamlit as st

st.title("Revisions")
st.info(
    "Scaffold revisions proposed by the reviewer will be listed here: the patch, its rationale, "
    "the cited steps as links into the replay, approve / reject / edit, and the candidate's "
    "results against its parent."
)
st.markdown(
    "Produced by Loop 1: `automem improve --game GAME --data DIR` (proposals are written to the "
    "`proposals` table; approvals to `labels`). Until that command exists this page stays empty."
)
