"""A deterministic reviewer for tests: the same kind of proposal every time, citing real steps.

:class:`CitingReviewer` satisfies ``review.review.Reviewer`` without a model: it proposes a
structural patch (by default, halving the parent's search result cap) and cites, in each of the
first reviewed episodes, the first step where a diagnostic holds (step 0 when none does), so
:func:`automem_core.review.review.review` validates and records it as it would an LLM's answer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from automem_core.analysis.episode import EpisodeData, open_episode
from automem_core.analysis.runs import load_episodes
from automem_core.analysis.step_checks import DIAGNOSTICS, steps_where
from automem_core.review.proposal import Citation, ProposalDraft
from automem_core.review.review import ReviewOutput
from automem_core.scaffold import Scaffold

USAGE = {"tokens_in": 1_200, "tokens_out": 300, "calls": 1, "tool_calls": 2, "cost_usd": 0.01}


def smaller_search_cap(parent: Scaffold) -> list[dict[str, Any]]:
    """A structural patch: half the parent's search result cap (at least 1, and a change)."""
    cap = parent.spec.limits.search_cap
    return [{"op": "replace", "path": "/limits/search_cap", "value": cap // 2 if cap > 1 else 2}]


class CitingReviewer:
    """Proposes ``patch`` (or :func:`smaller_search_cap` of the parent) with citations of the
    reviewed episodes' steps; ``label`` names it in the proposal records."""

    def __init__(
        self,
        patch: list[dict[str, Any]] | None = None,
        summary: str = "cap search results lower",
        label: str = "testing:citing",
        cited_episodes: int = 2,
    ) -> None:
        self.patch = patch
        self.summary = summary
        self.label = label
        self.cited_episodes = cited_episodes

    async def propose(
        self, root: Path, parent: Scaffold, runs: Sequence[str], feedback: str | None = None
    ) -> ReviewOutput:
        citations = cite(root, runs, self.cited_episodes)
        draft = ProposalDraft(
            summary=self.summary,
            rationale="Searches return long lists the agent does not read; fewer results "
            "should keep the PLAN prompt on what matters.",
            patch=self.patch or smaller_search_cap(parent),
            citations=citations,
            expected_effect="fewer tokens per PLAN turn and no loss of progression",
        )
        raw = json.dumps(draft.model_dump(), indent=1)
        return ReviewOutput(draft, raw, dict(USAGE))


def cite(root: Path, runs: Sequence[str], episodes: int) -> list[Citation]:
    """One citation in each of the first ``episodes`` episodes of ``runs``: the first step
    where a diagnostic holds, with that diagnostic, else step 0."""
    found: list[Citation] = []
    for run_id in runs:
        for episode_id in sorted(load_episodes(root, run_id)["episode_id"]):
            if len(found) == episodes:
                return found
            found.append(_citation(open_episode(root, episode_id, run_id)))
    return found


def _citation(ep: EpisodeData) -> Citation:
    for diagnostic in DIAGNOSTICS:
        steps = steps_where(ep, diagnostic, limit=1)
        if steps:
            shows = f"{diagnostic.replace('_', ' ')} at step {steps[0]}"
            return Citation(episode_id=ep.episode_id, step=steps[0], shows=shows,
                            diagnostic=diagnostic)  # fmt: skip
    return Citation(episode_id=ep.episode_id, step=0, shows="the episode's first step")
