"""Export: curated training sets (Loop 2). A placeholder until the exporter lands."""

import streamlit as st

st.title("Export")
st.info(
    "Training-set export will live here: filters over labelled decisions, the format (OpenAI "
    "chat JSONL, ShareGPT, TRL messages, preference pairs), a preview, then write and download."
)
st.markdown(
    "Produced by `automem export --format FORMAT --data DIR` (writes the `exports` table and the "
    "files with their dataset card). Until that command exists this page stays empty."
)
