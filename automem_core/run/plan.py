"""Settling what a run will do before any episode starts: its id, scaffold and episodes left.

The run id is derived from the settings, so running the same command again resumes the run
(finished episodes are skipped, failed ones are played again).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace

from automem_core.envs.base import EnvConfigError
from automem_core.envs.registry import default_scaffold, make_env, plugin_modules, tasks_of
from automem_core.run.config import RunConfig
from automem_core.run.record import check_same_settings
from automem_core.scaffold import Scaffold, resolve_scaffold
from automem_core.store.compact import drop_broken_parts
from automem_core.store.layout import Layout, check_id
from automem_core.store.locks import RunLease
from automem_core.store.reader import finished_episodes


@dataclass(frozen=True)
class RunPlan:
    """What a run will do (plain data, so it can cross to a worker process or machine)."""

    cfg: RunConfig
    run_id: str
    scaffold: Scaffold
    max_steps: int
    todo: tuple[tuple[str, int], ...]  # (task, seed) pairs not finished yet
    skipped: int
    settings: str  # settings_hash of the configuration
    plugins: tuple[str, ...] = ()  # modules a fresh process imports first (non-built-in games)
    lease: RunLease | None = None  # what its episodes are published under (set once locked)
    store_url: str | None = None  # set for remote workers when the store is on object storage


def episode_id(run_id: str, task: str, seed: int) -> str:
    return f"{run_id}.{task}.s{seed}"


def settings_hash(cfg: RunConfig, scaffold: Scaffold, max_steps: int) -> str:
    """A hash of everything that decides what a run's episodes are."""
    identity = {
        "game": cfg.game,
        "tasks": list(cfg.tasks),
        "seeds": list(cfg.seeds),
        "seed_set": cfg.seed_set,
        "scaffold": scaffold.content_hash,
        "model": cfg.model.identity_dict(),
        "action_model": cfg.action_model.identity_dict() if cfg.action_model else None,
        "max_steps": max_steps,
        "replay_from": cfg.replay_from,
    }
    if cfg.training_id:  # only then, so runs without one keep their ids
        identity["training_id"] = cfg.training_id
    key = json.dumps(identity, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()


def plan_run(cfg: RunConfig) -> RunPlan:
    """Validate the configuration and work out which episodes are left to play."""
    valid = tasks_of(cfg.game)
    for task in cfg.tasks:
        if task not in valid:
            raise EnvConfigError(
                f"unknown task {task!r} for {cfg.game}; choose from {', '.join(valid)}"
            )
    scaffold = resolve_scaffold(cfg.scaffold or default_scaffold(cfg.game), cfg.game, cfg.data)
    max_steps = 0
    for task in cfg.tasks:  # fail fast on a task that cannot start (e.g. Boxoban without levels)
        env = make_env(cfg.game, task, cfg.max_steps)
        max_steps = env.max_steps
        env.close()
    settings = settings_hash(cfg, scaffold, max_steps)
    run_id = check_id(cfg.run_id or f"{cfg.game}-{scaffold.id}-{settings[:8]}", "run id")
    layout = Layout(cfg.data)
    check_same_settings(layout, run_id, settings)
    drop_broken_parts(cfg.data, run_id)  # their episodes are played again
    todo, skipped = _left_to_play(cfg, run_id)
    plugins = plugin_modules(cfg.game)
    return RunPlan(cfg, run_id, scaffold, max_steps, todo, skipped, settings, plugins)


def _left_to_play(cfg: RunConfig, run_id: str) -> tuple[tuple[tuple[str, int], ...], int]:
    """The (task, seed) pairs not finished in the store, and how many are."""
    done = finished_episodes(Layout(cfg.data), run_id)
    todo = tuple(
        (t, s) for t in cfg.tasks for s in cfg.seeds if done.get(episode_id(run_id, t, s)) != "ok"
    )
    return todo, len(cfg.tasks) * len(cfg.seeds) - len(todo)


def under_lease(plan: RunPlan, lease: RunLease) -> RunPlan:
    """The plan once its run is locked: what is left to play counted again (an earlier holder's
    last publishes have landed by then) and the lease to publish under."""
    todo, skipped = _left_to_play(plan.cfg, plan.run_id)
    return replace(plan, todo=todo, skipped=skipped, lease=lease)


def shard(plan: RunPlan, index: int, count: int) -> RunPlan:
    """The ``index``-th of ``count`` interleaved shares of a plan, with its share of concurrency."""
    per_worker = -(-plan.cfg.concurrency // count)
    cfg = plan.cfg.model_copy(update={"concurrency": per_worker, "workers": 1})
    return replace(plan, cfg=cfg, todo=plan.todo[index::count])
