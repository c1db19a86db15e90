"""A burst of presses lands exactly once even when Streamlit stops a run for the next press.

Streamlit starts the run for a new press at once and stops the run it replaces at that run's
next Streamlit call, reading session state included. The workbench's presses change one
:class:`Bench` in plain Python (no Streamlit call between the label written and the page moved
on), and the key log counts presses as seen only when the block that applies them ends, under a
lock that a second run of the same session waits for."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from automem_core.store.records import read_records
from automem_core.testing.sample_store import play_fake_run
from dashboard.labelling import bench as bench_module
from dashboard.labelling.bench import Bench
from dashboard.labelling.queues import Item
from dashboard.widgets import keys, shared_state


class Stopped(Exception):
    """What Streamlit raises at a call when the next press has arrived."""


class StopsAtEveryCall:
    def __getattr__(self, name: str) -> Any:
        raise Stopped(name)


@pytest.fixture
def root(tmp_path):
    data = tmp_path / "data"
    play_fake_run(data, tasks=("grid",), seeds=(0,), steps=4, run_id="r")
    return data


def human(root) -> list[tuple[str, str, str]]:
    rows = read_records(root, "labels").to_pylist()
    return [(r["target_id"], r["verdict"], r["author"]) for r in rows if r["source"] == "human"]


def items(n: int) -> list[Item]:
    return [Item("decision", f"d{i}", f"d{i}") for i in range(n)]


def test_a_burst_labels_one_record_each_without_a_streamlit_call(root, monkeypatch):
    bench = Bench()
    bench.restart(("unlabelled by me", "ana"), items(5))
    for module in (bench_module, shared_state):  # any Streamlit call would stop the run
        monkeypatch.setattr(module, "st", StopsAtEveryCall(), raising=False)
    bench.apply(["1", "1", "2", "ArrowRight", "3"], root, "ana", {})
    assert human(root) == [("d0", "good", "ana"), ("d1", "good", "ana"), ("d2", "bad", "ana"),
                           ("d4", "unsure", "ana")]  # fmt: skip
    assert bench.pos == 5 and bench.last == ("unsure", "d4", 1) and len(bench.undoable) == 4
    bench.apply(["ArrowLeft", "ArrowLeft", "1"], root, "ana", {})  # d3 was skipped; d4 is done
    assert human(root)[-1] == ("d3", "good", "ana")
    bench.apply(["u"], root, "ana", {})  # the undo goes back to the record it undid
    assert human(root)[-1] == ("d3", "cleared", "ana") and bench.pos == 3
    bench.apply(["1"], root, "ana", {})
    assert human(root)[-1] == ("d3", "good", "ana") and len(human(root)) == 7


def test_back_then_a_verdict_relabels_the_record_on_screen_and_undo_returns_to_its_record(root):
    bench = Bench()
    bench.restart(("unlabelled by me", "ana"), items(4))
    bench.apply(["1", "ArrowRight", "ArrowLeft", "ArrowLeft", "2"], root, "ana", {})
    assert human(root) == [("d0", "good", "ana"), ("d0", "bad", "ana")]  # changed her mind
    bench.apply(["ArrowRight", "ArrowRight", "u"], root, "ana", {})  # undo from two further on
    assert human(root)[-1] == ("d0", "good", "ana") and bench.pos == 0  # back at d0


def test_a_refused_write_drops_the_presses_after_it_and_says_so(root, monkeypatch):
    """Were the burst pressed again after a failed write, its first labels would land twice
    and the rest on records nobody saw: the refusal ends the burst and the page says why."""
    real, calls = bench_module.add_labels, []

    def second_fails(where, rows):
        calls.append(len(rows))
        if len(calls) == 2:
            raise OSError("the disk is full")
        return real(where, rows)

    monkeypatch.setattr(bench_module, "add_labels", second_fails)
    bench = Bench()
    bench.restart(("unlabelled by me", "ana"), items(5))
    bench.apply(["1", "ArrowRight", "2", "ArrowRight", "3"], root, "ana", {})  # no raise
    assert human(root) == [("d0", "good", "ana")]
    assert bench.pos == 2 and bench.problems == ["labels not saved: the disk is full"]
    assert calls == [1, 1]  # the press after the refusal was not tried


def test_presses_without_a_name_label_nothing(root):
    bench = Bench()
    bench.restart(("unlabelled by me", ""), items(3))
    bench.apply(["1", "2"], root, "", {})
    assert human(root) == [] and bench.pos == 0


class FakeState(dict):
    """Session state whose calls stop the run when ``stop_at`` says so."""

    stop_at: int | None = None
    calls = 0

    def _call(self) -> None:
        self.calls += 1
        if self.stop_at is not None and self.calls >= self.stop_at:
            self.stop_at = None
            raise Stopped("session state")

    def get(self, key: str, default: Any = None) -> Any:
        self._call()
        return super().get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        self._call()
        super().__setitem__(key, value)


def run_page(state: FakeState, position: list[int]) -> None:
    """One run of a page that moves by its presses, like the Replay page."""
    log = keys.key_log(["ArrowLeft", "ArrowRight"], key="k")
    with log.unseen() as presses:
        step = state.get("step", 0) + sum(1 if k == "ArrowRight" else -1 for k in presses)
        state["step"] = step
    position.append(step)


@pytest.fixture
def page(monkeypatch):
    """Session state and the page's key log, as the browser last sent it."""
    state, log = FakeState(), ["ArrowRight"] * 3
    monkeypatch.setattr(shared_state.st, "session_state", state)
    monkeypatch.setattr(keys, "_component", lambda **_: {"id": "page", "presses": list(log)})
    return state, log


@pytest.mark.parametrize("stop_at", [1, 2, 3])  # every call of the second run
def test_a_run_stopped_anywhere_leaves_its_presses_to_the_next(page, stop_at):
    state, log = page
    shown: list[int] = []
    run_page(state, shown)
    assert shown == [3]
    log += ["ArrowRight", "ArrowRight", "ArrowLeft"]
    state.calls, state.stop_at = 0, stop_at
    with pytest.raises(Stopped):
        run_page(state, shown)
    run_page(state, shown)  # the next run: no press lost, none applied twice
    assert shown == [3, 4]
    run_page(state, shown)
    assert shown == [3, 4, 4]


def test_two_runs_at_once_never_take_the_same_press(page):
    """The run a new press replaces goes on until its next Streamlit call; the new run waits
    for it to finish taking presses, then takes only the ones after."""
    _, log = page
    taken: dict[str, list[str]] = {}
    inside, release = threading.Event(), threading.Event()

    def old_run() -> None:
        with keys.key_log(["ArrowRight"], key="k").unseen() as presses:
            inside.set()
            release.wait(5)
            taken["old"] = presses

    def new_run() -> None:
        with keys.key_log(["ArrowRight"], key="k").unseen() as presses:
            taken["new"] = presses

    first = threading.Thread(target=old_run)
    first.start()
    assert inside.wait(5)
    log.append("ArrowRight")  # the press that started the new run
    second = threading.Thread(target=new_run)
    second.start()
    second.join(0.3)
    assert second.is_alive()  # it waits for the old run's block
    release.set()
    first.join(5)
    second.join(5)
    assert taken == {"old": ["ArrowRight"] * 3, "new": ["ArrowRight"]}
