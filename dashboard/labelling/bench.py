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

from automem_core.errors import AutoMemError
from automem_core.mining.labels import LabelError, add_labels, new_label, undo
from automem_core.store.record_rows import LabelRow
from dashboard.labelling.queues import Item
from dashboard.widgets.shared_state import shared

KEY = "label.bench"
VERDICT_KEYS = {"1": "good", "2": "bad", "3": "unsure"}


@dataclass
class Bench:
    snapshot: tuple[Any, ...] | None = None  # what the queue's items were made for
    items: list[Item] = field(default_factory=list)
    pos: int = 0
    undoable: list[str] = field(default_factory=list)  # this session's label ids, oldest first
    last: tuple[str, str, int] | None = None  # (verdict or "undone", target, how many)
    problems: list[str] = field(default_factory=list)  # to show once, after the presses
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def restart(self, snapshot: tuple[Any, ...], items: list[Item]) -> None:
        self.snapshot, self.items, self.pos = snapshot, items, 0

    def apply(self, presses: list[str], root: Path, who: str, versions: dict[str, str]) -> None:
        """Each press in order: a verdict labels the record on screen and moves on (a burst
        of verdicts is one write); arrows move; ``u`` undoes your last label and goes back to
        its record. It never raises: when the store refuses a write, the presses after it are
        dropped and the refusal is kept in :attr:`problems` (pressed again, they would act on
        records the person did not see)."""
        pending: list[str] = []
        for press in presses:
            if press in VERDICT_KEYS and who:
                pending.append(VERDICT_KEYS[press])
                continue
            if not self._label(pending, root, who, versions):
                return
            pending = []
            if press == "ArrowRight":
                self.pos = min(self.pos + 1, len(self.items))
            elif press == "ArrowLeft":
                self.pos = max(self.pos - 1, 0)
            elif press == "u" and self.undoable and not self._undo(root, who):
                return
        self._label(pending, root, who, versions)

    def _label(self, verdicts: list[str], root: Path, who: str,
               versions: dict[str, str]) -> bool:  # fmt: skip
        """Label the records from the one on screen on; False when the store refused."""
        rows: list[LabelRow] = []
        for item, verdict in zip(self.items[self.pos :], verdicts, strict=False):
            version = versions.get(item.decision_id, "")
            row = new_label(item.target_id, verdict, who, target_kind=item.kind,  # type: ignore[arg-type]
                            scaffold_version=version)  # fmt: skip
            rows.append(row)
        if not rows:
            return True
        try:
            add_labels(root, rows)
        except (AutoMemError, OSError) as exc:
            self.problems.append(f"labels not saved: {exc}")
            return False
        self.undoable.extend(r.label_id for r in rows)
        self.last = (rows[-1].verdict, rows[-1].target_id, len(rows))
        self.pos += len(rows)
        return True

    def _undo(self, root: Path, who: str) -> bool:
        """Undo your last label and show its record; False when the store refused."""
        try:
            undone = undo(root, self.undoable[-1], who)
        except LabelError as exc:  # not yours, or not there: nothing to go back to
            self.problems.append(str(exc))
            self.undoable.pop()
            return True
        except (AutoMemError, OSError) as exc:
            self.problems.append(f"undo not saved: {exc}")
            return False
        self.undoable.pop()
        targets = [item.target_id for item in self.items]
        if undone.target_id in targets:
            self.pos = targets.index(undone.target_id)
        self.last = ("undone", "", 1)
        return True


def current() -> Bench:
    """This session's bench (made on first use)."""
    return shared(KEY, Bench, lambda kept: isinstance(kept, Bench))
