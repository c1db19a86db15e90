"""The Decisions page: the table with its filters, agreement, bulk-confirming the judge, and the
labelling queue (good / bad / unsure, move, undo); labels outlive the app."""

from __future__ import annotations

import shutil

import pandas as pd
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


def decisions_page(root, monkeypatch, **params):
    at = open_app(root, monkeypatch, **params)
    at.switch_page("decisions/view.py").run()
    assert not at.exception, at.exception
    return at


def label_page(root, monkeypatch, **params):
    at = open_app(root, monkeypatch, **params)
    at.switch_page("labelling/view.py").run()
    assert not at.exception, at.exception
    return at


def position(at) -> str:
    return next(h.value for h in at.main.get("html") if "am-lab-progress" in h.value)


def human_labels(root):
    return [r for r in read_records(root, "labels").to_pylist() if r["source"] == "human"]


def test_the_table_shows_what_matters_first_and_the_agreement_matrix(store, monkeypatch):
    at = decisions_page(store, monkeypatch)
    table = next(d.value for d in at.dataframe if "decision_id" in d.value.columns)
    assert len(table) == len(load_decisions(store))
    assert list(table.columns[:4]) == ["score", "label", "judge", "human"]
    matrix = next(d.value for d in at.dataframe if "Cohen's kappa" in d.value.columns)
    assert list(zip(matrix["first"], matrix["second"], strict=True)) == [("judge", "score")]
    assert matrix.iloc[0]["shared items"] == 10


def test_labelling_from_the_workbench_then_undo_appends_rows(store, monkeypatch):
    at = label_page(store, monkeypatch, who="ana")
    assert "1 of" in position(at)
    first = load_decisions(store)["decision_id"].iloc[0]
    at.button(key="label.good").click().run()
    rows = human_labels(store)
    assert [(r["target_id"], r["verdict"], r["author"]) for r in rows] == [(first, "good", "ana")]
    assert "2 of" in position(at) and "1 by you today" in position(at)
    assert any("Labelled good" in h.value for h in at.main.get("html"))
    at.button(key="label.undo_button").click().run()
    rows = human_labels(store)
    assert [r["verdict"] for r in rows] == ["good", "cleared"]  # undo is a new row
    assert load_decisions(store).set_index("decision_id").loc[first, "human"] is None


def test_no_label_without_a_name(store, monkeypatch):
    at = label_page(store, monkeypatch)
    assert at.button(key="label.good").disabled
    assert any("labels are signed" in w.value for w in at.warning)
    at.sidebar.text_input(key="people.field").set_value("ben").run()
    assert not at.button(key="label.good").disabled
    at.button(key="label.bad").click().run()
    assert [r["author"] for r in human_labels(store)] == ["ben"]
    assert at.query_params["who"] in (
        "ben",
        ["ben"],
    )  # the name is in the URL: it survives a reload


def test_bulk_confirm_gives_each_judged_decision_the_judges_verdict(store, monkeypatch):
    at = decisions_page(store, monkeypatch, who="ana")
    at.button(key="decisions.bulk").click().run()
    table = load_decisions(store)
    judged = table[table["judge"].notna()]
    assert len(judged) == 10 and (judged["human"] == judged["judge"]).all()
    assert {r["author"] for r in human_labels(store)} == {"ana"}


def test_two_people_disagreeing_show_in_the_queue_and_the_matrix(store, monkeypatch):
    ids = list(load_decisions(store)["decision_id"][:6])
    add_labels(store, [new_label(d, "good", "ana") for d in ids])
    add_labels(store, [new_label(d, "good" if i < 3 else "bad", "ben") for i, d in enumerate(ids)])
    at = decisions_page(store, monkeypatch, who="ana")
    differ = next(d.value for d in at.dataframe if "resolved" in d.value.columns)
    assert sorted(differ["decision_id"]) == sorted(ids[3:])
    assert set(differ["ana"]) == {"good"} and set(differ["ben"]) == {"bad"}
    matrix = next(d.value for d in at.dataframe if "Cohen's kappa" in d.value.columns)
    pair = matrix[(matrix["first"] == "ana") & (matrix["second"] == "ben")].iloc[0]
    assert pair["shared items"] == 6 and pair["agree"] == 3
    assert any("Fleiss' kappa" in c.value for c in at.caption)
    at.selectbox(key="decisions.policy").set_value("majority").run()
    table = next(d.value for d in at.dataframe if "decision_id" in d.value.columns)
    assert pd.isna(table.set_index("decision_id").loc[ids[4], "label"])  # a tie: no label


def test_labels_outlive_the_app(store, monkeypatch):
    at = label_page(store, monkeypatch, who="ana")
    at.button(key="label.bad").click().run()
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
    at.switch_page("export/view.py").run()
    at.sidebar.text_input(key="people.field").set_value("").run()
    assert not at.exception
    assert any("decisions" in m.value and "label in (good)" in m.value for m in at.markdown)
    assert any('"weight": 1' in c.value for c in at.code)  # the preview's training rows
    at.text_input(key="export.out").set_value(str(tmp_path / "set")).run()
    assert at.button(key="export.write").disabled  # not before a name is typed
    at.sidebar.text_input(key="people.field").set_value("ana").run()
    at.button(key="export.write").click().run()
    assert not at.exception and "Wrote" in at.success[0].value
    assert (tmp_path / "set" / "openai_chat.jsonl").exists()
    assert (tmp_path / "set" / "README.md").read_text().startswith("---")
    (row,) = read_records(store, "exports").to_pylist()
    assert row["author"] == "ana" and len(row["decision_ids"]) > 5
    history = next(d.value for d in at.dataframe if "export_id" in d.value.columns)
    assert list(history["export_id"]) == [row["export_id"]]


def test_a_judges_reason_is_shown_as_text_never_as_markdown(store, monkeypatch):
    first = load_decisions(store)["decision_id"].iloc[0]
    reason = "![x](http://beacon.example/p.png) see [this](http://evil.example) <b>bold</b>"
    add_labels(store, [new_label(first, "bad", "judge", source="llm:j", note=reason)])
    at = label_page(store, monkeypatch, who="ana")
    shown = [h.value for h in at.main.get("html") if "beacon.example" in h.value]
    assert shown, "the reason is on the page"
    assert all("<img" not in h and "<a " not in h and "<b>" not in h for h in shown)
    assert not any("beacon.example" in m.value for m in [*at.markdown, *at.caption])
