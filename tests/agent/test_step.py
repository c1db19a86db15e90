"""The LOG → PLAN routine against a scripted model (deterministic answers, real memory folder)."""

import asyncio
from collections.abc import Callable

from automem_core.agent.actions import ActionMatcher
from automem_core.agent.episode import make_memory
from automem_core.agent.records import StepRecorder
from automem_core.agent.step import Agent, AgentSetup
from automem_core.llm.base import Completion, TurnRequest
from automem_core.scaffold import resolve_scaffold
from automem_core.store.layout import Layout
from automem_core.store.writer import EpisodeWriter

ACTIONS = {"Noop": "nothing", "Move West": "west", "Do": "interact"}
RICHER = "crafter-keyed-status"  # status file, keyed files, strategy shown in PLAN


class Scripted:
    """A model whose answer is a function of the request; it keeps every request it got."""

    def __init__(self, answer: Callable[[TurnRequest], str], label: str = "scripted") -> None:
        self.answer, self.label, self.requests = answer, label, []

    async def complete(self, request: TurnRequest) -> Completion:
        self.requests.append(request)
        return Completion(text=self.answer(request))

    async def aclose(self) -> None:
        pass


def _agent(
    tmp_path,
    memory: Scripted,
    action: Scripted | None = None,
    scaffold: str = "crafter-keyed-status",
):
    scaffold = resolve_scaffold(scaffold, "crafter")
    writer = EpisodeWriter(Layout(tmp_path), "r", "r.default.s0")
    files = make_memory(scaffold, writer.memory_dir)
    files.initialise(scaffold.initial_files, step=-1)
    rows = []
    recorder = StepRecorder("e", lambda table, row: rows.append((table, row)))
    setup = AgentSetup("crafter", scaffold, memory, action, ACTIONS, "Noop")
    return Agent(setup, files, recorder, "e"), rows


def _act(agent, step, obs="You see: grass", facts=None, previous="Noop"):
    return asyncio.run(agent.act(step, obs, facts or {"pos": (step, 0)}, previous))


def test_step_zero_has_no_log_phase_and_valid_action_is_played(tmp_path):
    model = Scripted(lambda r: "<|ACTION|>move_west<|END|>")
    agent, _ = _agent(tmp_path, model)
    decision = _act(agent, 0)
    assert [r.phase for r in model.requests] == ["plan"]
    assert (decision.action, decision.valid, decision.raw_action) == (
        "Move West",
        True,
        "move_west",
    )


def test_log_phase_stops_at_the_turn_cap_without_done(tmp_path):
    def answer(r):
        return (
            "<|APPEND|>survival_log|still here<|END|>"
            if r.phase == "log"
            else "<|ACTION|>Do<|END|>"
        )

    model = Scripted(answer)
    agent, _rows = _agent(tmp_path, model)
    _act(agent, 1)
    limit = agent.setup.scaffold.spec.limits.max_log_turns
    assert [r.phase for r in model.requests].count("log") == limit
    assert len(agent.files.state["survival_log"].lines) == limit
    # later LOG turns see the results of the earlier ones
    assert "── APPEND survival_log ──" in model.requests[1].messages[-1]["content"]


def test_plan_phase_is_read_only(tmp_path):
    def answer(r):
        if r.phase == "plan" and r.turn == 0:
            return "<|APPEND|>strategy|overwrite<|END|><|SEARCH|>strategy|water<|END|>"
        return "<|DONE|>" if r.phase == "log" else "<|ACTION|>Noop<|END|>"

    model = Scripted(answer)
    agent, _rows = _agent(tmp_path, model)
    before = list(agent.files.state["strategy"].lines)
    _act(agent, 1)
    assert agent.files.state["strategy"].lines == before
    feedback = model.requests[-1].messages[-1]["content"]
    assert "APPEND is not allowed in the PLAN phase" in feedback
    assert "Drink at water" in feedback  # the SEARCH still ran


def test_invalid_or_missing_action_becomes_the_default(tmp_path):
    model = Scripted(lambda r: "<|ACTION|>Teleport<|END|>" if r.step == 0 else "I am unsure.")
    agent, _rows = _agent(tmp_path, model)
    first = _act(agent, 0)
    assert (first.action, first.valid, first.raw_action) == ("Noop", False, "Teleport")
    second = _act(agent, 1)
    assert (second.action, second.valid, second.raw_action) == ("Noop", False, None)


def test_split_clients_memory_consults_and_action_client_commits(tmp_path):
    memory = Scripted(
        lambda r: (
            "<|DONE|>"
            if r.phase == "log"
            else ("<|READ|>strategy<|END|>" if r.turn == 0 else "<|ACTION|>Do<|END|>")
        )
    )
    action = Scripted(lambda r: "<|ACTION|>Move West<|END|>", label="base")
    agent, rows = _agent(tmp_path, memory, action)
    decision = _act(agent, 1)
    assert decision.action == "Move West"
    assert [r.phase for r in action.requests] == ["action"]
    assert "Drink at water" in action.requests[0].messages[-1]["content"]  # what memory said
    turns = [row for table, row in rows if table == "turns"]
    assert turns[-1].client == "base" and turns[-1].phase == "action"
    ignored = [e for t in turns for e in t.parse_errors if "ACTION ignored" in e]
    assert ignored  # the memory client's action does not count


def test_stuck_warning_reaches_the_prompt_after_unchanged_observations(tmp_path):
    model = Scripted(lambda r: "<|DONE|>" if r.phase == "log" else "<|ACTION|>Noop<|END|>")
    agent, _ = _agent(tmp_path, model)
    after = agent.setup.scaffold.spec.helpers.stuck_warning.after_steps
    for step in range(after):
        decision = _act(agent, step, facts={"pos": (0, 0)})
    assert any("has not changed" in w for w in decision.warnings)
    assert "has not changed" in model.requests[-1].messages[1]["content"]


def test_status_file_is_written_by_the_helper_each_step(tmp_path):
    model = Scripted(lambda r: "<|DONE|>" if r.phase == "log" else "<|ACTION|>Noop<|END|>")
    agent, rows = _agent(tmp_path, model)
    _act(agent, 0, facts={"pos": (3, 4), "status": {"health": 9}})
    assert agent.files.state["status"].lines[:2] == ["step: 0", "position: (3,4)"]
    helper_rows = [r for t, r in rows if t == "memory_ops" and r.phase == "helper"]
    assert helper_rows and helper_rows[0].file == "status"


def test_action_matcher_is_forgiving_about_case_spacing_and_quotes():
    m = ActionMatcher(["Move West", "far east", "y", "Y"])
    assert m.match(" move_west ") == "Move West"
    assert m.match("'Far  East'.") == "far east"
    assert m.match("Y") == "Y" and m.match("y") == "y"
    assert m.match("fly") is None and m.match(None) is None


def test_ops_the_scaffold_does_not_enable_fail_as_results(tmp_path):
    def answer(r):
        if r.phase == "log" and r.turn == 0:
            return "<|DELETE|>strategy<|END|><|APPEND|>survival_log|ok<|END|>"
        return "<|DONE|>" if r.phase == "log" else "<|ACTION|>Noop<|END|>"

    model = Scripted(answer)
    agent, rows = _agent(tmp_path, model)
    assert "DELETE" not in agent.setup.scaffold.spec.ops
    _act(agent, 1)
    assert "strategy" in agent.files.state  # not deleted
    assert agent.files.state["survival_log"].lines == ["ok"]  # the enabled op still ran
    ops = [r for t, r in rows if t == "memory_ops" and r.phase == "log"]
    assert [(o.kind, o.ok) for o in ops] == [("DELETE", False), ("APPEND", True)]
    assert "DELETE is not enabled here" in ops[0].result


def test_notice_for_a_multiline_action_is_one_line():
    from automem_core.agent.actions import default_action_notice

    notice = default_action_notice("go\nnorth\n\tplease", "Noop")
    assert "\n" not in notice and "'go north please'" in notice
