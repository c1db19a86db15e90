"""Reading proposals back: their evaluations, the paired results marked fixed / regressed, the
run of a cited episode, an edited patch, and the lineage with the gate's numbers."""

from __future__ import annotations

import asyncio

import pandas as pd
import pytest

from automem_core.review.evaluate import evaluation_row
from automem_core.review.gate import paired_gate
from automem_core.review.optimize import LoopState, save
from automem_core.review.outcomes import (
    cited_run,
    load_evaluations,
    load_loops,
    outcome_counts,
    paired_results,
    parse_patch,
)
from automem_core.review.proposal import ProposalError
from automem_core.review.review import review
from automem_core.review.versions import load_lineage
from automem_core.scaffold import load_scaffold
from automem_core.store.records import append_records
from automem_core.testing.fake_game import SCAFFOLD_DIR
from automem_core.testing.reviewers import CitingReviewer
from automem_core.testing.sample_store import play_fake_run


def episodes(progressions: dict[int, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"task": "grid", "seed": s, "status": "ok", "progression": p}
         for s, p in progressions.items()]
    )  # fmt: skip


GATE = paired_gate(
    episodes({1: 0.2, 2: 0.3, 3: 0.1, 4: 0.4}), episodes({1: 0.0, 2: 0.1, 3: 0.3, 4: 0.4})
)


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    root = tmp_path_factory.mktemp("outcomes")
    run_id = play_fake_run(root, seeds=(0, 1), steps=10, run_id="rev", seed_set="review")
    row = asyncio.run(review(root, CitingReviewer(), load_scaffold(SCAFFOLD_DIR), [run_id]))
    evaluation = evaluation_row(
        GATE, proposal_id=row.proposal_id, version=row.candidate_version,
        parent_version=row.parent_version, seed_set="gating", run_id="cand-run",
        parent_run_id="parent-run", verdict="accepted",
    )  # fmt: skip
    append_records(root, "evaluations", [evaluation])
    return root, row


def test_pairs_are_marked_fixed_improved_same_or_regressed():
    pairs = paired_results(GATE.pairs_json())
    assert dict(zip(pairs["seed"], pairs["outcome"], strict=True)) == {
        1: "fixed", 2: "improved", 3: "regressed", 4: "same"
    }  # fmt: skip
    assert outcome_counts(pairs) == {"fixed": 1, "improved": 1, "same": 1, "regressed": 1}
    assert paired_results("[]").empty


def test_a_proposals_evaluations_are_its_own(reviewed):
    root, row = reviewed
    mine = load_evaluations(root, row.proposal_id)
    assert list(mine["seed_set"]) == ["gating"] and mine["pairs"].iloc[0] == 4
    assert load_evaluations(root, "p-none").empty


def test_the_lineage_joins_proposals_evaluations_and_reviewer_cost(reviewed):
    root, row = reviewed
    lineage = load_lineage(root).set_index("version")
    assert lineage.loc[row.parent_version, "status"] == "base"
    candidate = lineage.loc[row.candidate_version]
    assert candidate["parent"] == row.parent_version and candidate["status"] == "proposed"
    assert candidate["gating"] == pytest.approx(GATE.mean)
    assert candidate["reviewer_cost"] == pytest.approx(0.01)


def test_a_cited_episode_belongs_to_the_longest_matching_run():
    assert cited_run("run-a.b.grid.s0", ["run-a", "run-a.b"]) == "run-a.b"
    assert cited_run("other.grid.s0", ["run-a"]) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[{", "not JSON"),
        ("{}", "non-empty JSON list"),
        ("[]", "non-empty"),
        ("[1]", "operation 0"),
    ],
)
def test_an_edited_patch_that_is_not_a_list_of_operations_is_refused(text, reason):
    with pytest.raises(ProposalError, match=reason):
        parse_patch(text)


def test_loops_are_read_from_their_state_files(tmp_path):
    save(tmp_path, LoopState("loop-a", "fake-v0@1", pending="p-1"))
    (tmp_path / "loops" / "broken.json").write_text("{not json")
    assert [(s.loop_id, s.pending) for s in load_loops(tmp_path)] == [("loop-a", "p-1")]


def test_an_accepted_version_whose_held_out_fell_is_shown_as_such(tmp_path):
    from dataclasses import replace

    from automem_core.review.proposals import latest, record
    from automem_core.store.schema import utc_now

    run_id = play_fake_run(tmp_path, seeds=(0, 1), steps=10, run_id="rev", seed_set="review")
    row = asyncio.run(review(tmp_path, CitingReviewer(), load_scaffold(SCAFFOLD_DIR), [run_id]))
    accepted = replace(latest(tmp_path, row.proposal_id), event="accepted", created_at=utc_now())
    record(tmp_path, [accepted])
    fell = paired_gate(episodes({7: 0.1, 8: 0.2}), episodes({7: 0.3, 8: 0.2}))
    held = evaluation_row(
        fell, proposal_id=row.proposal_id, version=row.candidate_version,
        parent_version=row.parent_version, seed_set="heldout", run_id="h", parent_run_id="hp",
        verdict="reported",
    )  # fmt: skip
    append_records(tmp_path, "evaluations", [held])
    lineage = load_lineage(tmp_path).set_index("version")
    node = lineage.loc[row.candidate_version]
    assert node["heldout"] < node["parent_heldout"]
    assert node["status"] == "accepted, held-out fell"
    base = lineage.loc[row.parent_version]
    assert pd.isna(base.get("gating")) and pd.isna(base.get("heldout"))  # no pooled number
