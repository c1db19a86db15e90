"""Every page of the dashboard, declared once with its URL path. ``app.py`` routes with these,
and a page that sends the reader elsewhere passes one of them to ``st.switch_page``."""

from __future__ import annotations

import streamlit as st

PAGES: dict[str, st.Page] = {
    "overview": st.Page(
        "overview/view.py",
        title="Overview",
        icon=":material/monitoring:",
        url_path="overview",
        default=True,
    ),
    "replay": st.Page(
        "replay/view.py", title="Replay", icon=":material/replay:", url_path="replay"
    ),
    "compare": st.Page(
        "compare/view.py", title="Compare", icon=":material/compare:", url_path="compare"
    ),
    "search": st.Page(
        "search/view.py", title="Search", icon=":material/search:", url_path="search"
    ),
    "revisions": st.Page(
        "revisions/view.py", title="Revisions", icon=":material/difference:", url_path="revisions"
    ),
    "decisions": st.Page(
        "decisions/view.py", title="Decisions", icon=":material/rule:", url_path="decisions"
    ),
    "label": st.Page("labelling/view.py", title="Label", icon=":material/label:", url_path="label"),
    "export": st.Page(
        "export/view.py", title="Export", icon=":material/download:", url_path="export"
    ),
    "training": st.Page(
        "training/view.py", title="Training", icon=":material/model_training:", url_path="training"
    ),
}
SECTIONS = {
    "Runs": ["overview", "replay", "compare", "search"],
    "Loops": ["revisions", "decisions", "label", "export", "training"],
}
