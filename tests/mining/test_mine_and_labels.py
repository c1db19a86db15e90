"""Mining runs into decision records, refusing evaluation seeds; labels that are append-only,
with the human first, undo as a new row, and two writers at once losing nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from automem_core.analysis.decision_table import load_decisions
from automem_core.mining.labels import LabelError, add_labels, new_label, undo
from automem_core.mining.mine import MiningError, mine
from automem_core.store.records import read_records
from automem_core.testing.sample_store import play_fake_run

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("mine")
    play_fake_run(root, seeds=(0, 1), steps=20, run_id="train", seed_set="mining")
    play_fake_run(root, seeds=(1, 2), steps=5, run_id="gate", seed_set="gating")
    return root


def test_mining_refuses_seeds_an_evaluation_set_uses_and_names_them(store):
    with pytest.raises(MiningError) as err:
        mine(store, ["train"])
    assert "train grid seeds 1 (in gate)" in str(err.value) and "--allow-overlap" in str(err.value)
    result = mine(store, ["train"], allow_overlap=True)
    assert result.decisions > 20 and set(result.by_phase) == {"log", "plan"}
    with pytest.raises(MiningError, match="no episodes of run 'nope'"):
        mine(store, ["nope"])


def test_mining_again_appends_and_the_latest_row_counts(store):
    mine(store, ["train"], allow_overlap=True)
    table = load_decisions(store)
    stored = read_records(store, "decisions")
    assert len(stored) == 2 * len(table) and table["decision_id"].is_unique


def test_the_human_label_counts_then_the_judge_and_undo_is_a_new_row(store):
    mine(store, ["train"], allow_overlap=True)
    decision = load_decisions(store).iloc[0]
    did, version = decision["decision_id"], decision["scaffold_version"]
    judge = new_label(
        did,
        "bad",
        "judge",
        source="llm:m",
        note="wrote nothing useful",
        scaffold_version=version,
        tokens_in=50,
        tokens_out=9,
        cost_usd=0.001,
    )
    malformed = new_label(did, "malformed", "judge", source="llm:m", note="{oops")
    add_labels(store, [judge, malformed])
    row = load_decisions(store).set_index("decision_id").loc[did]
    assert (row["judge"], row["label"], row["human"]) == ("bad", "bad", None)
    first = new_label(did, "good", "ana", scaffold_version=version)
    add_labels(store, [first])
    time.sleep(0.01)
    second = new_label(did, "unsure", "ana", scaffold_version=version)
    add_labels(store, [second])
    assert load_decisions(store).set_index("decision_id").loc[did, "label"] == "unsure"
    undo(store, second.label_id, "ana")
    assert load_decisions(store).set_index("decision_id").loc[did, "label"] == "good"
    undo(store, first.label_id, "ana")  # nothing human left: the judge's verdict counts again
    row = load_decisions(store).set_index("decision_id").loc[did]
    assert (row["human"], row["label"]) == (None, "bad")
    labels = read_records(store, "labels").to_pylist()
    assert len(labels) == 6 and sum(1 for r in labels if r["note"].startswith("undo of")) == 2
    with pytest.raises(LabelError, match="not a person's label"):
        undo(store, judge.label_id, "ana")


WRITER = """
import sys
from pathlib import Path
from automem_core.mining.labels import add_labels, new_label
for i in range(40):
    add_labels(Path(sys.argv[1]), [new_label(f"d{i}", "good", sys.argv[2])])
"""


def test_two_processes_labelling_at_once_lose_no_label(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), who], env=env)
             for who in ("ana", "ben")]  # fmt: skip
    assert [p.wait(120) for p in procs] == [0, 0]
    rows = read_records(tmp_path, "labels").to_pylist()
    assert len(rows) == 80 and {r["author"] for r in rows} == {"ana", "ben"}


def test_mining_a_run_again_shows_each_decision_once_and_keeps_its_labels(tmp_path):
    from automem_core.store.reader import query_store

    play_fake_run(tmp_path, seeds=(0,), steps=12, run_id="twice", seed_set="mining")
    first = mine(tmp_path, ["twice"])
    ids = sorted(load_decisions(tmp_path)["decision_id"])
    add_labels(tmp_path, [new_label(ids[0], "good", "ana")])
    second = mine(tmp_path, ["twice"])
    table = load_decisions(tmp_path)
    assert first.decisions == second.decisions == len(table) == len(ids)
    assert sorted(table["decision_id"]) == ids
    assert table.set_index("decision_id").loc[ids[0], "human"] == "good"
    rows = query_store(
        tmp_path,
        lambda con: con.execute("SELECT count(*) FROM decisions_mined").fetchone()[0],
        tables=("decisions",),
    )
    assert rows == 2 * len(ids)  # every mining kept (append-only), the latest one shown
