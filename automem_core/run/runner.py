"""Running a configuration: plan it, record it, hand its episodes to an executor.

Running the same command again resumes the run: finished episodes are skipped, failed ones are
played again. The run's row says ``running`` (with a heartbeat) while it is alive and
``finished`` or ``interrupted`` after; the exact scaffold it used is kept under
``data/scaffolds/<id>@<hash8>/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automem_core.envs.registry import text_format
from automem_core.run.clients import check_endpoints, check_replay_source
from automem_core.run.config import RunConfig
from automem_core.run.executors import Executor, make_executor
from automem_core.run.plan import RunPlan, plan_run, under_lease
from automem_core.run.play import OnEpisode
from automem_core.run.record import RunRecord, run_lock
from automem_core.scaffold import store_version
from automem_core.store.compact import close_run, compact_now
from automem_core.store.layout import Layout, check_data_dir
from automem_core.store.remote_pull import pull
from automem_core.store.schema import EpisodeRow

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    run_id: str
    episodes: list[EpisodeRow]
    skipped: int


async def run(
    cfg: RunConfig,
    progress: bool = True,
    on_episode: OnEpisode | None = None,
    executor: Executor | None = None,
) -> RunResult:
    """Run every (task, seed) episode of ``cfg`` not already finished in the store."""
    check_data_dir(cfg.data, write=True)
    pull(cfg.data)  # a store on object storage: what it holds now (nothing for a folder)
    plan = plan_run(cfg)
    check_replay_source(plan)
    labels = await check_endpoints(plan)
    executor = executor or make_executor(cfg.workers, len(plan.todo), cfg.executor, cfg.ray_address)
    layout = Layout(cfg.data)
    with run_lock(layout, plan.run_id) as lease, _cancel_on_sigterm():
        plan = under_lease(plan, lease)
        store_version(plan.scaffold, cfg.data)
        record = RunRecord(plan.run_id, run_row_fields(plan, labels), layout)
        compactor = Compactor(cfg.data, plan.run_id)
        try:
            async with record.alive():
                rows = await executor.play(
                    plan, progress, on_episode, compactor.after(record.touch)
                )
        finally:
            compactor.final()
    return RunResult(plan.run_id, rows, plan.skipped)


class Compactor:
    """Compacts the run's finished episodes every :attr:`EVERY_S` seconds while it runs (in a
    thread: the episodes go on), and once more when it ends, killed or not."""

    EVERY_S = 120.0

    def __init__(self, data: Path, run_id: str) -> None:
        self.data, self.run_id = data, run_id
        self._last = time.monotonic()
        self._busy: asyncio.Future[int] | None = None

    def after(self, touch: Callable[[], None]) -> Callable[[], None]:
        """``touch`` (the run's heartbeat), then a compaction when one is due."""

        def on_progress() -> None:
            touch()
            due = time.monotonic() - self._last >= self.EVERY_S
            if due and (self._busy is None or self._busy.done()):
                self._last = time.monotonic()
                self._busy = asyncio.ensure_future(
                    asyncio.to_thread(compact_now, self.data, self.run_id)
                )

        return on_progress

    def final(self) -> None:
        if self._busy is not None and not self._busy.done():
            self._busy.cancel()  # the thread finishes its part; the lock keeps us apart
        close_run(self.data, self.run_id)


@contextlib.contextmanager
def _cancel_on_sigterm() -> Iterator[None]:
    """SIGTERM ends the run as Ctrl-C does: the run is marked interrupted, finished episodes
    stay, and the same command resumes it."""
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    try:
        if task is not None:
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
        task = None
    try:
        yield
    finally:
        if task is not None:
            loop.remove_signal_handler(signal.SIGTERM)


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
        "seed_set": cfg.seed_set,
        "scaffold_id": plan.scaffold.id,
        "scaffold_hash": plan.scaffold.content_hash,
        "memory_client": labels[0],
        "action_client": labels[1],
        "model_config_json": json.dumps(models, sort_keys=True),
        "settings_hash": plan.settings,
        "max_steps": plan.max_steps,
        "text_format": text_format(cfg.game),
        "episodes_planned": len(cfg.tasks) * len(cfg.seeds),
        "training_id": cfg.training_id,
    }
