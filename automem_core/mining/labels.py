"""Labels on decisions: append-only verdicts from people and from the LLM judge.

Nothing is overwritten or deleted: a new verdict, an undo, a bulk confirmation are all new rows
(``store/records.py``). The current label of a decision is its latest human label; a decision
whose latest human row is ``cleared`` (an undo) or that no person labelled takes its latest judge
verdict. ``malformed`` rows record judge answers that held no verdict; they never count.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pandas as pd

from automem_core.errors import AutoMemError
from automem_core.store.reader import query_store
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


HISTORY_SQL = """
SELECT label_id, target_kind, target_id, verdict, note, author, source, scaffold_version,
  created_at
FROM labels WHERE target_id = ? ORDER BY created_at, label_id
"""


def undo(root: Path, label_id: str, author: str) -> LabelRow:
    """Undo a human label by appending the target's previous human verdict (or ``cleared``)."""

    def history(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
        target = con.execute(
            "SELECT target_id FROM labels WHERE label_id = ?", [label_id]
        ).fetchone()
        if target is None:
            raise LabelError(f"no label {label_id!r} to undo")
        return con.execute(HISTORY_SQL, [target[0]]).df()

    rows = query_store(root, history, tables=("labels",))
    human = rows[rows["source"] == HUMAN].reset_index(drop=True)
    position = human.index[human["label_id"] == label_id]
    if len(position) == 0:
        raise LabelError(f"label {label_id!r} is not a person's label; judge labels stay")
    undone = human.iloc[position[0]]
    earlier = human.iloc[: position[0]]
    verdict: Verdict = earlier.iloc[-1]["verdict"] if len(earlier) else "cleared"
    row = new_label(
        str(undone["target_id"]),
        verdict,
        author,
        note=f"undo of {label_id}",
        scaffold_version=str(undone["scaffold_version"]),
        target_kind=str(undone["target_kind"]),
    )
    append_records(root, "labels", [row])
    return row
