"""The Decisions page: the table with its filters, agreement, bulk-confirming the judge, and the
labelling queue (good / bad / unsure, move, undo); labels outlive the app."""

from __future__ import annotations

import shutil

import pytest

from automem_core.analysis.decision_table import load_decisions
from automem_core.mining.labels import add_labels, new_label
from automem_core.mining.mine import mine
from automem_core.store.records import read_records
from automem_core.testing.sample_store import play_fake_run
from tests.dashboard.apptest import open_app


@pytest.fixture(scope="module")
def mined(tmp_path_factory):
    root = tmp_path_factory.mktemp("decisions") / "data"
    play_fake_run(root, seeds=(0, 1), steps=12, run_id="r")
    mine(root, ["r"])
    judged = [
        new_label(d, "good" if i % 2 else "bad", "judge", source="llm:j", note="because")
        for i, d in enumerate(load_decisions(root)["decision_id"][:10])
    ]
    add_labels(root, judged)
    return root


@pytest.fixture
def store(mined, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(mined, root)
    return root


def decisions_page(root, monkeypatch):
    at = open_app(root, monkeypatch)
    at.switch_page("views/decisions.py").run()
    assert not at.exception
    return at


def position(at) -> str:
    return next(c.value for c in at.main.caption if "unlabelled ·" in c.value)


def human_labels(root):
    return [r for r in read_records(root, "labels").to_pylist() if r["source"] == "human"]


def test_the_table_and_the_agreement_show_every_decision(store, monkeypatch):
    at = decisions_page(store, monkeypatch)
    table = next(d.value for d in at.dataframe if "decision_id" in d.value.columns)
    assert len(table) == len(load_decisions(store))
    agreement = next(d.value for d in at.dataframe if "Cohen's kappa" in d.value.columns)
    assert list(agreement["between"]) == ["human vs judge", "human vs score", "judge vs score"]
    assert agreement.set_index("between").loc["judge vs score", "both labelled"] == 10


def test_labelling_from_the_queue_then_undo_appends_rows(store, monkeypatch):
    at = decisions_page(store, monkeypatch)
    first = position(at).split(" · ")[-1]
    at.button(key="decisions.good").click().run()
    rows = human_labels(store)
    assert [(r["target_id"], r["verdict"]) for r in rows] == [(first, "good")]
    assert first not in position(at)  # the queue moved on to an unlabelled one
    at.button(key="decisions.undo_button").click().run()
    rows = human_labels(store)
    assert [r["verdict"] for r in rows] == ["good", "cleared"]  # undo is a new row
    assert load_decisions(store).set_index("decision_id").loc[first, "human"] is None


def test_bulk_confirm_gives_each_judged_decision_the_judges_verdict(store, monkeypatch):
    at = decisions_page(store, monkeypatch)
    at.button(key="decisions.bulk").click().run()
    table = load_decisions(store)
    judged = table[table["judge"].notna()]
    assert len(judged) == 10 and (judged["human"] == judged["judge"]).all()


def test_labels_outlive_the_app(store, monkeypatch):
    at = decisions_page(store, monkeypatch)
    at.button(key="decisions.bad").click().run()
    again = decisions_page(store, monkeypatch)  # a new session: only the records remain
    table = next(d.value for d in again.dataframe if "decision_id" in d.value.columns)
    assert (table["human"] == "bad").sum() == 1


def test_an_empty_store_of_decisions_says_which_command_fills_it(tmp_path, monkeypatch):
    play_fake_run(tmp_path, seeds=(0,), steps=3, run_id="r")
    at = decisions_page(tmp_path, monkeypatch)
    assert any("automem mine --run RUN" in i.value for i in at.info)


def test_the_export_page_previews_writes_and_records_a_set(store, monkeypatch, tmp_path):
    add_labels(store, [new_label(d, "good", "ana") for d in load_decisions(store)["decision_id"]])
    at = open_app(store, monkeypatch)
    at.switch_page("views/export.py").run()
    assert not at.exception
    assert any("decisions" in m.value and "label in (good)" in m.value for m in at.markdown)
    assert any('"weight": 1' in c.value for c in at.code)  # the preview's training rows
    at.text_input(key="export.out").set_value(str(tmp_path / "set")).run()
    assert at.button(key="export.write").disabled  # not before a name is typed
    at.text_input(key="export.author").set_value("ana").run()
    at.button(key="export.write").click().run()
    assert not at.exception and "Wrote" in at.success[0].value
    assert (tmp_path / "set" / "openai_chat.jsonl").exists()
    assert (tmp_path / "set" / "README.md").read_text().startswith("---")
    (row,) = read_records(store, "exports").to_pylist()
    assert row["author"] == "ana" and len(row["decision_ids"]) > 5
    history = next(d.value for d in at.dataframe if "export_id" in d.value.columns)
    assert list(history["export_id"]) == [row["export_id"]]
