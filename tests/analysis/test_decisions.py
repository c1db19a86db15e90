"""Mined decisions and their signals on an episode whose every memory decision is scripted, so
each signal has one right answer."""

from __future__ import annotations

import asyncio
import shutil

import pandas as pd
import pytest

from automem_core.agent.episode import EpisodeSpec, run_episode
from automem_core.agent.step import AgentSetup
from automem_core.analysis.decisions import SCORE_FORMULA, WEIGHTS, mine_decisions
from automem_core.envs.base import Frame, Observation, Outcome
from automem_core.scaffold import load_scaffold
from automem_core.store.layout import Layout
from automem_core.store.reader import connect
from automem_core.store.writer import EpisodeWriter
from automem_core.testing.fake_game import SCAFFOLD_DIR
from automem_core.testing.scripted import ScriptedClient

L1 = "Step 0 action 'wait': saw water to the east"
LOG = {
    1: f"<|APPEND|>notes|{L1}<|END|><|DONE|>",
    2: f"<|APPEND|>notes|{L1}<|END|><|DONE|>",  # the same line again
    3: "<|APPEND|>notes|Step 3 action 'wait': found the gold<|END|><|DONE|>",  # not seen yet
}
PLAN = {
    3: ["<|SEARCH|>notes|zzz<|END|><|ACTION|>wait<|END|>"],  # an empty search
    4: ["<|SEARCH|>notes|water<|END|>", "<|ACTION|>wait<|END|>"],  # finds both copies of L1
}


class RewardAt5:
    """A tiny game: the action of step 5 is rewarded; nothing else happens."""

    game, task, default_action, max_steps = "fake", "grid", "wait", 8

    def __init__(self) -> None:
        self.t = 0

    def actions(self) -> dict[str, str]:
        return {"wait": "do nothing"}

    def _obs(self) -> Observation:
        return Observation(f"time {self.t}", Frame("tty", b" " * 3840), {"pos": (0, 0)})

    def reset(self, seed: int) -> Observation:
        self.t = 0
        return self._obs()

    def step(self, action: str) -> Outcome:
        reward = 1.0 if self.t == 5 else 0.0
        self.t += 1
        return Outcome(self._obs(), reward, self.t >= self.max_steps, 0.5 if self.t > 5 else 0.0)

    def progression(self) -> float:
        return 0.5 if self.t > 5 else 0.0

    def close(self) -> None:
        return None


def answer(request) -> str:
    if request.phase == "log":
        return LOG.get(request.step, "<|DONE|>")
    return PLAN.get(request.step, ["<|ACTION|>wait<|END|>"])[request.turn]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("mine")
    scaffold = load_scaffold(SCAFFOLD_DIR)
    env = RewardAt5()
    setup = AgentSetup("fake", scaffold, ScriptedClient(answer), None, env.actions(), "wait")
    writer = EpisodeWriter(Layout(root), "r", "r.grid.s0")
    row = asyncio.run(
        run_episode(env, setup, writer, EpisodeSpec("r.grid.s0", "r", "fake", "grid", 0, 8))
    )
    writer.commit(row)
    return root


@pytest.fixture(scope="module", params=["stored", "from the log"])
def decisions(request, store, tmp_path_factory):
    """The decisions mined from the signals the writer stored, and from the log alone (as for
    an episode written before the writer stored them)."""
    root = store
    if request.param == "from the log":
        root = tmp_path_factory.mktemp("old") / "data"
        shutil.copytree(store, root)
        (signals_file,) = root.glob("runs/r/episodes/*/turn_signals.parquet")
        signals_file.unlink()
    con = connect(root)
    expected = 0 if request.param == "from the log" else 9
    assert con.execute("SELECT count(*) FROM turn_signals").fetchall() == [(expected,)]
    found = mine_decisions(con, ["r"]).to_pandas()
    return found.set_index("decision_id")


def signals(decisions, decision_id):
    row = decisions.loc[decision_id]
    keys = ["lines_written", "retrieved", "retrieval_delay", "progress_after", "redundant_write",
            "never_read", "empty_search", "early_outcome"]  # fmt: skip
    out = {k: row[k] for k in keys}
    delay = out.pop("retrieval_delay")
    out = {k: int(v) if k == "lines_written" else bool(v) for k, v in out.items()}
    out["retrieval_delay"] = None if pd.isna(delay) else int(delay)
    return out, list(row["retrieved_by"])


def test_every_log_turn_and_every_consultation_is_a_decision(decisions):
    log = sorted(i for i in decisions.index if ":log:" in i)
    plan = sorted(i for i in decisions.index if ":plan:" in i)
    assert log == [f"r.grid.s0:{s}:log:0" for s in range(1, 8)]
    assert plan == ["r.grid.s0:3:plan:0", "r.grid.s0:4:plan:0"]  # turns that only acted are not


@pytest.mark.parametrize(
    ("decision", "expected", "read_by"),
    [
        ("1:log", dict(lines_written=1, retrieved=True, retrieval_delay=3, progress_after=True,
                       redundant_write=False, never_read=False, empty_search=False,
                       early_outcome=False), ["SEARCH@4"]),
        ("2:log", dict(lines_written=1, retrieved=True, retrieval_delay=2, progress_after=True,
                       redundant_write=True, never_read=False, empty_search=False,
                       early_outcome=False), ["SEARCH@4"]),
        ("3:log", dict(lines_written=1, retrieved=False, retrieval_delay=None,
                       progress_after=False, redundant_write=False, never_read=True,
                       empty_search=False, early_outcome=True), []),
        ("5:log", dict(lines_written=0, retrieved=False, retrieval_delay=None,
                       progress_after=False, redundant_write=False, never_read=False,
                       empty_search=False, early_outcome=False), []),
        ("3:plan", dict(lines_written=0, retrieved=False, retrieval_delay=None,
                        progress_after=False, redundant_write=False, never_read=False,
                        empty_search=True, early_outcome=False), []),
        ("4:plan", dict(lines_written=0, retrieved=True, retrieval_delay=0, progress_after=True,
                        redundant_write=False, never_read=False, empty_search=False,
                        early_outcome=False), ["SEARCH@4"]),
    ],
)  # fmt: skip
def test_signals_have_the_known_answers(decisions, decision, expected, read_by):
    step, phase = decision.split(":")
    found, by = signals(decisions, f"r.grid.s0:{step}:{phase}:0")
    assert found == expected and by == read_by


def test_score_follows_the_documented_formula(decisions):
    row = decisions.loc["r.grid.s0:2:log:0"]
    expected = WEIGHTS["retrieved"] + WEIGHTS["progress_after"] + WEIGHTS["redundant_write"]
    assert row["score"] == pytest.approx(expected + row["percentile"] - 0.5)
    assert "early_outcome" in SCORE_FORMULA and "percentile" in SCORE_FORMULA
    assert list(decisions.loc["r.grid.s0:1:log:0", "op_kinds"]) == ["APPEND"]
