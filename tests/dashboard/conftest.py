"""Fixtures for the dashboard tests: a store the real runner played (fake game), never committed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import streamlit as st

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # the dashboard package lives at the repo root
    sys.path.insert(0, str(REPO))

from automem_core.testing.sample_store import write_sample_store  # noqa: E402

SAMPLE_STEPS = 30


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both frame kinds, two versions of one scaffold id, two failed episodes; 30 steps each."""
    root = tmp_path_factory.mktemp("sample") / "data"
    write_sample_store(root, steps=SAMPLE_STEPS)
    return root


def clear_dashboard_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture(autouse=True)
def fresh_caches() -> None:
    """Every test starts with the dashboard's caches empty."""
    clear_dashboard_caches()
