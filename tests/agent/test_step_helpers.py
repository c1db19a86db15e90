"""Each helper's effect on one agent's prompts and memory, step by step, through the real agent
(scripted model, real memory folder): what the helper shows or writes, when, and how a failing
helper is recorded."""

import asyncio
from collections.abc import Callable

from automem_core.agent.episode import make_memory
from automem_core.agent.records import StepRecorder
from automem_core.agent.step import Agent, AgentSetup
from automem_core.llm.base import Completion, TurnRequest
from automem_core.memory import apply_mutation
from automem_core.scaffold import make_scaffold, resolve_scaffold
from automem_core.store.layout import Layout
from automem_core.store.memory_at import decode_mutations
from automem_core.store.writer import EpisodeWriter

CRAFTER = {"Noop": "nothing", "Move West": "west", "Do": "interact"}
NLE = {"north": "move north", "east": "move east", "esc": "cancel"}


class Scripted:
    def __init__(self, answer: Callable[[TurnRequest], str]) -> None:
        self.answer, self.label, self.requests = answer, "scripted", []

    async def complete(self, request: TurnRequest) -> Completion:
        self.requests.append(request)
        return Completion(text=self.answer(request))

    async def aclose(self) -> None:
        pass

    def prompt(self, step: int, phase: str) -> str:
        return next(
            r.messages[1]["content"] for r in self.requests if (r.step, r.phase) == (step, phase)
        )


def quiet(r: TurnRequest) -> str:
    return "<|DONE|>" if r.phase == "log" else "<|ACTION|>Noop<|END|>"


def make_agent(tmp_path, game, helpers=None, answer=quiet, files=None):
    doc = resolve_scaffold(f"{game}-v0", game).canonical()
    doc["helpers"].update(helpers or {})
    for name, changes in (files or {}).items():
        next(f for f in doc["files"] if f["name"] == name).update(changes)
    scaffold = make_scaffold(doc)
    writer = EpisodeWriter(Layout(tmp_path), "r", "r.default.s0")
    memory = make_memory(scaffold, writer.memory_dir)
    memory.initialise(scaffold.initial_files, step=-1)
    rows: list[tuple[str, object]] = []
    recorder = StepRecorder("e", lambda table, row: rows.append((table, row)))
    model = Scripted(answer)
    actions = CRAFTER if game == "crafter" else NLE
    default = "Noop" if game == "crafter" else "esc"
    setup = AgentSetup(game, scaffold, model, None, actions, default)
    return Agent(setup, memory, recorder, "e"), model, rows


def act(agent, step, obs="You see grass.", facts=None, previous="Noop"):
    return asyncio.run(agent.act(step, obs, facts or {"pos": (0, 0)}, previous))


def lines(agent, name):
    return list(agent.files.state[name].lines)


def helper_rows(rows):
    return [r for t, r in rows if t == "memory_ops" and r.phase == "helper"]


def test_unchanged_observation_warns_at_one_repeat_and_says_stuck_after_three(tmp_path):
    agent, model, _ = make_agent(tmp_path, "crafter")
    for step in range(5):
        decision = act(agent, step, obs="You see a wall.", previous="Move West")
        if step == 1:
            assert "did not change after your last action ('Move West')" in model.prompt(1, "log")
            assert not any("STUCK" in w for w in decision.warnings)
    assert any(w.startswith("WARNING: STUCK") for w in decision.warnings)
    assert "WARNING: STUCK" in model.prompt(4, "plan")
    act(agent, 5, obs="You see grass.")
    assert "did not change" not in model.prompt(5, "log")


def test_v0_writes_no_helper_file_and_shows_nothing_injected(tmp_path):
    agent, model, rows = make_agent(tmp_path, "crafter")
    act(agent, 0)
    act(agent, 1)
    assert not helper_rows(rows)
    assert all(not lines(agent, f) for f in agent.files.state)
    assert "Contents of" not in model.prompt(1, "plan")
    assert "Map analysis" not in model.prompt(1, "plan")


def nle_facts(pos=(10, 5), **extra):
    cells = {d: ("floor", "room floor") for d in ("north", "east", "south", "west")}
    cells |= {d: ("dark", "dark area") for d in ("northeast", "southeast", "southwest")}
    cells["northwest"] = ("wall", "northwest room corner")
    things = [("stairs down", "stairs down", 15, 5)]
    return {"pos": pos, "hp": 12, "hp_max": 12, "surroundings": {"cells": cells, "things": things}}


def test_map_analysis_is_in_the_log_and_plan_prompts_of_nle_v0(tmp_path):
    agent, model, _ = make_agent(tmp_path, "minihack")
    act(agent, 0, facts=nle_facts(), previous=None)
    act(agent, 1, facts=nle_facts((11, 5)), previous="east")
    for phase in ("log", "plan"):
        prompt = model.prompt(1, phase)
        block = prompt.split("Map analysis", 1)[1].split("Memory files:")[0]
        assert "you are at (11,5)" in block
        assert "- east: can move (room floor); further: stairs down 4 steps" in block
        assert "- northwest: blocked (wall)" in block
        assert "- stairs down: stairs down at (15,5)" in block
    assert prompt.index("Observation:") < prompt.index("Map analysis") < prompt.index("Memory")


def test_action_log_appends_the_outcome_once_observed_never_before(tmp_path):
    agent, model, rows = make_agent(
        tmp_path, "minihack", {"action_log": {"enabled": True, "file": "actions_log"}}
    )
    act(agent, 0, "obs 0", nle_facts(), previous=None)
    assert lines(agent, "actions_log") == []  # nothing is known of step 0's action yet
    act(agent, 1, "obs 1", {**nle_facts((11, 5)), "message": "You see here a gem."}, "east")
    expected = "Step 0 action 'east': moved to (11,5); \"You see here a gem.\""
    assert lines(agent, "actions_log") == [expected]
    assert "- actions_log (1 lines)" in model.prompt(1, "log")  # written before the LOG phase
    [row] = helper_rows(rows)
    assert (row.kind, row.file, row.step, row.ok) == ("APPEND", "actions_log", 1, True)
    assert agent.files.state["actions_log"].origins == [1]


def test_action_log_can_skip_routine_moves(tmp_path):
    cfg = {"action_log": {"enabled": True, "file": "actions_log", "skip_routine_moves": True}}
    agent, _, _ = make_agent(tmp_path, "minihack", cfg)
    act(agent, 0, "obs 0", nle_facts(), previous=None)
    act(agent, 1, "obs 1", nle_facts((11, 5)), previous="east")
    act(agent, 2, "obs 2", {**nle_facts((11, 5)), "hp": 9}, previous="east")
    assert lines(agent, "actions_log") == ["Step 1 action 'east': stayed at (11,5); hp 12->9"]


def test_plan_tail_shows_the_last_lines_of_a_file_in_plan(tmp_path):
    def answer(r: TurnRequest) -> str:
        if r.phase == "log" and r.turn == 0:
            return f"<|APPEND|>actions_log|entry {r.step}<|END|><|DONE|>"
        return quiet(r)

    cfg = {"plan_tail": {"file": "actions_log", "lines": 2}}
    agent, model, _ = make_agent(tmp_path, "crafter", cfg, answer)
    for step in range(4):
        act(agent, step, obs=f"obs {step}")
    plan = model.prompt(3, "plan")
    assert "Last 2 lines of actions_log:\nentry 2\nentry 3\n" in plan
    assert "entry 1" not in plan
    assert "its last 2 lines are shown in every PLAN prompt" in agent.setup.system_prompt


def test_inventory_file_is_rewritten_from_the_observation(tmp_path):
    agent, _, rows = make_agent(
        tmp_path,
        "minihack",
        {"inventory_file": {"enabled": True, "file": "inventory"}},
        files={"inventory": {"writer": "helper"}},
    )
    inv = ("a: a long sword", "b: 2 food rations")
    act(agent, 0, facts={**nle_facts(), "inventory": inv}, previous=None)
    assert lines(agent, "inventory") == list(inv)
    act(agent, 1, facts={**nle_facts(), "inventory": inv}, previous="esc")
    assert len(helper_rows(rows)) == 1  # unchanged: not written again
    act(agent, 2, facts={**nle_facts(), "inventory": inv[:1]}, previous="esc")
    assert lines(agent, "inventory") == ["a: a long sword"]
    assert "rewritten from the game every step" in agent.setup.system_prompt


def test_goals_file_is_shown_in_plan_and_kept_by_the_agent(tmp_path):
    def answer(r: TurnRequest) -> str:
        if r.phase == "log" and r.turn == 0 and r.step == 1:
            return "<|WRITE|>strategy|find water<|END|><|DONE|>"
        return quiet(r)

    agent, model, _ = make_agent(tmp_path, "crafter", {"goals_file": {"file": "strategy"}}, answer)
    act(agent, 0)
    assert "Your current goals (strategy; keep them current in the LOG phase):\n(empty)" in (
        model.prompt(0, "plan")
    )
    act(agent, 1, obs="other")
    assert "Your current goals (strategy; keep them current in the LOG phase):\nfind water\n" in (
        model.prompt(1, "plan")
    )


def test_pruning_drops_the_oldest_lines_under_a_header_keeping_their_origins(tmp_path):
    def answer(r: TurnRequest) -> str:
        if r.phase == "log" and r.turn == 0:
            return f"<|APPEND|>survival_log|event {r.step}<|END|><|DONE|>"
        return quiet(r)

    prune = {"enabled": True, "files": ["survival_log"], "trigger_lines": 4, "keep_lines": 3}
    cfg = {"pruning": prune}
    agent, model, rows = make_agent(tmp_path, "crafter", cfg, answer)
    for step in range(7):
        act(agent, step, obs=f"obs {step}")
    # events 1..5 were written; at step 6 the file (5 lines) was pruned before the LOG phase
    state = agent.files.state["survival_log"]
    assert state.lines == ["[pruned 3 oldest lines at step 6]", "event 4", "event 5", "event 6"]
    assert state.origins == [6, 4, 5, 6]  # kept lines still point at the step that wrote them
    assert "- survival_log (3 lines)" in model.prompt(6, "log")
    [row] = helper_rows(rows)
    assert (row.file, row.step, row.ok) == ("survival_log", 6, True)
    assert '"kind":"prune"' in row.mutations_json
    # the op log alone rebuilds the file, header and origins included (as replays do)
    rebuilt: dict = {}
    for table, op in rows:
        if table == "memory_ops" and op.ok:
            for m in decode_mutations(op.mutations_json):
                apply_mutation(rebuilt, m, op.step)
    assert rebuilt["survival_log"] == state


def test_a_failing_action_log_is_recorded_and_shown_never_raised(tmp_path):
    agent, model, rows = make_agent(
        tmp_path, "crafter", {"action_log": {"enabled": True, "file": "actions_log"}}
    )
    act(agent, 0)
    (agent.files.root / "actions_log").unlink()
    (agent.files.root / "actions_log").mkdir()
    agent.files.close()  # drop the cached descriptor, so the next write meets the folder
    decision = act(agent, 1, obs="other")
    [row] = helper_rows(rows)
    assert not row.ok and "Is a directory" in row.error
    warning = f"The action log helper failed: {row.error}"
    assert warning in decision.warnings and warning in model.prompt(1, "log")


def test_map_analysis_from_a_real_minihack_state_agrees_with_its_map():
    from automem_core.envs.minihack_env import MiniHackEnv
    from automem_core.scaffold.helpers import render_map_analysis
    from automem_core.scaffold.helpers.blocks import DIRECTIONS

    env = MiniHackEnv("MazeWalk-9x9")
    try:
        obs = env.reset(0)
        for action in ("north", "north", "south"):
            obs = env.step(action).observation
    finally:
        env.close()
    x, y = obs.facts["pos"]
    rows = obs.text.split("map:\n", 1)[1].split("\n")
    block = render_map_analysis(obs.facts, reach=8).splitlines()
    offsets = {"north": (0, -1), "northeast": (1, -1), "east": (1, 0), "southeast": (1, 1)}
    offsets |= {"south": (0, 1), "southwest": (-1, 1), "west": (-1, 0), "northwest": (-1, -1)}
    for direction, line in zip(DIRECTIONS, block[1:9], strict=True):
        dx, dy = offsets[direction]
        char = rows[y + dy][x + dx]  # the map section starts at the dungeon's row 0
        assert line.startswith(f"- {direction}: ")
        assert ("can move" in line) == (char in ".#<>"), (direction, char, line)
