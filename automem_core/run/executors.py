"""Executors: who plays a plan's episodes. The runner hands a plan to one and waits.

An executor takes plain data (the plan) and returns the finished episodes' rows; each episode is
published into the store by whoever played it. Two live here: ``InProcessExecutor`` (one asyncio
loop in this process) and ``ProcessExecutor`` (the plan split over worker processes on this
machine). A cluster executor (e.g. Ray) would implement the same protocol with remote workers.
"""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Protocol

from tqdm import tqdm

from automem_core.run.plan import RunPlan, episode_id, shard
from automem_core.run.play import OnEpisode, play_episodes
from automem_core.store.catalog import scan_run
from automem_core.store.layout import Layout
from automem_core.store.schema import EpisodeRow

OnProgress = Callable[[], None]


class Executor(Protocol):
    async def play(
        self,
        plan: RunPlan,
        progress: bool,
        on_episode: OnEpisode | None = None,
        on_progress: OnProgress | None = None,
    ) -> list[EpisodeRow]:
        """Play ``plan.todo``; call ``on_progress`` now and then, ``on_episode`` per episode."""
        ...


class InProcessExecutor:
    """Every episode on this process's event loop, ``plan.cfg.concurrency`` at a time."""

    async def play(
        self,
        plan: RunPlan,
        progress: bool,
        on_episode: OnEpisode | None = None,
        on_progress: OnProgress | None = None,
    ) -> list[EpisodeRow]:
        return await play_episodes(plan, progress, on_episode, on_progress)


def _play_shard(plan: RunPlan) -> list[EpisodeRow]:
    for module in plan.plugins:  # games registered at run time, e.g. a test's fake game
        importlib.import_module(module)
    return asyncio.run(play_episodes(plan, progress=False))


def count_published(plan: RunPlan) -> int:
    """How many of the plan's episodes are published so far (progress across processes)."""
    run = scan_run(Layout(plan.cfg.data).run_dir(plan.run_id))
    wanted = {episode_id(plan.run_id, t, s) for t, s in plan.todo}
    return len(wanted.intersection(run.episodes()))


class ProcessExecutor:
    """The plan split into interleaved shares over ``workers`` spawned processes."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    async def play(
        self,
        plan: RunPlan,
        progress: bool,
        on_episode: OnEpisode | None = None,
        on_progress: OnProgress | None = None,
    ) -> list[EpisodeRow]:
        count = max(1, min(self.workers, len(plan.todo)))
        shards = [shard(plan, i, count) for i in range(count)]
        loop = asyncio.get_running_loop()
        bar = tqdm(
            total=len(plan.todo), desc=f"{plan.run_id} ×{count}", unit="ep", disable=not progress
        )
        context = multiprocessing.get_context("spawn")  # NLE and threads do not survive fork
        with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
            futures = [loop.run_in_executor(pool, _play_shard, s) for s in shards]
            try:
                pending = set(futures)
                while pending:
                    _done, pending = await asyncio.wait(pending, timeout=0.5)
                    bar.n = count_published(plan)
                    bar.refresh()
                    if on_progress:
                        on_progress()
                results = [await f for f in futures]
            finally:
                bar.close()
                if any(not f.done() for f in futures):  # interrupted: stop the workers too
                    _terminate(pool)
                for f in futures:
                    f.cancel()
        rows = [row for part in results for row in part]
        for row in rows if on_episode else ():
            on_episode(row)  # type: ignore[misc]
        return rows


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop a pool's workers now (their finished episodes are already published)."""
    for process in list(getattr(pool, "_processes", {}).values()):
        process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def make_executor(workers: int, episodes: int) -> Executor:
    """Processes when more than one worker has more than one episode to share; else in-process."""
    if workers > 1 and episodes > 1:
        return ProcessExecutor(workers)
    return InProcessExecutor()
