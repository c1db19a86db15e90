"""Executors: who plays a plan's episodes. The runner hands a plan to one and waits.

An executor takes plain data (the plan) and returns the finished episodes' rows; each episode is
published into the store by whoever played it, under the run's lease (``store/locks.py``), so a
worker whose run lost its lock publishes nothing. Two live here: ``InProcessExecutor`` (one
asyncio loop in this process) and ``ProcessExecutor`` (the plan split over worker processes on
this machine, each of which dies with the run's process, however that ends). ``RayExecutor``
(``run/ray_executor.py``, imported only when asked for) implements the same protocol with
remote workers.
"""

from __future__ import annotations

import asyncio
import ctypes
import importlib
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Protocol

from tqdm import tqdm

from automem_core.run.plan import RunPlan, shard
from automem_core.run.play import OnEpisode, OnProgress, count_published, play_episodes
from automem_core.store.schema import EpisodeRow


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


PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies


def die_with_parent(parent: int) -> None:
    """A worker's first act: ask the kernel to SIGKILL it when the run's process dies (Linux),
    then make sure that process has not died already."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the run died before the request took effect
        os._exit(1)


def _play_shard(plan: RunPlan) -> list[EpisodeRow]:
    for module in plan.plugins:  # games registered at run time, e.g. a test's fake game
        importlib.import_module(module)
    return asyncio.run(play_episodes(plan, progress=False))


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
        with ProcessPoolExecutor(
            max_workers=count,
            mp_context=context,
            initializer=die_with_parent,
            initargs=(os.getpid(),),
        ) as pool:
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


def make_executor(
    workers: int, episodes: int, kind: str = "local", ray_address: str | None = None
) -> Executor:
    """Ray when asked for; else processes when more than one worker has more than one episode
    to share; else in-process."""
    if kind == "ray":
        from automem_core.run.ray_executor import RayExecutor, check_reachable, import_ray

        import_ray()  # both fail in one line before the run takes its lock
        check_reachable(ray_address)
        return RayExecutor(ray_address, shares=workers if workers > 1 else None)
    if workers > 1 and episodes > 1:
        return ProcessExecutor(workers)
    return InProcessExecutor()
