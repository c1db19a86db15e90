"""Playing a fork run: each fork's game rebuilt, its memory set, the agent playing on.

A fork run is recorded like any run (its row, a heartbeat, a lock, compaction at the end) and
resumes like one: forks already published clean are skipped. Forks come in groups (the kept and
dropped forks of one decision, or the samples of one ``automem fork``); a budget is checked
before each group starts, so a group is played whole or not at all. A fork that cannot start
(its game does not rebuild, its edit does not apply) is reported with its one-line reason and
the others go on.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import duckdb
from tqdm import tqdm

from automem_core.agent.episode import EpisodeSpec, EpisodeStart, run_episode
from automem_core.agent.step import AgentSetup
from automem_core.envs.base import GameEnv, copy_game
from automem_core.envs.registry import make_env, text_format
from automem_core.errors import AutoMemError
from automem_core.llm.base import LLMClient, LLMConfigError
from automem_core.llm.config import ModelConfig
from automem_core.llm.factory import make_client
from automem_core.run.fork import (
    ForkJob,
    ForkSetup,
    Parent,
    fork_scaffold,
    parent_models,
    parent_scaffold,
    plan_forks,
)
from automem_core.run.fork_edit import NO_EDIT, ForkEdit, to_json
from automem_core.run.fork_memory import fork_memory
from automem_core.run.fork_replay import Replayed, read_logged_steps, replay_to
from automem_core.run.play import publish_episode
from automem_core.run.record import RunRecord, check_same_settings, run_lock
from automem_core.scaffold import Scaffold, store_version
from automem_core.store.compact import close_run, drop_broken_parts
from automem_core.store.layout import Layout, check_data_dir
from automem_core.store.reader import finished_episodes, query_store
from automem_core.store.schema import EpisodeRow
from automem_core.store.writer import EpisodeWriter

log = logging.getLogger(__name__)
Clients = tuple[LLMClient, LLMClient | None]


@dataclass(frozen=True)
class ForkBudget:
    """Limits on a fork run: its episodes (forks), and what its model calls cost."""

    episodes: int | None = None
    usd: float | None = None
    price_in_per_1m: float = 0.0  # USD per million tokens
    price_out_per_1m: float = 0.0

    def cost(self, tokens_in: float, tokens_out: float) -> float:
        return (tokens_in * self.price_in_per_1m + tokens_out * self.price_out_per_1m) / 1e6


@dataclass
class ForkRunResult:
    run_id: str
    rows: list[EpisodeRow] = field(default_factory=list)  # the forks played now
    skipped: int = 0  # forks already published clean
    failed: list[tuple[str, str]] = field(default_factory=list)  # (fork id, why it did not start)
    stopped: str | None = None  # why the budget stopped the run early
    spent_episodes: int = 0
    spent_usd: float = 0.0
    memory_client: str = ""  # the label of the client the forks' memory turns used
    shares: int = 0  # Ray tasks the forks were split into (0: played in this process)


class ForkCluster(Protocol):
    """Somewhere else to play a fork run's groups (``fork_ray.RayForks``)."""

    async def play(
        self,
        root: Path,
        setup: ForkSetup,
        groups: Sequence[Sequence[ForkJob]],
        done: dict[str, str],
        budget: ForkBudget,
        result: ForkRunResult,
        concurrency: int,
        progress: bool,
    ) -> None: ...


class _Parents:
    """Per parent episode, read once: its logged steps and the scaffold its turns ran with; and,
    for a game that can be copied, the game as last rebuilt (a checkpoint), so forks of one
    parent at later steps replay only the steps in between."""

    CHECKPOINTS = 8  # parents whose last rebuilt game is kept

    def __init__(self, root: Path) -> None:
        self.root = root
        self._steps: dict[str, list[dict[str, Any]]] = {}
        self._scaffolds: dict[str, Scaffold] = {}
        self._checkpoints: dict[str, tuple[GameEnv, Replayed]] = {}

    def rebuild(self, job: ForkJob, env: GameEnv) -> tuple[GameEnv, Replayed]:
        """The parent's game at the fork step, and what the replay reached: ``env`` replayed
        from the seed, or a copy of the parent's checkpoint replayed from there."""
        eid, seed = job.parent.episode_id, int(job.parent.episode["seed"])
        found = self._checkpoints.get(eid)
        copied = copy_game(found[0]) if found and found[1].step <= job.step else None
        if copied is not None and found is not None:
            game, replayed = copied, replay_to(copied, seed, self.steps(job), job.step, found[1])
        else:
            game, replayed = env, replay_to(env, seed, self.steps(job), job.step)
        checkpoint = copy_game(game)
        if checkpoint is not None:
            self._checkpoints.pop(eid, None)
            self._checkpoints[eid] = (checkpoint, replayed)
            while len(self._checkpoints) > self.CHECKPOINTS:
                self._checkpoints.pop(next(iter(self._checkpoints)))
        return game, replayed

    def steps(self, job: ForkJob) -> list[dict[str, Any]]:
        eid = job.parent.episode_id
        if eid not in self._steps:
            self._steps[eid] = read_logged_steps(job.parent.found, job.parent.steps)
        return self._steps[eid]

    def scaffold(self, job: ForkJob) -> Scaffold:
        version = job.parent.version
        if version not in self._scaffolds:
            self._scaffolds[version] = parent_scaffold(self.root, job.parent)
        return self._scaffolds[version]


async def play_fork(
    root: Path, setup: ForkSetup, job: ForkJob, env: GameEnv, clients: Clients, parents: _Parents
) -> EpisodeRow:
    """Rebuild the game at the fork step, set the memory, play on, publish the episode."""
    parent = job.parent
    env, replayed = parents.rebuild(job, env)
    memory = fork_memory(parent.found, job.step, job.edit, parents.scaffold(job))
    start = EpisodeStart(
        job.step, replayed.observation, replayed.notice, replayed.previous_action, memory,
        replayed.seen, replayed.last_facts, parent.episode_id, to_json(job.edit),
    )  # fmt: skip
    agent = AgentSetup(
        setup.game, setup.scaffold, clients[0], clients[1], env.actions(), env.default_action
    )
    ep = parent.episode
    spec = EpisodeSpec(
        job.fork_id, setup.run_id, setup.game, str(ep["task"]), int(ep["seed"]), job.horizon,
        setup.model_error_threshold,
    )  # fmt: skip
    writer = EpisodeWriter(Layout(root), setup.run_id, job.fork_id)
    try:
        row = await run_episode(env, agent, writer, spec, start)
        return publish_episode(writer, row)
    except BaseException:
        writer.discard()
        raise


def make_fork_clients(setup: ForkSetup) -> Clients:
    memory = make_client(setup.model, setup.game)
    action = make_client(setup.action_model, setup.game) if setup.action_model else None
    return memory, action


async def _check(clients: Clients) -> None:
    for client in clients:
        check = getattr(client, "check", None)
        problem = await check() if check else None
        if problem:
            raise LLMConfigError(problem)


def run_fields(
    setup: ForkSetup, jobs: Sequence[ForkJob], settings: str, clients: Clients
) -> dict[str, Any]:
    """The fork run's row, without its status and times."""
    models = {"memory": setup.model.public_dict()}
    if setup.action_model:
        models["action"] = setup.action_model.public_dict()
    return {
        "run_id": setup.run_id,
        "game": setup.game,
        "tasks": sorted({str(j.parent.episode["task"]) for j in jobs}),
        "seeds": sorted({int(j.parent.episode["seed"]) for j in jobs}),
        "seed_set": None,
        "scaffold_id": setup.scaffold.id,
        "scaffold_hash": setup.scaffold.content_hash,
        "memory_client": clients[0].label,
        "action_client": (clients[1] or clients[0]).label,
        "model_config_json": json.dumps(models, sort_keys=True),
        "settings_hash": settings,
        "max_steps": max((j.horizon for j in jobs), default=0),
        "text_format": text_format(setup.game),
        "episodes_planned": len(jobs),
        "training_id": None,
    }


def _spent_so_far(root: Path, run_id: str, budget: ForkBudget) -> tuple[int, float]:
    """(forks published in the run, what their model calls cost)."""

    def query(con: duckdb.DuckDBPyConnection) -> tuple[int, float]:
        n, tin, tout = con.execute(
            "SELECT count(*), coalesce(sum(tokens_in), 0), coalesce(sum(tokens_out), 0) "
            "FROM episodes"
        ).fetchone() or (0, 0, 0)
        return int(n), budget.cost(float(tin), float(tout))

    return query_store(root, query, tables=("episodes",), run_ids=[run_id])


class _Envs:
    """Games reused per (task, step cap) across forks (NLE start-up is slow)."""

    def __init__(self, game: str) -> None:
        self.game = game
        self._free: dict[tuple[str, int], list[GameEnv]] = {}

    def take(self, job: ForkJob) -> tuple[tuple[str, int], GameEnv]:
        key = (str(job.parent.episode["task"]), int(job.parent.run["max_steps"]))
        free = self._free.setdefault(key, [])
        return key, (free.pop() if free else make_env(self.game, key[0], key[1]))

    def give(self, key: tuple[str, int], env: GameEnv) -> None:
        self._free.setdefault(key, []).append(env)

    def close(self) -> None:
        for envs in self._free.values():
            for env in envs:
                env.close()


async def run_forks(
    root: Path,
    setup: ForkSetup,
    groups: Sequence[Sequence[ForkJob]],
    settings: str,
    *,
    concurrency: int = 4,
    progress: bool = True,
    clients: Clients | None = None,
    budget: ForkBudget | None = None,
    on_episode: Callable[[EpisodeRow], None] | None = None,
    cluster: ForkCluster | None = None,
) -> ForkRunResult:
    """Play every fork of ``groups`` not already published clean in ``setup.run_id``: here, or
    on the Ray cluster ``cluster`` joined (``fork_ray.py``)."""
    check_data_dir(root, write=True)
    layout, budget = Layout(root), budget or ForkBudget()
    jobs = [j for g in groups for j in g]
    check_same_settings(layout, setup.run_id, settings)
    own = clients is None
    clients = clients or make_fork_clients(setup)
    result = ForkRunResult(setup.run_id, memory_client=clients[0].label)
    try:
        await _check(clients)
        with run_lock(layout, setup.run_id):
            drop_broken_parts(root, setup.run_id)
            done = finished_episodes(layout, setup.run_id)
            store_version(setup.scaffold, root)
            record = RunRecord(setup.run_id, run_fields(setup, jobs, settings, clients), layout)
            result.spent_episodes, result.spent_usd = _spent_so_far(root, setup.run_id, budget)
            try:
                async with record.alive():
                    if cluster is not None:
                        await cluster.play(root, setup, groups, done, budget, result,
                                           concurrency, progress)  # fmt: skip
                    else:
                        await play_groups(root, setup, groups, done, clients, budget, result,
                                          concurrency, progress, on_episode)  # fmt: skip
            finally:
                close_run(root, setup.run_id)
    finally:
        if own:
            await close_clients(clients)
    return result


async def close_clients(clients: Clients) -> None:
    for client in dict.fromkeys(c for c in clients if c is not None):
        await client.aclose()


async def play_groups(
    root: Path,
    setup: ForkSetup,
    groups: Sequence[Sequence[ForkJob]],
    done: dict[str, str],
    clients: Clients,
    budget: ForkBudget,
    result: ForkRunResult,
    concurrency: int,
    progress: bool = False,
    on_episode: Callable[[EpisodeRow], None] | None = None,
) -> None:
    """Play the groups' forks not in ``done`` as clean, ``concurrency`` at a time, a group
    started only while ``budget`` allows it; ``result`` gathers what was played and spent."""
    envs, parents = _Envs(setup.game), _Parents(root)
    sem = asyncio.Semaphore(max(1, concurrency))
    todo = sum(1 for g in groups for j in g if done.get(j.fork_id) != "ok")
    bar = tqdm(total=todo, desc=setup.run_id, unit="fork", disable=not progress)
    started: set[str] = set()

    async def one(job: ForkJob) -> None:
        key, env = envs.take(job)
        try:
            row = await play_fork(root, setup, job, env, clients, parents)
        except AutoMemError as exc:
            result.failed.append((job.fork_id, str(exc)))
            result.spent_episodes -= 1  # it never played
        else:
            result.rows.append(row)
            result.spent_usd += budget.cost(row.tokens_in, row.tokens_out)
            if on_episode:
                on_episode(row)
        finally:
            envs.give(key, env)
            sem.release()
            bar.update(1)

    tasks: list[asyncio.Task[None]] = []
    try:
        for group in groups:
            new = [j for j in group if done.get(j.fork_id) != "ok" and j.fork_id not in started]
            result.skipped += sum(1 for j in group if done.get(j.fork_id) == "ok")
            stop = over_budget(budget, result, len(new))
            if stop:
                result.stopped = stop
                break
            result.spent_episodes += len(new)
            for job in new:
                started.add(job.fork_id)
                await sem.acquire()
                tasks.append(asyncio.create_task(one(job)))
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        bar.close()
        envs.close()


def over_budget(budget: ForkBudget, result: ForkRunResult, new: int) -> str | None:
    """Why the next group of ``new`` forks may not start (None: it may)."""
    if budget.episodes is not None and new and result.spent_episodes + new > budget.episodes:
        return (
            f"stopped: {result.spent_episodes} forks played or started, and the next "
            f"{new} would pass the budget of {budget.episodes} episodes"
        )
    if budget.usd is not None and new and result.spent_usd >= budget.usd:
        spent = f"${result.spent_usd:.4f} of the ${budget.usd:g} budget"
        return f"stopped: the forks' model calls cost {spent}"
    return None


async def fork_episode(
    root: Path,
    parent: Parent,
    step: int,
    edit: ForkEdit = NO_EDIT,
    *,
    scaffold: str | None = None,
    models: tuple[ModelConfig, ModelConfig | None] | None = None,
    horizon: int | None = None,
    samples: int = 1,
    run_id: str | None = None,
    concurrency: int = 4,
    progress: bool = False,
    clients: Clients | None = None,
    cluster: ForkCluster | None = None,
) -> tuple[ForkRunResult, list[ForkJob]]:
    """``samples`` forks of ``parent`` at ``step`` with ``edit`` (``automem fork``): with the
    parent's scaffold version and model settings unless others are given, for as many steps as
    the parent had left unless ``horizon`` says."""
    model, action = models or parent_models(parent)
    game = str(parent.episode["game"])
    base = ForkSetup("", game, fork_scaffold(root, parent, scaffold), model, action)
    setup, jobs, settings = plan_forks(parent, step, edit, horizon, samples, run_id, base)
    result = await run_forks(
        root, setup, [jobs], settings, concurrency=concurrency, progress=progress,
        clients=clients, cluster=cluster,
    )  # fmt: skip
    return result, jobs
