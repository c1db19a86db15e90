"""The workbench's state for one person's session, and what a press does to it.

When the next press arrives, Streamlit starts a new run at once and stops the one it replaces
at that run's next Streamlit call (reading session state included). A run stopped between
writing a label and moving on would show the labelled record again and forget the label's
undo; two runs at once would label one record twice. So everything a press changes lives in
one :class:`Bench`, changed only under its lock, and :meth:`Bench.apply` changes it in plain
Python: from the first label written to the last field moved, no Streamlit call can stop it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from automem_core.mining.labels import LabelError, add_labels, new_label, undo
from automem_core.store.record_rows import LabelRow
from dashboard.labelling.queues import Item

KEY = "label.bench"
VERDICT_KEYS = {"1": "good", "2": "bad", "3": "unsure"}


@dataclass
class Bench:
    snapshot: tuple[Any, ...] | None = None  # what the queue's items were made for
    items: list[Item] = field(default_factory=list)
    pos: int = 0
    undoable: list[str] = field(default_factory=list)  # this session's label ids, oldest first
    last: tuple[str, str, int] | None = None  # (verdict or "undone", target, how many)
    done: set[str] = field(default_factory=set)  # labelled in this session: never twice
    problems: list[str] = field(default_factory=list)  # to show once, after the presses
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def restart(self, snapshot: tuple[Any, ...], items: list[Item]) -> None:
        self.snapshot, self.items, self.pos = snapshot, items, 0

    def apply(self, presses: list[str], root: Path, who: str, versions: dict[str, str]) -> None:
        """Each press in order: a verdict labels the record on screen and moves on (a burst
        of verdicts is one write); arrows move; ``u`` undoes your last label and goes back."""
        pending: list[str] = []
        for press in presses:
            if press in VERDICT_KEYS and who:
                pending.append(VERDICT_KEYS[press])
                continue
            self._label(pending, root, who, versions)
            pending = []
            if press == "ArrowRight":
                self.pos = min(self.pos + 1, len(self.items))
            elif press == "ArrowLeft":
                self.pos = max(self.pos - 1, 0)
            elif press == "u" and self.undoable:
                self._undo(root, who)
        self._label(pending, root, who, versions)

    def _label(self, verdicts: list[str], root: Path, who: str,
               versions: dict[str, str]) -> None:  # fmt: skip
        rows: list[LabelRow] = []
        pos = self.pos
        for verdict in verdicts:
            while pos < len(self.items) and self.items[pos].target_id in self.done:
                pos += 1
            if pos >= len(self.items):
                break
            item = self.items[pos]
            rows.append(new_label(item.target_id, verdict, who, target_kind=item.kind,  # type: ignore[arg-type]
                                  scaffold_version=versions.get(item.decision_id, "")))  # fmt: skip
            pos += 1
        if not rows:
            return
        add_labels(root, rows)
        self.done.update(r.target_id for r in rows)
        self.undoable.extend(r.label_id for r in rows)
        self.last = (rows[-1].verdict, rows[-1].target_id, len(rows))
        self.pos = pos

    def _undo(self, root: Path, who: str) -> None:
        try:
            undone = undo(root, self.undoable[-1], who)
        except LabelError as exc:
            self.problems.append(str(exc))
            self.undoable.pop()
            return
        self.undoable.pop()
        self.done.discard(undone.target_id)
        self.pos = max(self.pos - 1, 0)
        self.last = ("undone", "", 1)


_MAKING = threading.Lock()  # one session's runs may make its bench at once


def current() -> Bench:
    """This session's bench (made on first use)."""
    with _MAKING:
        bench = st.session_state.get(KEY)
        if not isinstance(bench, Bench):  # first use, or this module was reloaded
            bench = Bench()
            st.session_state[KEY] = bench
    return bench
