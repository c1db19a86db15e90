"""Decisions: mined memory decisions to label (Loop 2).

A filterable table of decisions with their signals, score, the judge's verdict and the human
label; agreement between human, judge and score; bulk-confirm of the judge's verdicts; and a
labelling queue worked from the keyboard (1 good, 2 bad, 3 unsure, ←/→ move, undo). Every label
is a new row (nothing is overwritten); the current one is the latest human label, else the
judge's.
"""

from __future__ import annotations

import getpass
from pathlib import Path

import pandas as pd
import streamlit as st

from automem_core.analysis.decisions import SCORE_FORMULA
from automem_core.mining.labels import add_labels, new_label, undo
from dashboard import data, decision_panels
from dashboard.empty import show_empty_store

QUEUE, POS, UNDO = "decisions.queue", "decisions.pos", "decisions.undo"
ORDERS = {
    "lowest score first": ("score", True),
    "highest score first": ("score", False),
    "judge and score disagree first": ("disagree", False),
    "highest causal value first": ("causal_value", False),
    "lowest causal value first": ("causal_value", True),
}
COLUMNS = [
    "decision_id", "run_id", "scaffold_version", "phase", "op_kinds", "score", "judge", "human",
    "label", "retrieved", "progress_after", "redundant_write", "never_read", "empty_search",
    "early_outcome", "causal_value", "causal_stderr", "alternatives",
]  # fmt: skip
SHOWN = 2_000  # rows the table draws; filters narrow the rest


def author() -> str:
    with st.sidebar:
        return str(st.text_input("Your name (labels are signed)", getpass.getuser(),
                                 key="decisions.author")).strip()  # fmt: skip


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
    kinds = sorted({k for ks in df["op_kinds"] for k in ks})
    wanted = cols[0].multiselect("Op kinds", kinds, key="decisions.f_ops")
    if wanted:
        keep &= df["op_kinds"].map(lambda ks: bool(set(ks) & set(wanted)))
    agree = cols[1].selectbox(
        "Judge vs human", ["any", "agree", "disagree"], key="decisions.f_agree"
    )
    if agree != "any":
        both = df["judge"].notna() & df["human"].notna()
        same = df["judge"] == df["human"]
        keep &= both & (same if agree == "agree" else ~same)
    unlabelled = cols[2].toggle("No human label yet", key="decisions.f_unlabelled")
    if unlabelled:
        keep &= df["human"].isna()
    least = cols[3].number_input(
        "Minimum causal value", value=None, key="decisions.f_causal",
        help="Progression points the decision was worth, measured by forks kept vs dropped "
        "(`automem mine --causal`); decisions never measured are hidden when set.",
    )  # fmt: skip
    if least is not None:
        keep &= df["causal_value"] >= least
    return df[keep]


def agreement(df: pd.DataFrame) -> None:
    found = decision_panels.agreement_rows(df)
    st.dataframe(found, hide_index=True, key="decisions.agreement", width="stretch")


def bulk_confirm(shown: pd.DataFrame, who: str) -> None:
    todo = shown[shown["judge"].notna() & shown["human"].isna()]
    if st.button(
        f"Confirm the judge's verdict for {len(todo)} filtered decisions",
        key="decisions.bulk",
        disabled=todo.empty or not who,
        help="Adds your label, equal to the judge's, to each filtered decision you have not "
        "labelled yet",
    ):
        rows = [new_label(r.decision_id, r.judge, who, note="confirmed the judge",
                          scaffold_version=r.scaffold_version)
                for r in todo.itertuples()]  # fmt: skip
        add_labels(data.data_root(), rows)
        data.clear_decisions()
        st.toast(f"Confirmed {len(rows)} judge verdicts")
        st.rerun()


def queue(df: pd.DataFrame, order: str) -> list[str]:
    todo = df[df["human"].isna()].copy()
    column, ascending = ORDERS[order]
    disagree = todo["judge"].notna() & (todo["judge"] != todo["score_verdict"])
    todo["disagree"] = disagree.astype(int)
    ordered = todo.sort_values(
        [column, "decision_id"], ascending=[ascending, True], na_position="last"
    )
    return [str(d) for d in ordered["decision_id"]]


def label_current(decision: pd.Series, verdict: str, who: str) -> None:
    note = str(st.session_state.get("decisions.note") or "")
    row = new_label(str(decision["decision_id"]), verdict, who, note=note,  # type: ignore[arg-type]
                    scaffold_version=str(decision["scaffold_version"]))  # fmt: skip
    add_labels(data.data_root(), [row])
    st.session_state[UNDO] = ([*st.session_state.get(UNDO, []), row.label_id])[-10:]
    st.session_state["decisions.note"] = ""
    data.clear_decisions()


def undo_last(who: str) -> None:
    stack = st.session_state.get(UNDO, [])
    if stack:
        undo(data.data_root(), stack.pop(), who)
        st.session_state[UNDO] = stack
        data.clear_decisions()


def move(delta: int, size: int) -> None:
    st.session_state[POS] = max(0, min(size - 1, int(st.session_state.get(POS, 0)) + delta))


def labelling(df: pd.DataFrame, who: str, root: Path) -> None:
    st.subheader("Label")
    order = st.selectbox("Queue order", list(ORDERS), key="decisions.order")
    ids = queue(df, order)
    if not ids:
        st.success("Every decision shown here has a human label.")
        return
    pos = max(0, min(int(st.session_state.get(POS, 0)), len(ids) - 1))
    decision = df.set_index("decision_id").loc[ids[pos]]
    decision["decision_id"] = ids[pos]
    cols = st.columns([1, 1, 1, 0.7, 0.7, 1.2, 4], vertical_alignment="bottom")
    for col, (verdict, key, icon) in zip(
        cols[:3],
        (("good", "1", ":material/thumb_up:"), ("bad", "2", ":material/thumb_down:"),
         ("unsure", "3", ":material/help:")),
        strict=True,
    ):  # fmt: skip
        col.button(
            f"{verdict} ({key})", key=f"decisions.{verdict}", shortcut=key, icon=icon,
            on_click=label_current, args=(decision, verdict, who), disabled=not who,
        )  # fmt: skip
    cols[3].button("", icon=":material/chevron_left:", key="decisions.prev", shortcut="Left",
                   on_click=move, args=(-1, len(ids)), help="previous (←)")  # fmt: skip
    cols[4].button("", icon=":material/chevron_right:", key="decisions.next", shortcut="Right",
                   on_click=move, args=(1, len(ids)), help="next (→)")  # fmt: skip
    undo_stack = st.session_state.get(UNDO, [])
    cols[5].button(f"Undo ({len(undo_stack)})", key="decisions.undo_button", shortcut="u",
                   on_click=undo_last, args=(who,), disabled=not undo_stack,
                   help="Undo your last labels, one at a time (up to ten)")  # fmt: skip
    cols[6].text_input("Note (optional)", key="decisions.note")
    st.caption(f"{pos + 1} of {len(ids)} unlabelled · {ids[pos]}")
    decision_panels.detail(root, decision)


root = data.data_root()
st.title("Decisions")
if not data.store_token(root):
    show_empty_store(root, "decisions")
    st.stop()
who = author()
table = data.decisions_table(root)
if table.empty:
    st.info(
        "No decisions mined yet. Mine a run's memory decisions with `automem mine --run RUN` "
        "(see `automem runs`), then label them here."
    )
    st.stop()
st.caption(f"Score = {SCORE_FORMULA}")
shown = filters(table)
left, right = st.columns([3, 2])
with left:
    st.dataframe(
        shown[COLUMNS].head(SHOWN), hide_index=True, key="decisions.table",
        column_config={
            "score": st.column_config.NumberColumn(format="%.2f"),
            "causal_value": st.column_config.NumberColumn(
                "causal value", format="%+.1f",
                help="Progression points (kept − dropped forks at the horizon); empty: not "
                "measured",
            ),
            "causal_stderr": st.column_config.NumberColumn("± se", format="%.1f"),
        },
    )  # fmt: skip
    st.caption(f"{len(shown):,} of {len(table):,} decisions" + (
        f" (the first {SHOWN:,} drawn)" if len(shown) > SHOWN else ""))  # fmt: skip
with right:
    agreement(shown)
    bulk_confirm(shown, who)
labelling(shown, who, root)
