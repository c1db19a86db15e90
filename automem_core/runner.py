"""Running many episodes at once, with resume, progress and a record of the run.

Episodes overlap on one asyncio loop: while one waits for its model, the others step their games.
With ``workers > 1`` the episodes are split over that many processes (see ``executor.py``), each
running its share the same way. Every finished episode is published atomically, so Ctrl-C or a
kill loses only those in flight, and running the same command again skips the finished ones.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from automem_core.agent.episode import EpisodeSpec, run_episode
from automem_core.agent.step import AgentSetup
from automem_core.envs.base import GameEnv, make_env, tasks_of
from automem_core.llm.base import LLMClient, LLMConfigError
from automem_core.llm.config import ModelConfig
from automem_core.llm.factory import make_client
from automem_core.llm.replay import ReplayClient
from automem_core.run_record import RunRecord, check_same_settings, run_lock
from automem_core.scaffold.loader import Scaffold, resolve_scaffold
from automem_core.store.layout import Layout, check_id
from automem_core.store.reader import connect, finished_episodes, readable_files
from automem_core.store.schema import EpisodeRow
from automem_core.store.writer import EpisodeWriter

log = logging.getLogger(__name__)
OnEpisode = Callable[[EpisodeRow], None]


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
    concurrency: int = 4  # episodes at once, over all workers
    workers: int = 1  # processes sharing the episodes
    run_id: str | None = None
    replay_from: str | None = None  # answer from this recorded run's turns instead of a model


@dataclass(frozen=True)
class RunPlan:
    """What a run will do, settled before any episode starts (and picklable for workers)."""

    cfg: RunConfig
    run_id: str
    scaffold: Scaffold
    max_steps: int
    todo: list[tuple[str, int]]  # (task, seed) not finished yet
    skipped: int
    settings: str  # settings_hash of the configuration


@dataclass
class RunResult:
    run_id: str
    episodes: list[EpisodeRow]
    skipped: int


def episode_id(run_id: str, task: str, seed: int) -> str:
    return f"{run_id}.{task}.s{seed}"


def settings_hash(cfg: RunConfig, scaffold: Scaffold, max_steps: int) -> str:
    """A hash of everything that decides what a run's episodes are."""
    key = json.dumps(
        {
            "game": cfg.game,
            "tasks": list(cfg.tasks),
            "seeds": list(cfg.seeds),
            "scaffold": scaffold.content_hash,
            "model": cfg.model.public_dict(),
            "action_model": cfg.action_model.public_dict() if cfg.action_model else None,
            "max_steps": max_steps,
            "replay_from": cfg.replay_from,
        },
        sort_keys=True,
    )
    return hashlib.sha256(key.encode()).hexdigest()


def derive_run_id(cfg: RunConfig, scaffold: Scaffold, max_steps: int) -> str:
    """Same command ⇒ same run id, so running it again resumes instead of starting over."""
    return f"{cfg.game}-{scaffold.id}-{settings_hash(cfg, scaffold, max_steps)[:8]}"


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


def plan_run(cfg: RunConfig) -> RunPlan:
    """Validate the configuration and work out which episodes are left to play."""
    if cfg.max_steps is not None and cfg.max_steps < 1:
        raise ValueError(f"--max-steps {cfg.max_steps}: an episode needs at least 1 step")
    if cfg.concurrency < 1 or cfg.workers < 1:
        raise ValueError("--concurrency and --workers must be at least 1")
    valid = tasks_of(cfg.game)
    for task in cfg.tasks:
        if task not in valid:
            raise ValueError(
                f"unknown task {task!r} for {cfg.game}; choose from {', '.join(valid)}"
            )
    scaffold = resolve_scaffold(cfg.scaffold, cfg.game, cfg.data)
    max_steps = 0
    for task in cfg.tasks:  # fail fast on a task that cannot start (e.g. Boxoban without levels)
        env = make_env(cfg.game, task, cfg.max_steps)
        max_steps = env.max_steps
        env.close()
    settings = settings_hash(cfg, scaffold, max_steps)
    run_id = check_id(cfg.run_id or f"{cfg.game}-{scaffold.id}-{settings[:8]}", "run id")
    check_same_settings(Layout(cfg.data), run_id, settings)
    done = finished_episodes(Layout(cfg.data), run_id)
    todo = [
        (t, s) for t in cfg.tasks for s in cfg.seeds if done.get(episode_id(run_id, t, s)) != "ok"
    ]
    skipped = len(cfg.tasks) * len(cfg.seeds) - len(todo)
    return RunPlan(cfg, run_id, scaffold, max_steps, todo, skipped, settings)


def load_replay(data: Path, source_run: str, target_run: str) -> tuple[ReplayClient, bool]:
    """A client answering every turn as it was answered in ``source_run`` (same task and seed),
    and whether that run had a separate action client (then the replay plays both parts)."""
    con = connect(data)
    rows = con.execute(
        "SELECT episode_id, step, phase, turn, completion FROM turns "
        "WHERE starts_with(episode_id, ?)",
        [f"{source_run}."],
    ).fetchall()
    con.close()
    if not rows:
        raise LLMConfigError(f"no recorded turns for run {source_run!r}; see `automem runs`")
    prefix = len(source_run)
    client = ReplayClient.from_rows(
        (
            {
                "episode_id": target_run + eid[prefix:],
                "step": step,
                "phase": phase,
                "turn": turn,
                "completion": text,
            }
            for eid, step, phase, turn, text in rows
        ),
        label=f"replay:{source_run}",
    )
    return client, any(phase == "action" for _e, _s, phase, _t, _c in rows)


def make_clients(plan: RunPlan) -> tuple[LLMClient, LLMClient | None]:
    cfg = plan.cfg
    if cfg.replay_from:
        replay, split = load_replay(cfg.data, cfg.replay_from, plan.run_id)
        return replay, (replay if split else None)
    memory = make_client(cfg.model, cfg.game)
    action = make_client(cfg.action_model, cfg.game) if cfg.action_model else None
    return memory, action


async def check_endpoints(plan: RunPlan) -> tuple[str, str]:
    """Fail the run with one line when an endpoint cannot be reached; return the client labels."""
    memory, action = make_clients(plan)
    try:
        for client in (memory, action):
            check = getattr(client, "check", None)
            problem = await check() if check else None
            if problem:
                raise LLMConfigError(problem)
    finally:
        await memory.aclose()
        if action:
            await action.aclose()
    return memory.label, (action or memory).label


async def run(
    cfg: RunConfig, progress: bool = True, on_episode: OnEpisode | None = None
) -> RunResult:
    """Run every (task, seed) episode of ``cfg`` not already finished in the store."""
    plan = plan_run(cfg)
    labels = await check_endpoints(plan)
    with run_lock(Layout(cfg.data), plan.run_id):
        record = RunRecord(plan.run_id, run_row_fields(plan, labels), Layout(cfg.data))
        async with record.alive():
            if cfg.workers > 1 and len(plan.todo) > 1:
                from automem_core.executor import play_in_processes

                rows = await play_in_processes(plan, progress, record.touch)
            else:
                rows = await play_episodes(plan, progress, on_episode, record.touch)
    return RunResult(plan.run_id, rows, plan.skipped)


def run_row_fields(plan: RunPlan, labels: tuple[str, str]) -> dict[str, Any]:
    """The run's row without its status and times (RunRecord adds those)."""
    cfg = plan.cfg
    models = {"memory": cfg.model.public_dict()}
    if cfg.action_model:
        models["action"] = cfg.action_model.public_dict()
    return {
        "run_id": plan.run_id,
        "game": cfg.game,
        "tasks": list(cfg.tasks),
        "seeds": list(cfg.seeds),
        "scaffold_id": plan.scaffold.id,
        "scaffold_hash": plan.scaffold.content_hash,
        "memory_client": labels[0],
        "action_client": labels[1],
        "model_config_json": json.dumps(models, sort_keys=True),
        "settings_hash": plan.settings,
        "max_steps": plan.max_steps,
        "episodes_planned": len(cfg.tasks) * len(cfg.seeds),
    }


async def play_episodes(
    plan: RunPlan,
    progress: bool,
    on_episode: OnEpisode | None = None,
    on_progress: Callable[[], None] | None = None,
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
            writer = EpisodeWriter(layout, plan.run_id, eid)
            try:
                spec = EpisodeSpec(eid, plan.run_id, cfg.game, task, seed, env.max_steps)
                row = await run_episode(env, setup, writer, spec)
                row = _publish(writer, row)
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


def _publish(writer: EpisodeWriter, row: EpisodeRow) -> EpisodeRow:
    """Publish the episode; if the disk refuses, report it as failed (resume plays it again)."""
    try:
        writer.commit(row)
    except OSError as exc:
        log.error(
            "could not save episode %s: %s; it will be played again on resume", row.episode_id, exc
        )
        writer.discard()
        return replace(row, status="error", end_reason="error", error=f"not saved: {exc}")
    return row


def count_published(plan: RunPlan) -> int:
    """How many of the plan's episodes are published so far (progress across processes)."""
    pattern = str(
        Layout(plan.cfg.data).run_dir(plan.run_id) / "episodes" / "*" / "episodes.parquet"
    )
    wanted = {episode_id(plan.run_id, t, s) for t, s in plan.todo}
    good, _bad = readable_files(pattern)
    return sum(1 for p in good if Path(p).parent.name in wanted)


def shard(plan: RunPlan, index: int, count: int) -> RunPlan:
    """The ``index``-th of ``count`` interleaved shares of a plan, with its share of concurrency."""
    per_worker = -(-plan.cfg.concurrency // count)
    cfg = replace(plan.cfg, concurrency=per_worker, workers=1)
    return replace(plan, cfg=cfg, todo=plan.todo[index::count])
