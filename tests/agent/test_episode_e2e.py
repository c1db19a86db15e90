"""Each game end to end with the embedded player: Parquet read back through DuckDB, and memory
rebuilt at random steps equal to the files the agent really had."""

import asyncio
import random

import pytest

import automem_core.agent.episode as episode_mod
from automem_core.agent.step import Agent
from automem_core.memory import snapshot
from automem_core.run.config import RunConfig
from automem_core.run.runner import run
from automem_core.store.memory_at import memory_at
from automem_core.store.reader import connect

# Seeds whose episodes last at least 24 steps with the embedded player.
GAMES = [
    ("crafter", "default", 3),
    ("minihack", "MazeWalk-15x15", 1),
    ("nethack", "NetHackChallenge", 3),
]


@pytest.mark.slow
@pytest.mark.parametrize(("game", "task", "seed"), GAMES)
def test_game_runs_and_memory_at_matches_what_the_agent_had(
    tmp_path, monkeypatch, game, task, seed
):
    monkeypatch.setattr(episode_mod, "KEYFRAME_EVERY", 7)  # several keyframes in a short episode
    seen: dict[int, dict[str, str]] = {}
    on_disk: dict[int, dict[str, str]] = {}
    original = Agent.act

    async def spy(self, step, observation, facts, previous_action):
        decision = await original(self, step, observation, facts, previous_action)
        seen[step] = snapshot(self.files.state)
        on_disk[step] = self.files.read_disk()
        return decision

    monkeypatch.setattr(Agent, "act", spy)
    cfg = RunConfig(game=game, tasks=[task], seeds=[seed], data=tmp_path, max_steps=24)
    result = asyncio.run(run(cfg, progress=False))
    (ep,) = result.episodes
    assert ep.status == "ok", ep.error
    assert ep.steps >= 20
    assert ep.memory_client == f"embedded:{game}"

    con = connect(tmp_path)
    n_steps, n_turns = con.execute(
        "SELECT (SELECT count(*) FROM steps), (SELECT count(*) FROM turns)"
    ).fetchone()
    assert n_steps == ep.steps and n_turns >= 2 * ep.steps - 1
    writes = con.execute(
        "SELECT count(*) FROM memory_ops WHERE phase = 'log' AND ok AND kind <> 'SEARCH'"
    ).fetchone()[0]
    assert writes > 0, "the embedded player never wrote to memory"
    frames = con.execute("SELECT count(*), min(octet_length(data)) FROM frames").fetchone()
    assert frames[0] == ep.steps and frames[1] > 100

    for step in random.Random(0).sample(sorted(seen), 8):
        assert seen[step] == on_disk[step], "the memory folder on disk diverged from the state"
        assert memory_at(tmp_path, ep.episode_id, step) == seen[step], step
