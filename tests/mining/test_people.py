"""Several people labelling the same decisions: each person's label is their own, an undo
touches only its author's labels, and the decision's label follows the stated policy."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from automem_core.analysis.decision_table import load_decisions
from automem_core.analysis.label_policy import resolve
from automem_core.mining.labels import LabelError, add_labels, new_label, undo
from automem_core.mining.mine import mine
from automem_core.testing.sample_store import play_fake_run


@pytest.fixture
def store(tmp_path):
    play_fake_run(tmp_path, seeds=(0,), steps=10, run_id="r", seed_set="mining")
    mine(tmp_path, ["r"])
    return tmp_path


def _label(store, did, verdict, who):
    row = new_label(did, verdict, who)
    add_labels(store, [row])
    time.sleep(0.002)  # distinct times, as people's clicks are
    return row


def _row(store, did, **policy):
    return load_decisions(store, **policy).set_index("decision_id").loc[did]


def test_one_persons_undo_leaves_the_others_label_and_restores_their_own(store):
    did = load_decisions(store)["decision_id"].iloc[0]
    _label(store, did, "bad", "ana")
    a_good = _label(store, did, "good", "ana")
    _label(store, did, "bad", "ben")
    undo(store, a_good.label_id, "ana")  # ana back to her own earlier "bad"; ben's stays
    row = _row(store, did)
    assert row["labellers"] == 2 and not row["disagree"] and row["human"] == "bad"
    with pytest.raises(LabelError, match=r"is ana's; undo only your own"):
        undo(store, a_good.label_id, "ben")


def test_undo_of_a_first_label_clears_only_that_persons_label(store):
    did = load_decisions(store)["decision_id"].iloc[1]
    a = _label(store, did, "good", "ana")
    _label(store, did, "bad", "ben")
    undo(store, a.label_id, "ana")
    row = _row(store, did)
    assert (row["human"], row["human_author"], row["labellers"]) == ("bad", "ben", 1)


def test_policies_resolve_a_disagreement_differently(store):
    did = load_decisions(store)["decision_id"].iloc[2]
    _label(store, did, "good", "ana")
    _label(store, did, "good", "cy")
    _label(store, did, "bad", "ben")
    latest, majority = _row(store, did), _row(store, did, policy="majority")
    assert latest["disagree"] and (latest["human"], latest["human_author"]) == ("bad", "ben")
    assert (majority["human"], majority["conflict"]) == ("good", False)
    pending = _row(store, did, policy="adjudicated", adjudicators=("dee",))
    assert pending["conflict"] and pending["human"] is None and pending["label"] is None
    _label(store, did, "bad", "dee")
    settled = _row(store, did, policy="adjudicated", adjudicators=("dee",))
    assert (settled["human"], settled["human_author"], settled["conflict"]) == ("bad", "dee", False)


def test_a_majority_tie_is_a_conflict_and_never_falls_back_to_the_judge():
    people = pd.DataFrame({
        "target_kind": ["decision"] * 2, "target_id": ["d"] * 2, "author": ["a", "b"],
        "verdict": ["good", "bad"], "created_at": ["1", "2"],
    })  # fmt: skip
    found = resolve(people, "majority").iloc[0]
    assert found["conflict"] and found["human"] is None and found["disagree"]
    unanimous = resolve(people.assign(verdict="good"), "adjudicated").iloc[0]
    assert (unanimous["human"], unanimous["conflict"]) == ("good", False)
