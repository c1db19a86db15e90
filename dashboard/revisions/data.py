"""The Revisions page's queries behind Streamlit's caches: proposals, their evaluations, the
version lineage and scaffold diffs.

Proposals and evaluations are append-only record files, so each table is keyed by a token of its
files (:func:`dashboard.data.records_token`): a decision made here, in the CLI or by ``automem
optimize`` in another process shows on the next rerun. Scaffold versions never change once
stored, so a diff is cached by the two version names alone.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from automem_core.review import outcomes, proposals, versions
from automem_core.review.gate_job import alive, read_job
from automem_core.review.optimize import LoopState
from automem_core.scaffold import ScaffoldError, diff, load_version
from dashboard import data

RECORDS = ("proposals", "evaluations")


def gate_running(root: Path) -> bool:
    """Whether a gate started from the page still runs."""
    folder = Path(root) / "gates"
    if not folder.is_dir():
        return False
    jobs = (read_job(root, p.stem) for p in folder.glob("*.json"))
    return any(job is not None and alive(job.pid) for job in jobs)


def token(root: Path) -> str:
    """Changes whenever a proposal event or an evaluation is recorded."""
    return data.records_token(root, *RECORDS)


@st.cache_data(show_spinner=False, max_entries=4)
def _proposals(root: str, token: str) -> pd.DataFrame:
    return proposals.load_proposals(Path(root))


def load_proposals(root: Path) -> pd.DataFrame:
    """Every proposal's latest row (its current state), oldest first."""
    return _proposals(str(root), data.records_token(root, "proposals"))


@st.cache_data(show_spinner=False, max_entries=16)
def _history(root: str, proposal_id: str, token: str) -> pd.DataFrame:
    return proposals.history(Path(root), proposal_id)


def history(root: Path, proposal_id: str) -> pd.DataFrame:
    """Every event of one proposal, oldest first."""
    return _history(str(root), proposal_id, data.records_token(root, "proposals"))


@st.cache_data(show_spinner=False, max_entries=4)
def _evaluations(root: str, token: str) -> pd.DataFrame:
    return outcomes.load_evaluations(Path(root))


def evaluations(root: Path, proposal_id: str) -> pd.DataFrame:
    """The evaluation records of one proposal (the gate, then any held-out report)."""
    found = _evaluations(str(root), data.records_token(root, "evaluations"))
    return found[found["proposal_id"] == proposal_id].reset_index(drop=True)


@st.cache_data(show_spinner="Loading the lineage…", max_entries=4)
def _lineage(root: str, token: str) -> pd.DataFrame:
    return versions.load_lineage(Path(root))


def lineage(root: Path) -> pd.DataFrame:
    """One row per version: base versions, then every proposal's candidate, with its numbers."""
    return _lineage(str(root), f"{token(root)}:{data.episodes_token(root)}")


@st.cache_data(show_spinner=False, max_entries=32)
def _version_diff(root: str, parent: str, candidate: str) -> dict[str, list[str]]:
    return diff(load_version(Path(root), parent), load_version(Path(root), candidate))


def version_diff(root: Path, parent: str, candidate: str) -> tuple[dict[str, list[str]], str]:
    """Per changed file, the unified diff from ``parent`` to ``candidate``; and why there is
    none when a version cannot be loaded ("" when both loaded)."""
    try:
        return _version_diff(str(root), parent, candidate), ""
    except ScaffoldError as exc:
        return {}, str(exc)


def loops(root: Path) -> list[LoopState]:
    """Every ``automem optimize`` loop's state (a few small files; not cached)."""
    return outcomes.load_loops(root)


def rerun_if_changed(root: Path, seen: str) -> None:
    """Rerun the page when a proposal event or an evaluation was recorded since ``seen``."""
    if token(root) != seen:
        st.rerun(scope="app")
