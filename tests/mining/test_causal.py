"""Causal values in a constructed case: on the fake game, a player that acts on a rule only once
it finds the rule in its notes. The LOG turn that writes the rule is read and acted on, so
forking without it changes what is played: a non-zero causal value. The LOG turn that writes a
line nobody reads leaves both forks alike: zero. Then the value as a signal: in `automem
decisions`, as an export filter and in the card's selection, and in what the judge reads."""

from __future__ import annotations

import asyncio
import json
import math
import re

import pytest

from automem_core.analysis.decision_table import load_decisions
from automem_core.analysis.episode import open_episode
from automem_core.cli import main
from automem_core.export.dataset import Selection, select
from automem_core.llm import embedded
from automem_core.llm.base import TurnRequest
from automem_core.llm.config import ModelConfig
from automem_core.llm.embedded import op_text
from automem_core.llm.embedded.prompt_view import PromptView
from automem_core.mining.causal import CausalConfig, causal_line, choose, measure
from automem_core.mining.judge import JudgeConfig, Judged, judge_one
from automem_core.mining.mine import mine
from automem_core.run.fork_play import ForkBudget
from automem_core.store.reader import connect
from automem_core.testing import fake_game  # noqa: F401  (registers the game)
from automem_core.testing.sample_store import play_fake_run
from automem_core.testing.scripted import ScriptedClient

RULE = "gold rule: walk to the gold and pick it up"
_GOLD = re.compile(r"^- gold (\d+) steps (\S+)$", re.MULTILINE)
RULE_DECISION = "m.grid.s0:2:log:0"  # writes the rule; every PLAN searches for it
UNREAD_DECISION = "m.grid.s0:3:log:0"  # writes a line no op ever reads


def rule_player(view: PromptView, request: TurnRequest) -> str:
    """Writes the rule at step 2 and a line nobody reads at step 3; acts on the rule when a
    search of its notes returns it, and waits otherwise."""
    step = view.step if view.step is not None else request.step
    if request.phase == "log":
        ops = {2: [op_text.append("notes", RULE)],
               3: [op_text.append("actions_log", "Step 3: nothing to report")]}  # fmt: skip
        return op_text.reply(ops.get(step, []), done=True)
    if not view.consulted:
        return op_text.search("notes", "gold rule")
    knows = any(RULE in line for block in view.results for line in block.lines)
    gold = _GOLD.search(view.observation)
    if not knows or gold is None:
        return op_text.action("wait")
    if gold.group(1) == "0":
        return op_text.action("pick up")
    directions = gold.group(2).split("-")
    return op_text.action(directions[step % len(directions)])


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    patch = pytest.MonkeyPatch()
    patch.setitem(embedded.client.PLAYERS, "fake", rule_player)
    root = tmp_path_factory.mktemp("causal")
    play_fake_run(root, seeds=(0,), steps=40, run_id="m")
    mine(root, ["m"])
    yield root
    patch.undo()


def test_only_log_turns_that_wrote_memory_are_chosen(store):
    chosen = choose(load_decisions(store), ["m"], None)
    assert sorted(chosen["decision_id"]) == [RULE_DECISION, UNREAD_DECISION]


def test_a_decision_read_and_acted_on_has_a_positive_causal_value_an_unread_one_zero(store):
    result = asyncio.run(measure(store, ["m"], CausalConfig(horizon=20), progress=False))
    assert not result.failed and result.forks_played == 4 and len(result.values) == 2
    values = {v.decision_id: v for v in result.values}
    read = values[RULE_DECISION]
    assert read.causal_value > 0 and read.reward_value > 0 and read.fork_step == 3
    assert read.causal_stderr is None and read.samples == 1
    assert values[UNREAD_DECISION].causal_value == 0 == values[UNREAD_DECISION].reward_value
    con = connect(store)
    kept = con.execute(
        "SELECT progression, total_reward, fork_edit_json FROM episodes WHERE episode_id = ?",
        [read.kept_episodes[0]],
    ).fetchone()
    dropped = con.execute(
        "SELECT progression, total_reward, fork_edit_json FROM episodes WHERE episode_id = ?",
        [read.dropped_episodes[0]],
    ).fetchone()
    assert math.isclose(100 * (kept[0] - dropped[0]), read.causal_value)
    assert dropped[1] == 0  # without the rule the player only waits
    assert json.loads(dropped[2]) == {"kind": "drop", "decision_id": RULE_DECISION}
    assert json.loads(kept[2]) == {"kind": "none"}
    frame = load_decisions(store).set_index("decision_id")
    assert frame.loc[RULE_DECISION, "causal_value"] == read.causal_value
    assert frame.loc[UNREAD_DECISION, "causal_value"] == 0
    assert frame["causal_value"].isna().sum() == len(frame) - 2  # the rest: not measured


def test_samples_give_a_standard_error_and_the_same_sweep_again_plays_nothing(store):
    result = asyncio.run(measure(store, ["m"], CausalConfig(horizon=10, samples=2),
                                 progress=False))  # fmt: skip
    read = next(v for v in result.values if v.decision_id == RULE_DECISION)
    assert read.samples == 2 and read.causal_stderr == 0.0  # deterministic player
    again = asyncio.run(measure(store, ["m"], CausalConfig(horizon=10, samples=2),
                                progress=False))  # fmt: skip
    assert again.forks_played == 0 and again.forks_skipped == 8  # resumed: nothing to play


def test_a_budget_of_episodes_measures_whole_decisions_only(store):
    config = CausalConfig(horizon=5, budget=ForkBudget(episodes=3))
    result = asyncio.run(measure(store, ["m"], config, progress=False))
    assert result.forks_played == 2 and len(result.values) == 1
    assert result.stopped and "budget of 3 episodes" in result.stopped


def test_cli_mine_causal_then_decisions_and_export_use_the_value(store, capsys, tmp_path):
    data = ["--data", str(store)]
    assert main(["mine", "--run", "m", "--causal", "--horizon", "20", "--quiet", *data]) == 0
    out = capsys.readouterr().out
    assert "causal values of 2 of 2 decisions (horizon 20, 1 pair each): 1 positive" in out
    assert main(["decisions", "--min-causal-value", "1", "--limit", "0", *data]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].split()[:5] == ["decision", "score", "label", "alts", "causal"]
    assert len(listed) == 2 and listed[1].startswith(RULE_DECISION)
    assert re.search(r"\+\d+\.\d \(h20, 1 pair\)", listed[1])
    assert main(["decisions", "--json", "--limit", "0", *data]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_id = {r["decision_id"]: r for r in rows}
    assert by_id[UNREAD_DECISION]["causal_value"] == 0 and by_id[RULE_DECISION]["causal_horizon"]
    assert by_id["m.grid.s0:5:plan:0"]["causal_value"] is None

    labels = ["label", RULE_DECISION, UNREAD_DECISION, "--verdict", "good", "--author", "t"]
    assert main([*labels, *data]) == 0
    export = ["export", "--format", "openai", "--out", str(tmp_path / "x"), "--dry-run", *data]
    assert main([*export, "--min-causal-value", "0.5"]) == 0
    assert (
        capsys.readouterr()
        .out.strip()
        .endswith("causal_value >= 0.5 (measured by forks): 1 decisions")
    )
    assert main(export) == 0
    assert capsys.readouterr().out.strip().endswith(": 2 decisions")


def test_the_selection_keeps_only_measured_decisions_at_or_above_the_value(store):
    decisions = load_decisions(store)
    decisions["label"], decisions["human"] = "good", None  # every one labelled good
    chosen = select(decisions, Selection(label_sources=("judge",), min_causal_value=0.0))
    assert set(chosen["decision_id"]) == {RULE_DECISION, UNREAD_DECISION}


def test_the_judge_reads_the_measured_value_of_a_decision(store):
    decisions = load_decisions(store).set_index("decision_id")
    row = {"decision_id": RULE_DECISION, **decisions.loc[RULE_DECISION].to_dict()}
    line = causal_line(row)
    assert line is not None and line.startswith("MEASURED EFFECT") and " pair" in line
    judge = ScriptedClient(lambda _r: '{"verdict": "good", "reason": "it helped"}')
    config = JudgeConfig(model=ModelConfig(backend="openai", base_url="http://x/v1", model="j"))
    ep = open_episode(store, "m.grid.s0")
    label = asyncio.run(judge_one(judge, config, ep, Judged("decision", RULE_DECISION, row)))
    assert label.verdict == "good"
    assert line in judge.requests[0].messages[-1]["content"]
    unmeasured = {"decision_id": "m.grid.s0:5:plan:0",
                  **decisions.loc["m.grid.s0:5:plan:0"].to_dict()}  # fmt: skip
    assert causal_line(unmeasured) is None
    asyncio.run(judge_one(judge, config, ep, Judged("decision", "x", unmeasured)))
    assert "MEASURED EFFECT" not in judge.requests[1].messages[-1]["content"]


def test_decisions_of_a_fork_are_not_forked_again(store):
    first = asyncio.run(measure(store, ["m"], CausalConfig(horizon=20), progress=False))
    fork_run = first.fork_runs[0]
    mine(store, [fork_run])
    again = asyncio.run(measure(store, [fork_run], CausalConfig(horizon=5), progress=False))
    assert again.failed and again.values == [] and again.fork_runs == []
    assert {why for _, why in again.failed} == {"it is in a fork; measure its parent's"}
