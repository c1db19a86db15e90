"""Proposals' rationales and labels' notes: one index for the store's records, rebuilt when they
change, holding only current rows; a label is found under the filters of the decision it is
about, and not once that decision's run is deleted."""

from __future__ import annotations

import shutil
import time

import pytest

from automem_core.mining.labels import add_labels, new_label
from automem_core.mining.mine import mine
from automem_core.search import SearchFilters, search
from automem_core.search.records import records_index_dir
from automem_core.store.layout import Layout
from automem_core.store.record_rows import ProposalRow
from automem_core.store.records import append_records, read_records
from automem_core.store.schema import utc_now


def proposal(event: str, rationale: str, runs: list[str]) -> ProposalRow:
    return ProposalRow(
        proposal_id="p-1", event=event, parent_version="fake-v0@01326b97", candidate_version=None,
        summary="keep a lantern file", rationale=rationale, patch_json="[]", citations_json="[]",
        expected_effect="", reason="", raw_output="", reviewer="embedded", author="ana",
        review_runs=runs, same_seeds=False, tokens_in=0, tokens_out=0, calls=0, tool_calls=0,
        cost_usd=0.0, created_at=utc_now(),
    )  # fmt: skip


@pytest.fixture
def with_records(store_copy):  # type: ignore[no-untyped-def]
    mine(store_copy, ["alpha", "beta"], allow_overlap=True)
    decisions = read_records(store_copy, "decisions").to_pylist()
    alpha = next(d for d in decisions if d["run_id"] == "alpha" and d["phase"] == "log")
    beta = next(d for d in decisions if d["run_id"] == "beta")
    add_labels(store_copy, [
        new_label(alpha["decision_id"], "bad", "ana", note="logged the torches twice"),
        new_label(beta["decision_id"], "good", "bo", note="torches noted where seen"),
    ])  # fmt: skip
    time.sleep(0.01)
    add_labels(store_copy, [new_label(alpha["decision_id"], "good", "ana", note="fine after all")])
    append_records(store_copy, "proposals", [proposal("proposed", "torches run out", ["alpha"])])
    return store_copy, alpha, beta


def test_notes_and_rationales_are_found_by_their_words(with_records):
    root, _, beta = with_records
    result = search(root, "torches")
    assert [(h.source, h.author, h.episode_id, h.step) for h in result.hits if h.source
            == "label"] == [("label", "bo", beta["episode_id"], beta["step"])]  # fmt: skip
    assert [h.ref for h in result.hits if h.source == "proposal"] == ["p-1"]
    assert result.record_hits == 2
    (fine,) = search(root, '"fine after all"').hits  # the note a person changed to
    assert (fine.run_id, fine.phase, fine.verdict) == ("alpha", "log", "good")


def test_the_filters_apply_to_labels_through_their_decision(with_records):
    root, _, beta = with_records
    labels = search(root, "note:torches", SearchFilters(runs=("beta",)))
    assert [h.episode_id for h in labels.hits] == [beta["episode_id"]]
    assert search(root, "note:torches", SearchFilters(phases=("plan",))).total == int(
        beta["phase"] == "plan"
    )
    assert search(root, "torches", SearchFilters(sources=("proposal",))).total == 1
    assert search(root, "torches", SearchFilters(sources=("observation",))).total == 0


def test_the_index_follows_the_records(with_records):
    root, *_ = with_records
    assert search(root, "lanterns").total == 0
    append_records(root, "proposals", [proposal("approved", "lanterns last longer", ["alpha"])])
    assert [h.verdict for h in search(root, "lanterns").hits] == ["approved"]
    assert search(root, "rationale:torches").total == 0  # the proposal's latest row wins
    assert (records_index_dir(root) / "records.json").exists()


def test_a_deleted_run_takes_the_labels_of_its_decisions_out_of_the_answers(with_records):
    root, *_ = with_records
    shutil.rmtree(Layout(root).run_dir("beta"))
    assert [h.source for h in search(root, "torches").hits] == ["proposal"]


def test_records_are_read_in_full_when_their_index_cannot_be_written(with_records):
    root, *_ = with_records
    blocker = records_index_dir(root).parent
    shutil.rmtree(blocker, ignore_errors=True)
    blocker.write_text("not a folder")  # the index's folder cannot be made
    result = search(root, "torches")
    assert result.record_hits == 2
    assert result.notes == [
        "the records' search index could not be brought up to date: records read in full"
    ]
