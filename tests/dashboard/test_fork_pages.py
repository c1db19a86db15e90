"""Forks in the dashboard: the parent's replay marks them on its timeline and lists them with a
link to each; a fork's replay starts at its fork step and links back to its parent; the
Decisions page filters and orders by causal value."""

from __future__ import annotations

import asyncio
import json
import shutil
from urllib.parse import parse_qs

import pytest

from automem_core.analysis.decision_table import load_decisions
from automem_core.mining.mine import mine
from automem_core.run.fork import load_parent
from automem_core.run.fork_edit import drop
from automem_core.run.fork_play import fork_episode
from automem_core.store.record_rows import CausalValueRow
from automem_core.store.records import append_records
from automem_core.store.schema import utc_now
from automem_core.testing.sample_store import play_fake_run
from tests.dashboard.apptest import open_app

PARENT = "p.grid.s0"


@pytest.fixture(scope="module")
def forked(tmp_path_factory):
    root = tmp_path_factory.mktemp("forks") / "data"
    play_fake_run(root, seeds=(0,), steps=30, run_id="p")
    parent = load_parent(root, PARENT)
    asyncio.run(fork_episode(root, parent, 10, drop(f"{PARENT}:2:log:0"), horizon=8,
                             run_id="fk-drop"))  # fmt: skip
    asyncio.run(fork_episode(root, parent, 20, horizon=5, run_id="fk-none"))
    mine(root, ["p"])
    return root


@pytest.fixture
def store(forked, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(forked, root)
    return root


def fork_links(at):
    return [parse_qs(link.proto.query_string) for link in at.get("page_link")]


def test_the_parents_replay_lists_its_forks_and_marks_them_on_the_timeline(store, monkeypatch):
    at = open_app(store, monkeypatch, run="p", episode=PARENT, step="3")
    assert any(e.label == "Forks of this episode (2)" for e in at.expander)
    table = next(d.value for d in at.dataframe if "fork_step" in d.value.columns)
    assert list(table["fork_step"]) == [10, 20]
    assert list(table["run_id"]) == ["fk-drop", "fk-none"]
    assert table["edit"].iloc[0].startswith("dropped the LOG turn 0 of step 2")
    assert table["edit"].iloc[1] == "no edit (memory as logged)"
    links = fork_links(at)
    assert [(q["run"][0], q["step"][0]) for q in links] == [("fk-drop", "10"), ("fk-none", "20")]
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    lines = [s for s in spec["layout"].get("shapes", []) if s.get("line", {}).get("dash") == "dot"]
    assert sorted({s["x0"] for s in lines}) == [10, 20]  # in both panels


def test_a_forks_replay_starts_at_its_fork_step_and_links_to_its_parent(store, monkeypatch):
    episode = "fk-drop.grid.s0.t10.k0"
    at = open_app(store, monkeypatch, run="fk-drop", episode=episode, step="0")
    assert at.number_input(key="replay.w_goto").value == 10  # step 0 is not in the fork
    assert (at.number_input(key="replay.w_goto").min, at.number_input(key="replay.w_goto").max) == (
        10,
        17,
    )
    link, beside = fork_links(at)
    assert (link["run"][0], link["episode"][0], link["step"][0]) == ("p", PARENT, "10")
    assert (beside["compare"][0], beside["step"][0]) == (f"{episode},{PARENT}", "10")
    assert any("Edit: dropped the LOG turn 0 of step 2" in c.value for c in at.caption)
    card = next(h.value for h in at.html if 'class="am-step"' in h.value)
    assert "<b>10</b>" in card
    at.button(key="replay.prev").click().run()
    assert at.number_input(key="replay.w_goto").value == 10  # cannot go before the fork
    at.button(key="replay.next").click().run()
    assert at.number_input(key="replay.w_goto").value == 11
    assert not at.exception


def test_the_decisions_page_filters_and_orders_by_causal_value(store, monkeypatch):
    ids = sorted(load_decisions(store)["decision_id"])
    logs = [d for d in ids if ":log:" in d][:3]
    rows = [
        CausalValueRow(f"c{i}", d, "p", "fk", 3, 10, 1, value, None, value / 10, None, [], [],
                       "embedded:fake", "fake-v0@x", utc_now())
        for i, (d, value) in enumerate(zip(logs, (4.0, -2.0, 9.0), strict=True))
    ]  # fmt: skip
    append_records(store, "causal_values", rows)
    at = open_app(store, monkeypatch)
    at.switch_page("decisions/view.py").run()
    table = next(d.value for d in at.dataframe if "decision_id" in d.value.columns)
    assert table["causal_value"].notna().sum() == 3
    at.number_input(key="decisions.f_causal").set_value(0.0).run()
    table = next(d.value for d in at.dataframe if "decision_id" in d.value.columns)
    assert sorted(table["decision_id"]) == sorted([logs[0], logs[2]])
    at.selectbox(key="decisions.order").select("highest causal value first").run()
    table = next(d.value for d in at.dataframe if "decision_id" in d.value.columns)
    assert list(table["decision_id"]) == [logs[2], logs[0]]  # 9.0 first
    assert not at.exception


def test_a_fork_opens_beside_its_parent_on_the_compare_page(store, monkeypatch):
    episode = "fk-none.grid.s0.t20.k0"  # no edit: it plays on as its parent did
    at = open_app(store, monkeypatch, compare=f"{episode},{PARENT}", step="20")
    at.switch_page("compare/view.py").run()

    def shown() -> list[str]:
        return [h.value for h in at.main.get("html") if "am-cmp" in h.value]

    assert any("step <b>20</b>" in h for h in shown())
    assert any("first divergence: <b>never" in h for h in shown())
    assert not any("starts at step" in h for h in shown())
    at.button(key="compare.prev").click().run()
    assert any("step <b>19</b>" in h for h in shown())
    assert any("a fork: starts at step 20" in h for h in shown())
    assert not at.exception
