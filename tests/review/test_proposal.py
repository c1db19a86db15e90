"""Proposal validation refuses each kind of bad proposal with its reason, and a valid one makes a
candidate whose parent is the reviewed version."""

from __future__ import annotations

import asyncio

import pytest

from automem_core.analysis.episode import open_episode
from automem_core.analysis.step_checks import steps_where
from automem_core.review.proposal import (
    Citation,
    ProposalDraft,
    ProposalError,
    check_citations,
    is_wording,
    parse_draft,
    validate,
)
from automem_core.run.fork import load_parent
from automem_core.run.fork_play import fork_episode
from automem_core.scaffold import load_scaffold
from automem_core.testing.fake_game import SCAFFOLD_DIR
from automem_core.testing.sample_store import play_fake_run


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    root = tmp_path_factory.mktemp("review")
    play_fake_run(root, seeds=(0,), steps=40, run_id="rev", seed_set="review")
    ep = open_episode(root, "rev.grid.s0")
    return root, load_scaffold(SCAFFOLD_DIR), steps_where(ep, "empty_search")[0]


def draft(patch, step, **changes) -> ProposalDraft:
    fields = {
        "summary": "smaller search results",
        "rationale": "searches return too much",
        "patch": patch,
        "citations": [{"episode_id": "rev.grid.s0", "step": step, "shows": "an empty search",
                       "diagnostic": "empty_search"}],
        "expected_effect": "fewer empty searches",
    }  # fmt: skip
    return ProposalDraft.model_validate({**fields, **changes})


LIMIT = [{"op": "replace", "path": "/limits/search_cap", "value": 7}]


def test_a_valid_proposal_makes_a_candidate_of_the_parent(reviewed):
    root, parent, step = reviewed
    candidate = validate(root, draft(LIMIT, step), parent, ["rev"])
    assert candidate.parent == parent.version and candidate.spec.limits.search_cap == 7
    assert candidate.version != parent.version and candidate.id == parent.id


@pytest.mark.parametrize(
    ("patch", "reason"),
    [
        ([{"op": "replace", "path": "/limits/nothing_here/x", "value": 1}], "does not apply"),
        ([{"op": "replace", "path": "/limits/max_log_turns", "value": 0}], "not a valid scaffold"),
        (
            [
                {
                    "op": "replace",
                    "path": "/prompts/log",
                    "value": "Step $step. $observation $previous_action: record it.",
                }
            ],
            "wording only",
        ),
        ([{"op": "replace", "path": "/files/0/purpose", "value": "x"}], "wording only"),
        ([{"op": "test", "path": "/id", "value": "fake-v0"}], "changes nothing"),
        ([{"op": "replace", "path": "/ops", "value": ["READ", "APPEND"]}], "keep SEARCH"),
        (
            [
                {"op": "replace", "path": "/prompts/plan", "value": "act now"},
                {"op": "replace", "path": "/limits/search_cap", "value": 5},
            ],
            "PLAN prompt must keep $observation",
        ),
    ],
)
def test_bad_patches_are_refused_with_the_reason(reviewed, patch, reason):
    root, parent, step = reviewed
    with pytest.raises(ProposalError, match=reason.replace("$", r"\$")):
        validate(root, draft(patch, step), parent, ["rev"])


@pytest.mark.parametrize(
    ("citation", "reason"),
    [
        (
            {"episode_id": "other.grid.s0", "step": 1, "shows": "x"},
            "not an episode of the reviewed",
        ),
        ({"episode_id": "rev.grid.s0", "step": 500, "shows": "x"}, "has no step 500"),
        (
            {"episode_id": "rev.grid.s0", "step": 0, "shows": "x", "diagnostic": "oscillation"},
            "oscillation does not hold at rev.grid.s0 step 0",
        ),
        (
            {"episode_id": "rev.grid.s0", "step": 3, "shows": "x", "diagnostic": "bad luck"},
            "unknown diagnostic",
        ),
    ],
)
def test_citations_that_point_nowhere_are_refused(reviewed, citation, reason):
    root, parent, step = reviewed
    with pytest.raises(ProposalError, match=reason):
        validate(root, draft(LIMIT, step, citations=[citation]), parent, ["rev"])


def test_answers_that_are_not_proposals_say_what_is_missing():
    with pytest.raises(ProposalError, match="not JSON"):
        parse_draft("I think we should add a map file.")
    with pytest.raises(ProposalError, match="citations"):
        parse_draft('{"summary": "s", "rationale": "r", "patch": [{"op": "add"}], '
                    '"expected_effect": "e", "citations": []}')  # fmt: skip
    assert is_wording("/prompts/log") and not is_wording("/files/2/keyed")


def test_a_citation_of_a_fork_is_checked_against_the_forks_own_steps(tmp_path):
    root = tmp_path / "data"
    play_fake_run(root, seeds=(0,), steps=30, run_id="p")
    asyncio.run(fork_episode(root, load_parent(root, "p.grid.s0"), 20, horizon=6, run_id="fk"))
    fork = "fk.grid.s0.t20.k0"  # steps 20–25

    def problems(step: int) -> list[str]:
        return check_citations(root, [Citation(episode_id=fork, step=step, shows="x")], ["fk"])

    assert problems(22) == [] and problems(25) == []
    assert problems(2) == [f"{fork} has no step 2 (it played steps 20–25)"]
    assert problems(26) == [f"{fork} has no step 26 (it played steps 20–25)"]
