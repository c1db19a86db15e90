"""Spreading a run's episodes over worker processes on this machine.

Each worker plays its share of the plan with its own event loop and model client and publishes
episodes into the same store; the parent only watches the store for progress. Only plain data
(the plan) crosses the process boundary, so a remote executor can later take the same shards.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

from tqdm import tqdm

from automem_core.runner import RunPlan, count_published, play_episodes, shard
from automem_core.store.schema import EpisodeRow


def _play_shard(plan: RunPlan) -> list[EpisodeRow]:
    return asyncio.run(play_episodes(plan, progress=False))


async def play_in_processes(
    plan: RunPlan, progress: bool, on_progress: Callable[[], None] | None = None
) -> list[EpisodeRow]:
    count = min(plan.cfg.workers, len(plan.todo))
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
            for f in futures:
                f.cancel()
    return [row for rows in results for row in rows]
