"""The embedded players against the real games, through the runner and a real memory folder."""

import asyncio

import pytest

from automem_core.run.config import RunConfig
from automem_core.run.runner import run
from automem_core.store.reader import connect


def play(tmp_path, game, task, seeds, max_steps, scaffold=None):
    cfg = RunConfig(
        game=game, tasks=[task], seeds=seeds, data=tmp_path, max_steps=max_steps, scaffold=scaffold
    )
    result = asyncio.run(run(cfg, progress=False))
    assert all(ep.status == "ok" for ep in result.episodes), [ep.error for ep in result.episodes]
    assert all(ep.memory_client == f"embedded:{game}" for ep in result.episodes)
    return result.episodes


def memory_ops(tmp_path):
    return (
        connect(tmp_path)
        .execute(
            "SELECT phase, kind, file, sum(hits), count(*) FROM memory_ops "
            "WHERE ok GROUP BY ALL ORDER BY ALL"
        )
        .fetchall()
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("task", "seeds", "wins"),
    [
        ("MazeWalk-9x9", range(6), 4),
        ("Corridor-R3", range(10), 3),
    ],
)
def test_minihack_episodes_succeed_and_use_memory(tmp_path, task, seeds, wins):
    episodes = play(tmp_path, "minihack", task, list(seeds), 100)
    won = sum(ep.progression >= 1 for ep in episodes)
    assert won >= wins, f"{task}: {won}/{len(episodes)} episodes reached the stairs"
    ops = {(phase, kind, file): (hits, n) for phase, kind, file, hits, n in memory_ops(tmp_path)}
    assert ops[("log", "APPEND", "actions_log")][1] > 0
    assert ops[("plan", "TAIL", "actions_log")][0] > 0  # the explorer read back where it walked
    assert ("plan", "SEARCH", "dungeon_map") in ops


@pytest.mark.slow
def test_crafter_unlocks_achievements_with_notes_it_reads_back(tmp_path):
    episodes = play(tmp_path, "crafter", "default", [0, 1, 2], 200)
    unlocked = [round(ep.progression * 22) for ep in episodes]
    assert max(unlocked) >= 2, unlocked
    assert sum(unlocked) >= 3 * 4, unlocked  # well past a random policy (about 1–2 each)
    ops = {(phase, kind, file): (hits, n) for phase, kind, file, hits, n in memory_ops(tmp_path)}
    assert ops[("log", "APPEND", "map_notes")][1] > 0  # plain v0 files: appended notes
    assert ops[("plan", "TAIL", "actions_log")][0] > 0  # its position, reckoned in its trail
    assert ops[("plan", "SEARCH", "map_notes")][1] > 0
    assert ops[("plan", "SEARCH", "crafting_progress")][0] > 0  # achievements it logged
    assert not any(kind == "UPSERT" for _, kind, _ in ops)


@pytest.mark.slow
def test_crafter_on_the_keyed_status_scaffold_reads_the_status_file(tmp_path):
    play(tmp_path, "crafter", "default", [0], 120, scaffold="crafter-keyed-status")
    ops = {(phase, kind, file): (hits, n) for phase, kind, file, hits, n in memory_ops(tmp_path)}
    assert ops[("log", "UPSERT", "map_notes")][1] > 0
    assert ops[("plan", "READ", "status")][0] > 0


@pytest.mark.slow
def test_nethack_runs_and_keeps_a_map(tmp_path):
    (episode,) = play(tmp_path, "nethack", "NetHackChallenge", [1], 300)
    assert episode.steps > 50
    ops = {(phase, kind, file): (hits, n) for phase, kind, file, hits, n in memory_ops(tmp_path)}
    assert ops[("log", "APPEND", "dungeon_map")][1] > 0  # plain v0 files: appended lines


@pytest.mark.slow
def test_minihack_on_the_keyed_scaffold_keeps_explored_rows(tmp_path):
    play(tmp_path, "minihack", "MazeWalk-9x9", [0, 1], 100, scaffold="minihack-keyed-status")
    ops = {(phase, kind, file): (hits, n) for phase, kind, file, hits, n in memory_ops(tmp_path)}
    assert ops[("log", "UPSERT", "dungeon_map")][1] > 0  # the "dlvl D row Y" lines
    assert ops[("plan", "SEARCH", "dungeon_map")][0] > 0
