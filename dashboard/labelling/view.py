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
from automem_core.mining.labels import LabelError, add_labels, new_label, undo
from automem_core.store.record_rows import LabelRow
from dashboard import data
from dashboard.decisions import data as decision_data
from dashboard.empty import show_empty_store
from dashboard.labelling import record
from dashboard.labelling.queues import QUEUES, Item, build_queue, labelled_by
from dashboard.render import escape_text
from dashboard.widgets import identity, keys

PAGE = "label"
QUEUE, ITEMS, POS = f"{PAGE}.queue", f"{PAGE}.items", f"{PAGE}.pos"
UNDO, LAST, FILTERED = f"{PAGE}.undo", f"{PAGE}.last", "decisions.filtered"
CHOSEN = f"{PAGE}.chosen"  # the queue picked (the widget's value may come and go)
DONE = f"{PAGE}.done"  # records labelled in this session: a press never labels one twice
VERDICT_KEYS = {"1": "good", "2": "bad", "3": "unsure"}
WATCHED = [*VERDICT_KEYS, "ArrowLeft", "ArrowRight", "u"]


def _items(decisions: pd.DataFrame, labels: pd.DataFrame, alternatives: pd.DataFrame,
           people: pd.DataFrame, who: str) -> list[Item]:  # fmt: skip
    """The queue's snapshot, made again only when a person picks another queue or the person
    changes (never in the middle of a burst of presses)."""
    name = st.session_state.get(CHOSEN, QUEUES[0])
    snapshot = st.session_state.get(ITEMS)
    if snapshot is None or snapshot[0] != (name, who):
        filtered = st.session_state.get(FILTERED, ())
        table = with_labels(decisions, labels, "decision")
        items = build_queue(name, table, alternatives, people, who, filtered)
        st.session_state[ITEMS] = ((name, who), items)
        st.session_state[POS] = 0
        return items
    found: list[Item] = snapshot[1]
    return found


def _decision(decisions: pd.DataFrame, labels: pd.DataFrame, decision_id: str) -> pd.Series:
    """One decision's row with its current labels (only that row is merged)."""
    index, _ = decision_data.decision_positions(data.data_root())
    one = decisions.iloc[[index[decision_id]]]
    return with_labels(one, labels, "decision").iloc[0]


def _reset_queue() -> None:
    st.session_state[CHOSEN] = st.session_state.get(QUEUE, QUEUES[0])
    st.session_state.pop(ITEMS, None)


def _label_rows(items: list[Item], start: int, verdicts: list[str], who: str,
                versions: dict[str, str]) -> tuple[list[LabelRow], int]:  # fmt: skip
    """One label per verdict, on the records from ``start`` on (skipping any this session
    already labelled); the labels and the position after them."""
    done: set[str] = st.session_state.setdefault(DONE, set())
    rows, pos = [], start
    for verdict in verdicts:
        while pos < len(items) and items[pos].target_id in done:
            pos += 1
        if pos >= len(items):
            break
        item = items[pos]
        rows.append(new_label(item.target_id, verdict, who, target_kind=item.kind,  # type: ignore[arg-type]
                              scaffold_version=versions.get(item.decision_id, "")))  # fmt: skip
        done.add(item.target_id)
        pos += 1
    return rows, pos


def apply_presses(presses: list[str], items: list[Item], who: str,
                  versions: dict[str, str]) -> None:  # fmt: skip
    """Each press in order: a verdict labels the record on screen and moves on; arrows move;
    ``u`` undoes your last label (and goes back to it)."""
    root = data.data_root()
    pos = int(st.session_state.get(POS, 0))
    pending: list[str] = []

    def flush() -> None:
        nonlocal pos
        rows, after = _label_rows(items, pos, pending, who, versions)
        if rows:
            add_labels(root, rows)
            st.session_state[UNDO] = [*st.session_state.get(UNDO, []), *(r.label_id for r in rows)]
            st.session_state[LAST] = (rows[-1].verdict, rows[-1].target_id, len(rows))
            pos = after
        pending.clear()

    for press in presses:
        if press in VERDICT_KEYS and who:
            pending.append(VERDICT_KEYS[press])
            continue
        flush()
        if press == "ArrowRight":
            pos = min(pos + 1, len(items))
        elif press == "ArrowLeft":
            pos = max(pos - 1, 0)
        elif press == "u" and st.session_state.get(UNDO):
            stack = st.session_state[UNDO]
            try:
                undone = undo(root, stack.pop(), who)
                st.session_state.setdefault(DONE, set()).discard(undone.target_id)
            except LabelError as exc:
                st.toast(str(exc))
            st.session_state[UNDO] = stack
            pos = max(pos - 1, 0)
            st.session_state[LAST] = ("undone", "", 1)
    flush()
    st.session_state[POS] = pos


def _click(verdict_key: str, items: list[Item], who: str, versions: dict[str, str]) -> None:
    apply_presses([verdict_key], items, who, versions)


def _today_by(people: pd.DataFrame, who: str) -> int:
    if people.empty or not who:
        return 0
    today = datetime.now(UTC).date().isoformat()
    mine = people[
        (people["author"] == who) & people["created_at"].astype(str).str.startswith(today)
    ]
    return len(mine)


def toolbar(items: list[Item], pos: int, who: str, people: pd.DataFrame,
            versions: dict[str, str]) -> None:  # fmt: skip
    """The queue, the progress, and the full-word buttons with their keys."""
    row = st.container(horizontal=True, vertical_alignment="center")
    chosen = st.session_state.get(CHOSEN, QUEUES[0])
    if st.session_state.get(QUEUE) != chosen:
        st.session_state[QUEUE] = chosen
    row.selectbox("Queue", QUEUES, key=QUEUE, on_change=_reset_queue, width=250,
                  label_visibility="collapsed")  # fmt: skip
    for key, verdict in VERDICT_KEYS.items():
        row.button(
            f"{verdict.capitalize()} · {key}", key=f"{PAGE}.{verdict}", on_click=_click,
            args=(key, items, who, versions), disabled=not who or pos >= len(items),
            type="primary" if verdict == "good" else "secondary",
        )  # fmt: skip
    row.button("Back · ←", key=f"{PAGE}.back", on_click=_click,
               args=("ArrowLeft", items, who, versions))  # fmt: skip
    row.button("Skip · →", key=f"{PAGE}.skip", on_click=_click,
               args=("ArrowRight", items, who, versions))  # fmt: skip
    row.button(
        "Undo · u", key=f"{PAGE}.undo_button", on_click=_click,
        args=("u", items, who, versions), disabled=not st.session_state.get(UNDO),
    )  # fmt: skip
    done_today = _today_by(people, who)
    row.html(
        f'<div class="am-lab-progress">{min(pos + 1, len(items))} of {len(items)} · '
        f"{done_today} by you today</div>"
    )


def confirmation() -> None:
    last = st.session_state.get(LAST)
    if not last:
        return
    verdict, target, n = last
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
items = _items(decisions, labels, alternatives, people, who)
_, versions = decision_data.decision_positions(root)
presses = keys.new_presses(WATCHED, key=f"{PAGE}.keys")
if presses:
    apply_presses(presses, items, who, versions)
    people = decision_data.people_table(root)
pos = int(st.session_state.get(POS, 0))
toolbar(items, pos, who, people, versions)
if not who:
    st.warning("Type your name in the sidebar (or sign in): labels are signed.")
confirmation()
if pos >= len(items):
    mine = len(labelled_by(people, who))
    st.success(f"This queue is done: {len(items)} records. You have labelled {mine} in all.")
    st.stop()
item = items[pos]
decision = _decision(decisions, decision_data.current_labels(root), item.decision_id)
record.show(Path(root), decision, _alternative(alternatives, item) if item.kind == "alternative"
            else None)  # fmt: skip
