"""Decisions: every mined memory decision with its score, label and signals (Loop 2).

Filter the table, choose how several people's labels become one (the policy the export
records), see where labellers disagree and how well they agree (Cohen's kappa per pair, Fleiss'
kappa across everyone), confirm the judge in bulk, and send the filtered decisions to the
labelling workbench.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from automem_core.analysis.decision_table import agreement_tables
from automem_core.analysis.decisions import SCORE_FORMULA
from automem_core.analysis.label_policy import describe
from automem_core.mining.labels import add_labels, new_label
from automem_core.store.record_rows import LABEL_POLICIES
from dashboard import data
from dashboard.decisions import data as decision_data
from dashboard.decisions import panels
from dashboard.empty import show_empty_store
from dashboard.labelling import bench as workbench
from dashboard.pages import PAGES
from dashboard.widgets import identity

PAGE = "decisions"
FILTERED = f"{PAGE}.filtered"  # the ids the workbench's "filter" queue takes
SHOWN = 2_000  # rows the table draws; filters narrow the rest


def policy_picker(people: pd.DataFrame) -> tuple[str, tuple[str, ...]]:
    cols = st.columns([1, 2, 3], vertical_alignment="bottom")
    policy = cols[0].selectbox("Labelling policy", LABEL_POLICIES, key=f"{PAGE}.policy")
    adjudicators: tuple[str, ...] = ()
    if policy == "adjudicated":
        names = sorted(people["author"].unique()) if not people.empty else []
        adjudicators = tuple(cols[1].multiselect("Adjudicators", names, key=f"{PAGE}.adj"))
    cols[2].caption(describe(policy, adjudicators))  # type: ignore[arg-type]
    return policy, adjudicators


def bulk_confirm(shown: pd.DataFrame, who: str) -> None:
    todo = shown[shown["judge"].notna() & shown["human"].isna() & ~shown["conflict"]]
    if st.button(
        f"Confirm the judge's verdict for {len(todo)} filtered decisions",
        key=f"{PAGE}.bulk",
        disabled=todo.empty or not who,
        help="Adds your label, equal to the judge's, to each filtered decision no person has "
        "labelled yet",
    ):
        rows = [new_label(r.decision_id, r.judge, who, note="confirmed the judge",
                          scaffold_version=r.scaffold_version)
                for r in todo.itertuples()]  # fmt: skip
        add_labels(data.data_root(), rows)
        decision_data.clear_decisions()
        st.toast(f"Confirmed {len(rows)} judge verdicts as {who}")
        st.rerun()


root = data.data_root()
st.title("Decisions")
if not data.store_token(root):
    show_empty_store(root, "decisions")
    st.stop()
who = identity.current()
people = decision_data.people_table(root)
policy, adjudicators = policy_picker(people)
table = decision_data.decisions_table(root, policy, adjudicators)
if table.empty:
    st.info(
        "No decisions mined yet. Mine a run's memory decisions with `automem mine --run RUN` "
        "(see `automem runs`), then label them here."
    )
    st.stop()
st.caption(f"Score = {SCORE_FORMULA}")
shown = panels.filters(table)
st.session_state[FILTERED] = tuple(shown["decision_id"])
panels.decisions_table(shown.head(SHOWN), key=f"{PAGE}.table")
count = f"{len(shown):,} of {len(table):,} decisions"
st.caption(count + (f" (the first {SHOWN:,} drawn)" if len(shown) > SHOWN else ""))
row = st.container(horizontal=True)
if row.button("Label these in the workbench", key=f"{PAGE}.to_workbench", type="primary",
              icon=":material/label:"):  # fmt: skip
    st.session_state["label.chosen"] = "the Decisions table's filter"
    bench = workbench.current()
    with bench.lock:
        bench.snapshot = None  # the filter's decisions, as they are now
    st.switch_page(PAGES["label"], query_params=identity.keep_in_url({}))
with row:
    bulk_confirm(shown, who)
st.subheader("Where labellers disagree")
panels.disagreements(shown, people)
st.subheader("Agreement")
matrix, fleiss = agreement_tables(shown, people)
panels.agreement(matrix, fleiss)
