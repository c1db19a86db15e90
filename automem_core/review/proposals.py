"""Proposals as append-only records: every step of a proposal's life is a new row.

``proposed`` (valid, waiting), ``invalid`` (refused by validation, with the reason), then a
person's ``approved`` / ``edited`` (approved with their edit of the patch, validated again) /
``rejected``, then the gate's ``accepted`` / ``declined``. The latest row of a proposal is its
state; people act from the dashboard or the CLI while ``automem optimize`` waits, and no write is
lost (``store/records.py``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from automem_core.review.proposal import ProposalDraft, ProposalError, validate
from automem_core.scaffold import Scaffold, load_version, store_version
from automem_core.store import current
from automem_core.store.current import history_sql, latest_sql
from automem_core.store.reader import query_store
from automem_core.store.record_rows import ProposalEvent, ProposalRow
from automem_core.store.records import append_records
from automem_core.store.schema import utc_now

WAITING: tuple[ProposalEvent, ...] = ("proposed",)
APPROVED: tuple[ProposalEvent, ...] = ("approved", "edited")


def new_row(
    draft: ProposalDraft | None,
    parent: Scaffold,
    event: ProposalEvent,
    *,
    candidate: Scaffold | None,
    reason: str,
    raw_output: str,
    reviewer: str,
    review_runs: Sequence[str],
    same_seeds: bool = False,
    usage: dict[str, Any] | None = None,
    proposal_id: str | None = None,
) -> ProposalRow:
    usage = usage or {}
    return ProposalRow(
        proposal_id=proposal_id or f"p-{uuid.uuid4().hex[:10]}",
        event=event,
        parent_version=parent.version,
        candidate_version=candidate.version if candidate else None,
        summary=draft.summary if draft else "",
        rationale=draft.rationale if draft else "",
        patch_json=json.dumps(draft.patch) if draft else "[]",
        citations_json=json.dumps([c.model_dump() for c in draft.citations]) if draft else "[]",
        expected_effect=draft.expected_effect if draft else "",
        reason=reason,
        raw_output=raw_output,
        reviewer=reviewer,
        author=reviewer,
        review_runs=list(review_runs),
        same_seeds=same_seeds,
        tokens_in=int(usage.get("tokens_in", 0)),
        tokens_out=int(usage.get("tokens_out", 0)),
        calls=int(usage.get("calls", 0)),
        tool_calls=int(usage.get("tool_calls", 0)),
        cost_usd=float(usage.get("cost_usd", 0.0)),
        created_at=utc_now(),
    )


def record(root: Path, rows: Sequence[ProposalRow]) -> None:
    append_records(root, "proposals", list(rows))


def load_proposals(root: Path) -> pd.DataFrame:
    """Every proposal's latest row (its current state), oldest first."""
    sql = f"SELECT * FROM ({latest_sql('proposals')}) ORDER BY created_at"
    return query_store(root, lambda con: con.execute(sql).df(), tables=("proposals",))


def history(root: Path, proposal_id: str) -> pd.DataFrame:
    """Every row of one proposal, oldest first."""
    sql = history_sql("proposals", "proposal_id = ?")
    return query_store(
        root, lambda con: con.execute(sql, [proposal_id]).df(), tables=("proposals",)
    )


def latest(root: Path, proposal_id: str) -> ProposalRow:
    found: ProposalRow | None = current.latest(root, "proposals", proposal_id=proposal_id)
    if found is None:
        raise ProposalError(f"no proposal {proposal_id!r}; list them with `automem proposals`")
    return found


def _decide(
    root: Path, proposal_id: str, event: ProposalEvent, author: str, reason: str, **changes: Any
) -> ProposalRow:
    now = latest(root, proposal_id)
    if now.event not in WAITING:
        raise ProposalError(f"proposal {proposal_id} is {now.event}, not waiting for a decision")
    if not reason.strip():
        raise ProposalError("give a reason (it is kept with your decision)")
    row = replace(now, event=event, author=author, reason=reason, created_at=utc_now(),
                  **changes)  # fmt: skip
    record(root, [row])
    return row


def approve(root: Path, proposal_id: str, author: str, reason: str) -> ProposalRow:
    return _decide(root, proposal_id, "approved", author, reason)


def reject(root: Path, proposal_id: str, author: str, reason: str) -> ProposalRow:
    return _decide(root, proposal_id, "rejected", author, reason)


def approve_edited(
    root: Path, proposal_id: str, author: str, reason: str, patch: list[dict[str, Any]]
) -> ProposalRow:
    """Approve with a person's edit of the patch; the edited candidate is validated again."""
    now = latest(root, proposal_id)
    parent = load_version(root, now.parent_version)
    draft = ProposalDraft(
        summary=now.summary,
        rationale=now.rationale,
        patch=patch,
        citations=json.loads(now.citations_json),
        expected_effect=now.expected_effect,
    )
    candidate = validate(root, draft, parent, now.review_runs)
    store_version(candidate, root)
    return _decide(root, proposal_id, "edited", author, reason,
                   patch_json=json.dumps(patch), candidate_version=candidate.version)  # fmt: skip
