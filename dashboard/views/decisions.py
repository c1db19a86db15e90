"""Decisions: mined memory decisions to label (Loop 2). A placeholder until Loop 2 lands."""

import streamlit as st

st.title("Decisions")
st.info(
    "Memory decisions mined from episodes will be listed here: a filterable table with their "
    "outcome signals, good / bad / unsure labelling with a note, and agreement with the judge."
)
st.markdown(
    "Produced by Loop 2 mining: `automem mine --data DIR` (writes the `decisions` table; labels "
    "go to `labels`). Until that command exists this page stays empty."
)
