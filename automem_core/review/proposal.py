"""A scaffold proposal and its validation (Loop 1).

A reviewer (an LLM or the embedded one) returns a :class:`ProposalDraft`: a summary, a rationale,
an RFC 6902 JSON Patch over the parent scaffold's canonical document, citations of the episodes
and steps that motivated it, and the effect it expects. :func:`validate` refuses, with a reason:

- a patch that does not apply, or whose result does not load as a scaffold;
- a patch with no structural change: a file, its schema or keying, an op, a helper, a limit —
  prompt wording, descriptions and initial contents alone do not count;
- a result that breaks the agent's invariants (memory only through ops: the read and write ops
  stay; PLAN read-only and LOG records only observed outcomes: the engine enforces these, and
  the LOG and PLAN prompts must keep the observation and the previous action they are built on);
- citations that point nowhere: an episode of the reviewed runs, a step it played, and, when
  the citation names a diagnostic, that diagnostic holding at that step.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jsonpatch
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from automem_core.analysis.episode import EpisodeData, open_episode
from automem_core.analysis.step_checks import DIAGNOSTICS, diagnostic_holds
from automem_core.errors import AutoMemError
from automem_core.scaffold import Scaffold, ScaffoldError, make_scaffold
from automem_core.store.layout import StoreError

# Paths whose change is wording, not structure (JSON Pointer prefixes of the canonical document).
WORDING = ("/prompts", "/description", "/op_help")
WORDING_FILE_FIELDS = ("purpose", "initial")
READ_OPS, WRITE_OPS = ("SEARCH", "READ"), ("APPEND", "WRITE", "UPSERT")


class ProposalError(AutoMemError, ValueError):
    """Why a proposal was refused (recorded as ``invalid`` with this reason)."""


class Citation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    episode_id: str
    step: int = Field(ge=0)
    shows: str = Field(min_length=1)  # what the step shows, in a sentence
    diagnostic: str | None = None  # the diagnostic it illustrates (checked when given)


class ProposalDraft(BaseModel):
    """What a reviewer must return."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(min_length=1)
    rationale: str = Field(min_length=1)
    patch: list[dict[str, Any]] = Field(min_length=1)
    citations: list[Citation] = Field(min_length=1)
    expected_effect: str = Field(min_length=1)


def parse_draft(raw: str | dict[str, Any]) -> ProposalDraft:
    """A draft from a reviewer's answer (JSON text or already parsed); ProposalError says why
    it is not one."""
    try:
        data = json.loads(_json_part(raw)) if isinstance(raw, str) else raw
        return ProposalDraft.model_validate(data)
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(top level)"
            raise ProposalError(f"the answer is not a proposal: {where}: {first['msg']}") from None
        raise ProposalError(f"the answer is not JSON: {exc}") from None


def _json_part(text: str) -> str:
    start, end = text.find("{"), text.rfind("}")
    return text[start : end + 1] if start >= 0 and end > start else text


def changed_paths(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The JSON Pointer paths that differ between two canonical documents."""
    return sorted({str(op["path"]) for op in jsonpatch.make_patch(before, after).patch})


def is_wording(path: str) -> bool:
    if path.startswith(WORDING):
        return True
    parts = path.split("/")
    return len(parts) >= 4 and parts[1] == "files" and parts[3] in WORDING_FILE_FIELDS


def apply_patch(parent: Scaffold, patch: list[dict[str, Any]]) -> Scaffold:
    """The candidate the patch makes of ``parent`` (its ``parent`` field set to the parent's
    version); ProposalError when the patch does not apply or the result does not load."""
    try:
        doc = jsonpatch.apply_patch(parent.canonical(), patch)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError) as exc:
        raise ProposalError(f"the patch does not apply: {exc}") from None
    doc["parent"] = parent.version
    try:
        return make_scaffold(doc, source="the patched scaffold")
    except ScaffoldError as exc:
        raise ProposalError(f"the result is not a valid scaffold: {exc}") from None


def invariant_problems(candidate: Scaffold) -> list[str]:
    """What in the candidate would break the agent's invariants (empty: none)."""
    spec, problems = candidate.spec, []
    missing = [op for op in READ_OPS if op not in spec.ops]
    if missing:
        problems.append(f"memory is read only through ops: keep {', '.join(missing)}")
    if not any(op in spec.ops for op in WRITE_OPS):
        problems.append("memory is written only through ops: keep APPEND, WRITE or UPSERT")
    prompts = candidate.prompts
    for name, needed in (("log", "$observation"), ("log", "$previous_action"),
                         ("plan", "$observation")):  # fmt: skip
        if needed not in prompts[name]:
            problems.append(f"the {name.upper()} prompt must keep {needed}")
    return problems


def check_citations(
    root: Path, citations: Sequence[Citation], review_runs: Sequence[str]
) -> list[str]:
    """Citations that point nowhere (empty: every citation holds)."""
    problems, episodes = [], {}
    for c in citations:
        if not any(c.episode_id.startswith(f"{run}.") for run in review_runs):
            problems.append(f"{c.episode_id} is not an episode of the reviewed runs")
            continue
        if c.episode_id not in episodes:
            try:
                episodes[c.episode_id] = open_episode(root, c.episode_id)
            except StoreError:
                problems.append(f"{c.episode_id} is not in the store")
                continue
        ep: EpisodeData = episodes[c.episode_id]
        if not ep.n_steps or not ep.first_step <= c.step <= ep.last_step:
            played = f"steps {ep.first_step}–{ep.last_step}" if ep.n_steps else "no steps"
            problems.append(f"{c.episode_id} has no step {c.step} (it played {played})")
        elif c.diagnostic is not None:
            if c.diagnostic not in DIAGNOSTICS:
                problems.append(f"unknown diagnostic {c.diagnostic!r} at {c.episode_id}:{c.step}")
            elif not diagnostic_holds(ep, c.step, c.diagnostic):
                problems.append(f"{c.diagnostic} does not hold at {c.episode_id} step {c.step}")
    return problems


def validate(
    root: Path, draft: ProposalDraft, parent: Scaffold, review_runs: Sequence[str]
) -> Scaffold:
    """The candidate scaffold of a valid draft; ProposalError with every reason otherwise."""
    candidate = apply_patch(parent, draft.patch)
    paths = [p for p in changed_paths(parent.canonical(), candidate.canonical()) if p != "/parent"]
    structural = [p for p in paths if not is_wording(p)]
    problems = []
    if not paths:
        problems.append("the patch changes nothing")
    elif not structural:
        problems.append(
            "the patch changes wording only (" + ", ".join(paths[:4]) + "); a revision must "
            "change structure: a file, its schema or keying, an op, a helper or a limit"
        )
    problems += invariant_problems(candidate)
    problems += check_citations(root, draft.citations, review_runs)
    if problems:
        raise ProposalError("; ".join(problems))
    return candidate
