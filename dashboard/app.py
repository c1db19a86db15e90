"""AutoMem dashboard: ``streamlit run dashboard/app.py [-- --data DIR]`` (default $AUTOMEM_DATA
or data/). Sets the page config and routes to the pages (``pages.py``; one package per page);
the pages only render.

The pages' folder is not called ``pages/``: Streamlit treats a ``pages/`` folder beside the entry
script as a legacy multipage app until ``st.navigation`` first runs, so a deep link opened on a
fresh server would run the page without this entry script.
"""

from __future__ import annotations

import sys
from pathlib import Path

_REPO = str(Path(__file__).resolve().parent.parent)
if _REPO not in sys.path:  # `streamlit run` puts dashboard/ first on the path, not the repo
    sys.path.insert(0, _REPO)

import streamlit as st  # noqa: E402

from automem_core.errors import AutoMemError  # noqa: E402
from dashboard import data  # noqa: E402
from dashboard.pages import PAGES, SECTIONS  # noqa: E402
from dashboard.style import CSS  # noqa: E402
from dashboard.widgets import identity  # noqa: E402

st.set_page_config(page_title="AutoMem", page_icon=":material/neurology:", layout="wide")
st.html(f"<style>{CSS}</style>")

pages = {section: [PAGES[name] for name in names] for section, names in SECTIONS.items()}
page = st.navigation(pages)

with st.sidebar:
    identity.sidebar()
    root = data.data_root()
    if st.button(
        "Refresh data",
        key="app.refresh",
        icon=":material/refresh:",
        help="Pick up episodes finished since the page was loaded",
    ):
        data.clear_caches()
    st.caption(f"data: `{root.resolve()}`")

try:
    page.run()
except AutoMemError as exc:  # an expected failure (the store out of reach, …): one line
    st.error(str(exc), icon=":material/error:")
