"""One review: a reviewer reads the parent's episodes and proposes a revision, which is validated
and recorded.

A reviewer is anything with a ``label`` and ``propose(root, parent, runs, feedback)`` that
returns a :class:`ReviewOutput` (the embedded rule-based reviewer, or an LLM through the
OpenAI-compatible client). An invalid proposal is recorded as ``invalid`` with its reason and
sent back to the reviewer once with that reason; a valid one lands as ``proposed``, its
candidate stored as a scaffold version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from automem_core.review.proposal import ProposalDraft, ProposalError, parse_draft, validate
from automem_core.review.proposals import new_row, record
from automem_core.scaffold import Scaffold, store_version
from automem_core.store.record_rows import ProposalRow


@dataclass
class ReviewOutput:
    draft: ProposalDraft | None  # None: nothing to propose, or the answer was no proposal
    raw: str  # what the reviewer returned, kept with the proposal
    usage: dict[str, Any] = field(default_factory=dict)  # tokens_in/out, calls, tool_calls, cost
    error: str | None = None  # why there is no draft


class Reviewer(Protocol):
    label: str

    async def propose(
        self, root: Path, parent: Scaffold, runs: Sequence[str], feedback: str | None = None
    ) -> ReviewOutput: ...


async def review(
    root: Path,
    reviewer: Reviewer,
    parent: Scaffold,
    runs: Sequence[str],
    same_seeds: bool = False,
    retries: int = 1,
) -> ProposalRow | None:
    """Ask for a proposal, validate it (one more try with the reason when it is invalid) and
    record what happened; the ``proposed`` row, or None when there is no valid proposal."""
    feedback: str | None = None
    for attempt in range(retries + 1):
        out = await reviewer.propose(root, parent, runs, feedback)
        draft, reason = out.draft, out.error
        if draft is None and reason is None and not out.raw.strip():
            return None  # the reviewer has nothing to propose
        candidate = None
        if draft is None and out.raw and reason is None:
            try:
                draft = parse_draft(out.raw)
            except ProposalError as exc:
                reason = str(exc)
        if draft is not None:
            try:
                candidate = validate(root, draft, parent, runs)
            except ProposalError as exc:
                reason = str(exc)
        common: dict[str, Any] = {"raw_output": out.raw, "reviewer": reviewer.label,
                                  "review_runs": runs, "same_seeds": same_seeds,
                                  "usage": out.usage}  # fmt: skip
        if candidate is None:
            record(root, [new_row(draft, parent, "invalid", candidate=None,
                                  reason=reason or "no proposal", **common)])  # fmt: skip
            feedback = reason
            if attempt == retries:
                return None
            continue
        store_version(candidate, root)
        row = new_row(draft, parent, "proposed", candidate=candidate, reason="", **common)
        record(root, [row])
        return row
    return None
