"""Decisions: mined memory decisions to label (Loop 2); empty until decisions have been mined."""

import streamlit as st

st.title("Decisions")
st.info(
    "Memory decisions mined from episodes will be listed here: a filterable table with their "
    "outcome signals, good / bad / unsure labelling with a note, and agreement with the judge."
)
st.markdown(
    "Decisions appear here once they have been mined from your episodes: "
    "`automem mine --data DIR` (coming next)."
)
