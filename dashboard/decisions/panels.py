"""The parts of the Decisions page: filters, the table (what matters first), the labellers'
disagreements, and the agreement matrix."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from automem_core.analysis.agreement import Fleiss

SIGNALS = ("retrieved", "progress_after", "redundant_write", "never_read", "empty_search",
           "early_outcome")  # fmt: skip
# What a labeller reads first: the numbers and verdicts, then the signals, then the ids.
COLUMNS = [
    "score", "label", "judge", "human", "human_author", "labellers", "disagree", "causal_value",
    "causal_stderr", *SIGNALS,
    "phase", "op_kinds", "alternatives", "game", "step", "decision_id", "run_id",
    "scaffold_version",
]  # fmt: skip

# How the table is ordered: a column and whether ascending (None: as mined, episode by step).
ORDERS: dict[str, tuple[str, bool] | None] = {
    "as mined": None,
    "lowest score first": ("score", True),
    "highest score first": ("score", False),
    "highest causal value first": ("causal_value", False),
    "lowest causal value first": ("causal_value", True),
}


def filters(df: pd.DataFrame) -> pd.DataFrame:
    cols = st.columns(6)
    keep = pd.Series(True, index=df.index)
    for col, (column, label) in zip(
        cols,
        (("game", "Game"), ("run_id", "Run"), ("scaffold_version", "Scaffold version"),
         ("phase", "Phase"), ("judge", "Judge"), ("label", "Label")),
        strict=True,
    ):  # fmt: skip
        options = sorted(str(v) for v in df[column].dropna().unique())
        chosen = col.multiselect(label, options, key=f"decisions.f_{column}")
        if chosen:
            keep &= df[column].astype(str).isin(chosen)
    cols = st.columns(6)
    kinds = sorted({k for ks in df["op_kinds"] for k in ks})
    wanted = cols[0].multiselect("Op kinds", kinds, key="decisions.f_ops")
    if wanted:
        keep &= df["op_kinds"].map(lambda ks: bool(set(ks) & set(wanted)))
    agree = cols[1].selectbox(
        "Judge vs people", ["any", "agree", "disagree"], key="decisions.f_agree"
    )
    if agree != "any":
        both = df["judge"].notna() & df["human"].notna()
        same = df["judge"] == df["human"]
        keep &= both & (same if agree == "agree" else ~same)
    if cols[2].toggle("No person's label yet", key="decisions.f_unlabelled"):
        keep &= df["labellers"] == 0
    if cols[3].toggle("Labellers disagree", key="decisions.f_disagree"):
        keep &= df["disagree"]
    least = cols[4].number_input(
        "Minimum causal value", value=None, key="decisions.f_causal",
        help="Progression points the decision was worth, measured by forks kept vs dropped "
        "(`automem mine --causal`); decisions never measured are hidden when set.",
    )  # fmt: skip
    if least is not None:
        keep &= df["causal_value"] >= least
    order = cols[5].selectbox("Order", list(ORDERS), key="decisions.order")
    shown = df[keep]
    if ORDERS[order] is None:
        return shown
    column, ascending = ORDERS[order]  # type: ignore[misc]
    return shown.sort_values(
        [column, "decision_id"], ascending=[ascending, True], na_position="last", kind="stable"
    )


def decisions_table(df: pd.DataFrame, key: str) -> None:
    st.dataframe(
        df[COLUMNS], hide_index=True, key=key,
        column_config={
            "score": st.column_config.NumberColumn(format="%.2f", width="small"),
            "human_author": st.column_config.TextColumn("decided by"),
            "labellers": st.column_config.NumberColumn("people", width="small"),
            "causal_value": st.column_config.NumberColumn(
                "causal value", format="%+.1f",
                help="Progression points (kept − dropped forks at the horizon); empty: not "
                "measured",
            ),
            "causal_stderr": st.column_config.NumberColumn("± se", format="%.1f"),
        },
    )  # fmt: skip


def disagreements(shown: pd.DataFrame, people: pd.DataFrame) -> None:
    """The decisions whose labellers differ, with each person's verdict side by side."""
    differ = shown[shown["disagree"]]
    if differ.empty:
        st.caption("No disagreement among the decisions shown.")
        return
    mine = people[(people["target_kind"] == "decision")
                  & people["target_id"].isin(set(differ["decision_id"]))]  # fmt: skip
    wide = mine.pivot_table(index="target_id", columns="author", values="verdict", aggfunc="last")
    wide = wide.reset_index().rename(columns={"target_id": "decision_id"})
    resolved = differ[["decision_id", "human", "conflict", "score"]]
    shown_rows = resolved.merge(wide, on="decision_id").rename(columns={"human": "resolved"})
    st.dataframe(shown_rows, hide_index=True, key="decisions.disagreements")
    st.caption(f"{len(differ)} decisions; {int(differ['conflict'].sum())} unresolved under the "
               "chosen policy (they are left out of exports until settled)")  # fmt: skip


def agreement(matrix: pd.DataFrame, fleiss: Fleiss) -> None:
    st.dataframe(matrix, hide_index=True, key="decisions.agreement", width="stretch",
                 column_config={"Cohen's kappa": st.column_config.NumberColumn(
                     format="%.3f", width="medium")})  # fmt: skip
    if fleiss.raters < 2:
        st.caption("Fleiss' kappa needs two people or more labelling the same decisions.")
    elif fleiss.kappa is None:
        st.caption(f"Fleiss' kappa: undefined ({fleiss.items} decisions labelled by all "
                   f"{fleiss.raters} people)")  # fmt: skip
    else:
        st.caption(f"Fleiss' kappa across {fleiss.raters} people: {fleiss.kappa:.3f} over the "
                   f"{fleiss.items} decisions all of them labelled")  # fmt: skip
