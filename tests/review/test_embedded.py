"""The embedded reviewer: rule-based proposals from diagnostics, in the proposal form, with
citations where their diagnostic holds; and each rule's patch a valid structural change of every
game's plain v0 scaffold."""

from __future__ import annotations

import asyncio
import json

import pytest

from automem_core.analysis.episode import open_episode
from automem_core.analysis.step_checks import diagnostic_holds
from automem_core.review.embedded import RULES, EmbeddedReviewer, Evidence
from automem_core.review.proposal import apply_patch, changed_paths, is_wording
from automem_core.review.proposals import load_proposals
from automem_core.review.review import review
from automem_core.run.config import make_run_config
from automem_core.run.runner import run
from automem_core.scaffold import resolve_scaffold

HEAVY = Evidence(
    diagnostics={"unchanged_observations": 9.0, "oscillations": 9.0, "redundant_writes": 9.0,
                 "empty_searches": 9.0, "writes_never_read": 9.0, "invalid_actions": 0.0},
    growth={name: 40.0 for name in ("map_notes", "dungeon_map", "actions_log", "notes")},
    end_lines={name: 400.0 for name in ("actions_log", "survival_log", "monster_encounters")},
    steps=1000,
)  # fmt: skip


@pytest.mark.parametrize("game", ["crafter", "minihack", "nethack"])
def test_every_rule_patches_v0_into_a_valid_structural_revision(game):
    parent = resolve_scaffold(f"{game}-v0", game)
    fired = 0
    for rule, _ in RULES:
        found = rule(parent, HEAVY)
        if found is None:
            continue
        patch, summary, why = found
        candidate = apply_patch(parent, patch)  # loads as a scaffold, or raises
        paths = changed_paths(parent.canonical(), candidate.canonical())
        assert paths and not all(is_wording(p) for p in paths), summary
        assert why and summary
        fired += 1
    assert fired >= 3, "most rules apply to a plain v0 scaffold"


def test_a_remedy_the_parent_has_is_not_proposed():
    rich = resolve_scaffold("crafter-keyed-status", "crafter")
    names = [rule.__name__ for rule, _ in RULES if rule(rich, HEAVY) is not None]
    assert "status_file" not in names and "keyed_map" not in names


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    root = tmp_path_factory.mktemp("embedded")
    cfg = make_run_config(game="crafter", tasks=("default",), seeds=(0, 1), data=root,
                          max_steps=60, run_id="review", seed_set="review")  # fmt: skip
    asyncio.run(run(cfg, progress=False))
    return root


def test_the_first_proposal_lands_with_citations_that_hold(reviewed):
    parent = resolve_scaffold("crafter-v0", "crafter")
    row = asyncio.run(review(reviewed, EmbeddedReviewer(), parent, ["review"]))
    assert row is not None and row.event == "proposed" and row.reviewer == "embedded"
    assert row.summary == "a status file written every step"
    citations = json.loads(row.citations_json)
    assert citations
    for c in citations:
        ep = open_episode(reviewed, c["episode_id"])
        assert c["diagnostic"] in ("repeated_read", "empty_search")
        assert diagnostic_holds(ep, c["step"], c["diagnostic"]), c
    patch = json.loads(row.patch_json)
    assert {"op": "replace", "path": "/helpers/status_file",
            "value": {"enabled": True, "file": "status"}} in patch  # fmt: skip


def test_the_same_remedy_is_not_proposed_twice_for_one_parent(reviewed):
    parent = resolve_scaffold("crafter-v0", "crafter")
    second = asyncio.run(review(reviewed, EmbeddedReviewer(), parent, ["review"]))
    summaries = list(load_proposals(reviewed)["summary"])
    assert second is None or summaries.count(second.summary) == 1
    assert len(summaries) == len(set(summaries))
