"""The Search page's queries, behind Streamlit's caches until the store or an index changes."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from automem_core.search import SearchFilters, SearchResult, search
from automem_core.search.sequence import SequenceResult, sequence_search
from automem_core.store.catalog import scan
from dashboard.data import episodes_token, files_token, records_token


def search_token(root: Path) -> str:
    """Changes whenever an episode is published or compacted, an index is brought up to date,
    or a proposal or label is recorded."""
    covers = [p for run in scan(root) if (p := run.folder / "index" / "coverage.json").exists()]
    return ":".join(
        (
            episodes_token(root),
            files_token(covers),
            records_token(root, "proposals", "labels", "decisions", "alternatives"),
        )
    )


@st.cache_data(show_spinner="Searching…", max_entries=32)
def _search(
    root: str, token: str, query: str, filters: SearchFilters, order: str, limit: int
) -> SearchResult:
    return search(Path(root), query, filters, limit=limit, order=order)  # type: ignore[arg-type]


def search_results(
    root: Path, query: str, filters: SearchFilters, order: str, limit: int
) -> SearchResult:
    """The hits of a query (``automem_core.search``), cached until the store changes."""
    return _search(str(root), search_token(root), query, filters, order, limit)


@st.cache_data(show_spinner="Searching…", max_entries=16)
def _sequence(
    root: str, token: str, first: str, then: str, within: int, absent: bool,
    filters: SearchFilters, limit: int,
) -> SequenceResult:  # fmt: skip
    return sequence_search(
        Path(root), first, then, within, absent=absent, filters=filters, limit=limit
    )


def sequence_results(
    root: Path, first: str, then: str, within: int, absent: bool, filters: SearchFilters,
    limit: int,
) -> SequenceResult:  # fmt: skip
    """A sequence query's matches, cached until the store changes."""
    return _sequence(str(root), search_token(root), first, then, within, absent, filters, limit)
