"""Label: the labelling workbench. One record at a time fills the screen; 1 good, 2 bad,
3 unsure, ← back, → skip, u undo your last label. Every key press lands (``widgets/keys.py``): a
burst of ten presses labels ten records. Labels are signed with the sidebar's identity and kept
per person; the queue leaves out what you have labelled.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from automem_core.analysis.decision_table import with_labels
from dashboard import data
from dashboard.decisions import data as decision_data
from dashboard.empty import show_empty_store
from dashboard.labelling import bench as workbench
from dashboard.labelling import record
from dashboard.labelling.bench import VERDICT_KEYS, Bench
from dashboard.labelling.queues import QUEUES, Item, build_queue, labelled_by
from dashboard.render import escape_text
from dashboard.widgets import identity, keys

PAGE = "label"
QUEUE, FILTERED = f"{PAGE}.queue", "decisions.filtered"
CHOSEN = f"{PAGE}.chosen"  # the queue picked (the widget's value may come and go)
WATCHED = [*VERDICT_KEYS, "ArrowLeft", "ArrowRight", "u"]


def _items(bench: Bench, decisions: pd.DataFrame, labels: pd.DataFrame,
           alternatives: pd.DataFrame, people: pd.DataFrame, who: str) -> list[Item]:  # fmt: skip
    """The queue's snapshot, made again only when a person picks another queue or the person
    changes (never in the middle of a burst of presses)."""
    name = st.session_state.get(CHOSEN, QUEUES[0])
    if bench.snapshot != (name, who):
        filtered = st.session_state.get(FILTERED, ())
        table = with_labels(decisions, labels, "decision")
        bench.restart((name, who), build_queue(name, table, alternatives, people, who, filtered))
    return bench.items


def _decision(decisions: pd.DataFrame, labels: pd.DataFrame, decision_id: str) -> pd.Series:
    """One decision's row with its current labels (only that row is merged)."""
    index, _ = decision_data.decision_positions(data.data_root())
    one = decisions.iloc[[index[decision_id]]]
    return with_labels(one, labels, "decision").iloc[0]


def _reset_queue() -> None:
    st.session_state[CHOSEN] = st.session_state.get(QUEUE, QUEUES[0])
    bench = workbench.current()
    with bench.lock:
        bench.snapshot = None


def _click(press: str, who: str, versions: dict[str, str]) -> None:
    bench = workbench.current()
    with bench.lock:
        bench.apply([press], data.data_root(), who, versions)


def _today_by(people: pd.DataFrame, who: str) -> int:
    if people.empty or not who:
        return 0
    today = datetime.now(UTC).date().isoformat()
    mine = people[
        (people["author"] == who) & people["created_at"].astype(str).str.startswith(today)
    ]
    return len(mine)


def toolbar(bench: Bench, who: str, people: pd.DataFrame, versions: dict[str, str]) -> None:
    """The queue, the progress, and the full-word buttons with their keys."""
    items, pos = bench.items, bench.pos
    row = st.container(horizontal=True, vertical_alignment="center")
    chosen = st.session_state.get(CHOSEN, QUEUES[0])
    if st.session_state.get(QUEUE) != chosen:
        st.session_state[QUEUE] = chosen
    row.selectbox("Queue", QUEUES, key=QUEUE, on_change=_reset_queue, width=250,
                  label_visibility="collapsed")  # fmt: skip
    for key, verdict in VERDICT_KEYS.items():
        row.button(
            f"{verdict.capitalize()} · {key}", key=f"{PAGE}.{verdict}", on_click=_click,
            args=(key, who, versions), disabled=not who or pos >= len(items),
            type="primary" if verdict == "good" else "secondary",
        )  # fmt: skip
    row.button("Back · ←", key=f"{PAGE}.back", on_click=_click,
               args=("ArrowLeft", who, versions))  # fmt: skip
    row.button("Skip · →", key=f"{PAGE}.skip", on_click=_click,
               args=("ArrowRight", who, versions))  # fmt: skip
    row.button(
        "Undo · u", key=f"{PAGE}.undo_button", on_click=_click,
        args=("u", who, versions), disabled=not bench.undoable,
    )  # fmt: skip
    done_today = _today_by(people, who)
    row.html(
        f'<div class="am-lab-progress">{min(pos + 1, len(items))} of {len(items)} · '
        f"{done_today} by you today</div>"
    )


def confirmation(bench: Bench) -> None:
    for problem in list(bench.problems):  # removed once shown: a stopped run shows it again
        st.toast(problem)
        bench.problems.remove(problem)
    if not bench.last:
        return
    verdict, target, n = bench.last
    if verdict == "undone":
        text = "Your last label was undone."
    else:
        more = f" (and {n - 1} before it)" if n > 1 else ""
        text = f"Labelled {verdict}: {target}{more}"
    st.html(f'<div class="am-lab-done">✓ {escape_text(text)}</div>')


def _alternative(alternatives: pd.DataFrame, item: Item) -> dict[str, Any] | None:
    """The alternative's row with its own current labels."""
    found = alternatives[alternatives["alternative_id"] == item.target_id]
    if found.empty:
        return None
    labelled = with_labels(found, decision_data.current_labels(data.data_root()), "alternative")
    row: dict[str, Any] = labelled.iloc[0].to_dict()
    return row


root = data.data_root()
if not data.store_token(root):
    show_empty_store(root, "decisions")
    st.stop()
who = identity.current()
# labels are read apart: they change with every press
decisions = decision_data.decisions_base(root)
if decisions.empty:
    st.info("No decisions mined yet: mine a run with `automem mine --run RUN`, then label here.")
    st.stop()
alternatives = decision_data.alternatives_base(root)
people = decision_data.people_table(root)
labels = decision_data.current_labels(root)
bench = workbench.current()
_, versions = decision_data.decision_positions(root)
with bench.lock:
    items = _items(bench, decisions, labels, alternatives, people, who)
log = keys.key_log(WATCHED, key=f"{PAGE}.keys")
with log.unseen() as presses, bench.lock:  # no Streamlit call: nothing stops it halfway
    bench.apply(presses, root, who, versions)
if log.presses:
    people = decision_data.people_table(root)
toolbar(bench, who, people, versions)
if not who:
    st.warning("Type your name in the sidebar (or sign in): labels are signed.")
confirmation(bench)
pos = bench.pos
if pos >= len(items):
    mine = len(labelled_by(people, who))
    st.success(f"This queue is done: {len(items)} records. You have labelled {mine} in all.")
    st.stop()
item = items[pos]
decision = _decision(decisions, decision_data.current_labels(root), item.decision_id)
record.show(Path(root), decision, _alternative(alternatives, item) if item.kind == "alternative"
            else None)  # fmt: skip
