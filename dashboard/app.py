"""AutoMem dashboard entry point: `streamlit run dashboard/app.py`."""

from __future__ import annotations

import streamlit as st

from automem_core.reports import summarise_runs
from automem_core.store.layout import default_data_dir

st.set_page_config(page_title="AutoMem", layout="wide")
st.title("AutoMem runs")
data = default_data_dir()
runs = summarise_runs(data)
if not runs:
    st.info(f"No runs in {data}. Seed a demo with `automem demo --data {data}`.")
for r in runs:
    st.subheader(r.run_id)
    st.text(f"{r.game} · scaffold {r.scaffold_id} · {r.client} · {r.episodes}/{r.planned} episodes")
    st.text(f"progression {r.overall.render()}")
