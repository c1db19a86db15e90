"""Export: curated training sets (Loop 2); empty until labelled decisions exist."""

import streamlit as st

st.title("Export")
st.info(
    "Training-set export will live here: filters over labelled decisions, the format (OpenAI "
    "chat JSONL, ShareGPT, TRL messages, preference pairs), a preview, then write and download."
)
st.markdown(
    "Training sets can be exported here once decisions are labelled: "
    "`automem export --format FORMAT --data DIR` (coming next)."
)
