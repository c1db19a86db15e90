"""Playing a plan's episodes in this process: many at once on one asyncio loop.

While one episode waits for its model, the others step their games. Every finished episode is
published atomically, so Ctrl-C or a kill loses only the episodes in flight.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace

from tqdm import tqdm

from automem_core.agent.episode import EpisodeSpec, run_episode
from automem_core.agent.step import AgentSetup
from automem_core.envs.base import GameEnv
from automem_core.envs.registry import make_env
from automem_core.run.clients import make_clients
from automem_core.run.plan import RunPlan, episode_id
from automem_core.store.catalog import scan_run
from automem_core.store.layout import Layout
from automem_core.store.schema import EpisodeRow
from automem_core.store.writer import EpisodeWriter

log = logging.getLogger(__name__)
OnEpisode = Callable[[EpisodeRow], None]
OnProgress = Callable[[], None]


class EnvPool:
    """Reuses game instances per task across episodes (NLE start-up is slow)."""

    def __init__(self, game: str, max_steps: int | None) -> None:
        self.game, self.max_steps = game, max_steps
        self._free: dict[str, list[GameEnv]] = {}

    def take(self, task: str) -> GameEnv:
        free = self._free.setdefault(task, [])
        return free.pop() if free else make_env(self.game, task, self.max_steps)

    def give(self, task: str, env: GameEnv) -> None:
        self._free.setdefault(task, []).append(env)

    def close(self) -> None:
        for envs in self._free.values():
            for env in envs:
                env.close()
        self._free.clear()


def count_published(plan: RunPlan) -> int:
    """How many of the plan's episodes are published so far (progress across processes
    or machines)."""
    run = scan_run(Layout(plan.cfg.data).run_dir(plan.run_id))
    wanted = {episode_id(plan.run_id, t, s) for t, s in plan.todo}
    return len(wanted.intersection(run.episodes()))


async def play_episodes(
    plan: RunPlan,
    progress: bool,
    on_episode: OnEpisode | None = None,
    on_progress: OnProgress | None = None,
) -> list[EpisodeRow]:
    """Play ``plan.todo`` in this process, ``plan.cfg.concurrency`` at a time."""
    cfg, layout = plan.cfg, Layout(plan.cfg.data)
    memory_client, action_client = make_clients(plan)
    pool = EnvPool(cfg.game, cfg.max_steps)
    rows: list[EpisodeRow] = []
    bar = tqdm(total=len(plan.todo), desc=plan.run_id, unit="ep", disable=not progress)
    sem = asyncio.Semaphore(max(1, cfg.concurrency))

    async def one(task: str, seed: int) -> None:
        async with sem:
            env = pool.take(task)
            eid = episode_id(plan.run_id, task, seed)
            setup = AgentSetup(
                cfg.game,
                plan.scaffold,
                memory_client,
                action_client,
                env.actions(),
                env.default_action,
            )
            writer = EpisodeWriter(layout, plan.run_id, eid, lease=plan.lease)
            try:
                spec = EpisodeSpec(
                    eid, plan.run_id, cfg.game, task, seed, env.max_steps,
                    cfg.model_error_threshold,
                )  # fmt: skip
                row = await run_episode(env, setup, writer, spec)
                row = publish_episode(writer, row)
            except BaseException:
                writer.discard()
                raise
            finally:
                pool.give(task, env)
        rows.append(row)
        bar.update(1)
        bar.set_postfix_str(f"{task} s{seed}: {row.status} prog={row.progression:.2f}")
        if on_episode:
            on_episode(row)
        if on_progress:
            on_progress()

    try:
        await asyncio.gather(*(one(t, s) for t, s in plan.todo))
    finally:
        bar.close()
        pool.close()
        await memory_client.aclose()
        if action_client:
            await action_client.aclose()
    return rows


def publish_episode(writer: EpisodeWriter, row: EpisodeRow) -> EpisodeRow:
    """Publish the episode; if the disk refuses, report it as failed (resume plays it again)."""
    try:
        writer.commit(row)
        return writer.episode or row
    except OSError as exc:
        log.error(
            "could not save episode %s: %s; it will be played again on resume", row.episode_id, exc
        )
        writer.discard()
        return replace(row, status="error", end_reason="error", error=f"not saved: {exc}")
