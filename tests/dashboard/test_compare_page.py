"""The Compare page headless: a deep link opens two episodes of one seed in lockstep, the step
control moves both, a mismatched seed is refused in one line, and a gate pair on the Revisions
page links here."""

from __future__ import annotations

import pytest

from automem_core.testing.sample_store import play_fake_run
from tests.dashboard.apptest import open_app


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare") / "data"
    play_fake_run(root, seeds=(0, 1), steps=12, run_id="a")
    play_fake_run(root, seeds=(0,), steps=8, run_id="b")
    return root


def compare_page(root, monkeypatch, **params):
    at = open_app(root, monkeypatch, **params)
    at.switch_page("compare/view.py").run()
    assert not at.exception, at.exception
    return at


def heads(at) -> list[str]:
    return [h.value for h in at.main.get("html") if "am-cmp-head" in h.value]


def test_a_deep_link_opens_both_columns_in_lockstep(store, monkeypatch):
    at = compare_page(store, monkeypatch, compare="a.grid.s0,b.grid.s0", step="3")
    shown = heads(at)
    assert len(shown) == 2 and "a.grid.s0" in shown[0] and "b.grid.s0" in shown[1]
    assert any("step <b>3</b>" in h.value for h in at.main.get("html"))
    assert any("first divergence: <b>never" in h.value for h in at.main.get("html"))
    at.button(key="compare.next").click().run()
    assert any("step <b>4</b>" in h.value for h in at.main.get("html"))
    for _ in range(6):
        at.button(key="compare.next").click().run()
    assert any("ended at step 7" in h for h in heads(at))  # the shorter one keeps its end
    assert at.query_params["step"] in ("10", ["10"])


def test_episodes_of_different_seeds_are_refused_in_one_line(store, monkeypatch):
    at = compare_page(store, monkeypatch, compare="a.grid.s0,a.grid.s1")
    (error,) = at.error
    assert "not of one game, task and seed" in error.value and "\n" not in error.value
    assert heads(at) == []
