"""The Loop 2 records the Decisions, Label and Export pages read (mined decisions, labels,
alternative answers, exports), behind Streamlit's caches; re-read when a record is added."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from automem_core.analysis import decision_table, episode
from automem_core.analysis.episode import EpisodeData
from automem_core.store.records import read_records
from dashboard.data import records_token

DECISION_TABLES = decision_table.TABLES


# Shared, not copied: a copy of 200 000 rows per run would cost more than reading them. Callers
# never change these frames (they filter or merge into new ones).
@st.cache_resource(show_spinner="Loading decisions…", max_entries=2)
def _base(root: str, token: str) -> pd.DataFrame:
    return decision_table.load_base(Path(root))


def decisions_base(root: Path) -> pd.DataFrame:
    """Every mined decision without its labels (re-read only when mining or exports change)."""
    return _base(str(root), records_token(root, *decision_table.BASE_TABLES))


@st.cache_resource(show_spinner=False, max_entries=2)
def _where(root: str, token: str) -> tuple[dict[str, int], dict[str, str]]:
    base = _base(root, token)
    ids = base["decision_id"]
    return (
        {d: i for i, d in enumerate(ids)},
        dict(zip(ids, base["scaffold_version"], strict=True)),
    )


def decision_positions(root: Path) -> tuple[dict[str, int], dict[str, str]]:
    """Each decision's row in :func:`decisions_base`, and its scaffold version."""
    return _where(str(root), records_token(root, *decision_table.BASE_TABLES))


@st.cache_resource(show_spinner=False, max_entries=8)
def _labels(
    root: str, token: str, policy: str, adjudicators: tuple[str, ...]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    return decision_table.load_label_state(Path(root), policy, adjudicators)  # type: ignore[arg-type]


def current_labels(
    root: Path, policy: str = "latest", adjudicators: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Each labelled target's resolved labels (re-read when a label is added)."""
    return _labels(str(root), records_token(root, "labels"), policy, tuple(adjudicators))[1]


def people_table(root: Path) -> pd.DataFrame:
    """Each person's current label of each decision and alternative answer."""
    return _labels(str(root), records_token(root, "labels"), "latest", ())[0]


@st.cache_resource(show_spinner=False, max_entries=2)
def _alternatives_base(root: str, token: str) -> pd.DataFrame:
    return decision_table.load_alternatives_base(Path(root))


def alternatives_base(root: Path) -> pd.DataFrame:
    """The alternative answers of the mined decisions, without labels."""
    return _alternatives_base(str(root), records_token(root, "decisions", "alternatives"))


def decisions_table(
    root: Path, policy: str = "latest", adjudicators: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Every mined decision with its labels resolved by ``policy``."""
    base = decisions_base(root)
    labels = current_labels(root, policy, adjudicators)
    return decision_table.with_labels(base, labels, "decision")


def clear_decisions() -> None:
    """Forget the decisions and labels read so far (the next read sees every new record)."""
    _base.clear()
    _labels.clear()
    _alternatives.clear()
    _alternatives_base.clear()


@st.cache_data(show_spinner=False, max_entries=4)
def _exports(root: str, token: str) -> pd.DataFrame:
    return read_records(Path(root), "exports").to_pandas()


def exports_table(root: Path) -> pd.DataFrame:
    return _exports(str(root), records_token(root, "exports"))


def decision_detail(ep: EpisodeData, step: int, phase: str, turn: int, k: int) -> dict[str, Any]:
    """One decision in context (see ``analysis.episode.decision_detail``)."""
    return episode.decision_detail(ep, step, phase, turn, k)


@st.cache_data(show_spinner=False, max_entries=4)
def _alternatives(
    root: str, token: str, policy: str, adjudicators: tuple[str, ...]
) -> pd.DataFrame:
    return decision_table.load_alternatives(Path(root), policy, adjudicators)  # type: ignore[arg-type]


def alternatives_table(
    root: Path, policy: str = "latest", adjudicators: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Every alternative answer of a decision, with its labels."""
    token = records_token(root, "decisions", "labels", "alternatives")
    return _alternatives(str(root), token, policy, adjudicators)
