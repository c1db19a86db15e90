"""Executors: the runner hands a plan to one; in-process and worker processes play the same."""

from __future__ import annotations

import asyncio

from automem_core.run.config import RunConfig
from automem_core.run.executors import InProcessExecutor, ProcessExecutor, make_executor
from automem_core.run.runner import run
from automem_core.store.reader import connect
from automem_core.testing.fake_game import SCAFFOLD_DIR


class CountingExecutor(InProcessExecutor):
    """An executor of our own: the protocol is all the runner needs."""

    def __init__(self) -> None:
        self.plans: list[int] = []

    async def play(self, plan, progress, on_episode=None, on_progress=None):
        self.plans.append(len(plan.todo))
        return await super().play(plan, progress, on_episode, on_progress)


def cfg(tmp_path, **more):
    base = dict(game="fake", tasks=("grid",), seeds=(0, 1, 2), data=tmp_path, max_steps=8)
    return RunConfig(scaffold=str(SCAFFOLD_DIR), **{**base, **more})


def actions(root):
    return (
        connect(root)
        .execute(
            "SELECT e.seed, s.step, s.action FROM steps s JOIN episodes e USING (episode_id) "
            "ORDER BY 1, 2"
        )
        .fetchall()
    )


def test_the_runner_plays_through_any_executor(tmp_path):
    executor = CountingExecutor()
    result = asyncio.run(run(cfg(tmp_path), progress=False, executor=executor))
    assert executor.plans == [3] and len(result.episodes) == 3


def test_worker_processes_import_a_plugin_game_and_play_the_same(tmp_path):
    one = asyncio.run(run(cfg(tmp_path / "a"), progress=False))
    seen = []
    two = asyncio.run(run(cfg(tmp_path / "b", workers=2), progress=False, on_episode=seen.append))
    assert isinstance(make_executor(2, 3), ProcessExecutor)
    assert len(two.episodes) == 3 and all(e.status == "ok" for e in two.episodes)
    assert sorted(e.episode_id for e in seen) == sorted(e.episode_id for e in two.episodes)
    assert actions(tmp_path / "a") == actions(tmp_path / "b") and len(one.episodes) == 3
