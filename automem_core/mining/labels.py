"""Labels on decisions: append-only verdicts from people and from the LLM judge.

Nothing is overwritten or deleted: a new verdict, an undo, a bulk confirmation are all new rows
(``store/records.py``). Each person's current label of a decision is their own latest row
(``cleared``, left by an undo, is no label); several people's labels become the decision's one
label by a policy (``analysis/label_policy.py``); a decision no person labelled takes its latest
judge verdict. ``malformed`` rows record judge answers that held no verdict; they never count.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

from automem_core.errors import AutoMemError
from automem_core.store import current
from automem_core.store.record_rows import HUMAN_VERDICTS, LabelRow, Verdict
from automem_core.store.records import append_records
from automem_core.store.schema import utc_now

HUMAN = "human"
VERDICTS = HUMAN_VERDICTS


class LabelError(AutoMemError, ValueError):
    """A label that cannot be recorded; the message says why."""


def new_label(
    target_id: str,
    verdict: Verdict,
    author: str,
    *,
    note: str = "",
    source: str = HUMAN,
    scaffold_version: str = "",
    target_kind: str = "decision",
    tokens_in: int = 0,
    tokens_out: int = 0,
    cost_usd: float = 0.0,
) -> LabelRow:
    if not author.strip():
        raise LabelError("a label needs an author; give your name")
    return LabelRow(
        label_id=uuid.uuid4().hex,
        target_kind="alternative" if target_kind == "alternative" else "decision",
        target_id=target_id,
        verdict=verdict,
        note=note,
        author=author,
        source=source,
        scaffold_version=scaffold_version,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost_usd=cost_usd,
        created_at=utc_now(),
    )


def add_labels(root: Path, labels: Sequence[LabelRow]) -> int:
    """Record labels (one atomic append); how many."""
    append_records(root, "labels", list(labels))
    return len(labels)


def undo(root: Path, label_id: str, author: str) -> LabelRow:
    """Undo a person's own label: append that person's previous verdict of the target (or
    ``cleared`` when they had none). Other people's labels of the target are untouched."""
    undone = current.latest(root, "labels", label_id=label_id)
    if undone is None:
        raise LabelError(f"no label {label_id!r} to undo")
    if undone.source != HUMAN:
        raise LabelError(f"label {label_id!r} is not a person's label; judge labels stay")
    if undone.author != author:
        raise LabelError(f"label {label_id!r} is {undone.author}'s; undo only your own labels")
    mine = current.history(
        root, "labels", target_kind=undone.target_kind, target_id=undone.target_id,
        author=author, source=HUMAN,
    )  # fmt: skip
    position = [row.label_id for row in mine].index(label_id)
    verdict: Verdict = mine[position - 1].verdict if position > 0 else "cleared"
    row = new_label(
        undone.target_id,
        verdict,
        author,
        note=f"undo of {label_id}",
        scaffold_version=undone.scaffold_version,
        target_kind=undone.target_kind,
    )
    append_records(root, "labels", [row])
    return row
