"""Running many episodes at once in one process, with resume and a progress bar.

Episodes overlap on one asyncio loop: while one waits for its model, others step their games.
Each finished episode is published atomically, so Ctrl-C or a kill loses only those in flight,
and running the same command again skips the finished ones.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from automem_core.agent.episode import EpisodeSpec, run_episode, utc_now
from automem_core.agent.step import AgentSetup
from automem_core.envs.base import GameEnv, make_env, tasks_of
from automem_core.llm.config import ModelConfig
from automem_core.llm.factory import make_client
from automem_core.scaffold.loader import Scaffold, resolve_scaffold
from automem_core.store.layout import Layout, check_id
from automem_core.store.reader import finished_episodes
from automem_core.store.schema import EpisodeRow, RunRow
from automem_core.store.writer import EpisodeWriter, write_run

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunConfig:
    game: str
    tasks: Sequence[str]
    seeds: Sequence[int]
    data: Path
    scaffold: str | None = None
    model: ModelConfig = field(default_factory=ModelConfig)
    action_model: ModelConfig | None = None  # set: a separate client commits the actions
    max_steps: int | None = None
    concurrency: int = 4
    run_id: str | None = None


@dataclass
class RunResult:
    run_id: str
    episodes: list[EpisodeRow]
    skipped: int


def episode_id(run_id: str, task: str, seed: int) -> str:
    return f"{run_id}.{task}.s{seed}"


def derive_run_id(cfg: RunConfig, scaffold: Scaffold, max_steps: int) -> str:
    """Same command ⇒ same run id, so running it again resumes instead of starting over."""
    key = json.dumps(
        {
            "game": cfg.game,
            "tasks": list(cfg.tasks),
            "seeds": list(cfg.seeds),
            "scaffold": scaffold.content_hash,
            "model": cfg.model.public_dict(),
            "action_model": cfg.action_model.public_dict() if cfg.action_model else None,
            "max_steps": max_steps,
        },
        sort_keys=True,
    )
    return f"{cfg.game}-{scaffold.id}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


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


async def run(
    cfg: RunConfig, progress: bool = True, on_episode: Callable[[EpisodeRow], None] | None = None
) -> RunResult:
    """Run every (task, seed) episode of ``cfg`` not already finished in the store."""
    for task in cfg.tasks:
        if task not in tasks_of(cfg.game):
            raise ValueError(f"unknown task {task!r} for {cfg.game}; see `automem run --help`")
    layout = Layout(cfg.data)
    scaffold = resolve_scaffold(cfg.scaffold, cfg.game, cfg.data)
    pool = EnvPool(cfg.game, cfg.max_steps)
    probe = {task: pool.take(task) for task in cfg.tasks}  # fail fast on a task that cannot start
    for task, env in probe.items():
        pool.give(task, env)
    max_steps = next(iter(probe.values())).max_steps
    run_id = check_id(cfg.run_id or derive_run_id(cfg, scaffold, max_steps), "run id")
    memory_client = make_client(cfg.model, cfg.game)
    action_client = make_client(cfg.action_model, cfg.game) if cfg.action_model else None
    await _preflight([memory_client] + ([action_client] if action_client else []))
    setup = AgentSetup(
        cfg.game,
        scaffold,
        memory_client,
        action_client,
        probe[cfg.tasks[0]].actions(),
        probe[cfg.tasks[0]].default_action,
    )
    done = finished_episodes(layout, run_id)
    todo = [
        (t, s) for t in cfg.tasks for s in cfg.seeds if done.get(episode_id(run_id, t, s)) != "ok"
    ]
    run_row = _run_row(cfg, run_id, scaffold, setup, max_steps, "running")
    write_run(layout, run_row)
    results: list[EpisodeRow] = []
    bar = tqdm(total=len(todo), desc=run_id, unit="ep", disable=not progress, leave=True)
    sem = asyncio.Semaphore(max(1, cfg.concurrency))

    async def one(task: str, seed: int) -> None:
        async with sem:
            env = pool.take(task)
            eid = episode_id(run_id, task, seed)
            writer = EpisodeWriter(layout, run_id, eid)
            try:
                spec = EpisodeSpec(eid, run_id, cfg.game, task, seed, env.max_steps)
                row = await run_episode(env, _episode_setup(setup, env), writer, spec)
                writer.commit(row)
            except BaseException:
                writer.discard()
                raise
            finally:
                pool.give(task, env)
            results.append(row)
            bar.update(1)
            bar.set_postfix_str(f"{task} s{seed}: {row.status} prog={row.progression:.2f}")
            if on_episode:
                on_episode(row)

    status = "interrupted"
    try:
        await asyncio.gather(*(one(t, s) for t, s in todo))
        status = "finished"
    finally:
        bar.close()
        write_run(layout, _run_row(cfg, run_id, scaffold, setup, max_steps, status))
        pool.close()
        await memory_client.aclose()
        if action_client:
            await action_client.aclose()
    return RunResult(run_id, results, skipped=len(cfg.tasks) * len(cfg.seeds) - len(todo))


async def _preflight(clients: list[LLMClient]) -> None:
    """Fail the whole run with one line when an endpoint cannot be reached at all."""
    for client in clients:
        check = getattr(client, "check", None)
        problem = await check() if check else None
        if problem:
            for c in clients:
                await c.aclose()
            raise LLMConfigError(problem)


def _episode_setup(setup: AgentSetup, env: GameEnv) -> AgentSetup:
    """Action sets can differ per task (MiniHack); everything else is shared."""
    if env.default_action == setup.default_action and env.actions() == setup.actions:
        return setup
    return AgentSetup(
        setup.game,
        setup.scaffold,
        setup.memory_client,
        setup.action_client,
        env.actions(),
        env.default_action,
    )


def _run_row(
    cfg: RunConfig, run_id: str, scaffold: Scaffold, setup: AgentSetup, max_steps: int, status: str
) -> RunRow:
    models = {"memory": cfg.model.public_dict()}
    if cfg.action_model:
        models["action"] = cfg.action_model.public_dict()
    now = utc_now()
    return RunRow(
        run_id=run_id,
        game=cfg.game,
        tasks=list(cfg.tasks),
        seeds=list(cfg.seeds),
        scaffold_id=scaffold.id,
        scaffold_hash=scaffold.content_hash,
        memory_client=setup.memory_client.label,
        action_client=(setup.action_client or setup.memory_client).label,
        model_config_json=json.dumps(models, sort_keys=True),
        max_steps=max_steps,
        status=status,
        created_at=now,
        updated_at=now,
        episodes_planned=len(cfg.tasks) * len(cfg.seeds),
    )
