"""Playing a run's episodes on a Ray cluster: ``automem run --executor ray [--ray-address ADDR]``.

The plan is split into interleaved shares, one Ray task each, spread over the cluster's nodes;
each task plays its share many at a time on its own event loop (as a worker process does) and
publishes every finished episode into the store itself, under the run's lease. The store must be
one every node reaches (a shared folder, or object storage).

A task lost with its worker or node is run again by Ray elsewhere (``max_retries``). The retry
first lists what the store already holds and skips every episode already published clean, so an
episode is never written twice; an episode the lost task had not finished is played again, and
one it had published as failed is played again and replaces its folder (as a resume would). A
lost task's half-written episode stays in its own ``.partial/`` folder, which the next holder of
the run's lock clears. Ray ends a driver's tasks when the driver goes, and a worker publishes only
while the run's lock file still holds its run's token (``store/locks.py``), so a killed run's
leftover workers publish nothing once another run holds the lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import json
import logging
import signal
import socket
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

from tqdm import tqdm

from automem_core.errors import AutoMemError
from automem_core.run.plan import RunPlan, episode_id, shard
from automem_core.run.play import OnEpisode, OnProgress, count_published, play_episodes
from automem_core.store.catalog import MANIFEST
from automem_core.store.layout import Layout
from automem_core.store.reader import finished_episodes, query_store
from automem_core.store.remote import open_root, remote_of
from automem_core.store.remote_pull import pull
from automem_core.store.schema import EpisodeRow

log = logging.getLogger(__name__)
MAX_RETRIES = 3  # times Ray runs a share again after its worker or node was lost


class ClusterError(AutoMemError, RuntimeError):
    """The Ray cluster cannot be used or lost the run's work; the message says what to do."""


def import_ray() -> ModuleType:
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise ClusterError(
            "--executor ray needs Ray: install the cluster extra (pip install -e '.[cluster]')"
        ) from None


def play_share(plan: RunPlan) -> list[EpisodeRow]:
    """One Ray task: play the share's episodes not yet published clean (a retry after a lost
    node finds the ones its first attempt published and skips them)."""
    for module in plan.plugins:  # games registered at run time, e.g. a test's fake game
        importlib.import_module(module)
    plan = on_this_node(plan)
    done = finished_episodes(Layout(plan.cfg.data), plan.run_id)
    todo = tuple((t, s) for t, s in plan.todo if done.get(episode_id(plan.run_id, t, s)) != "ok")
    return asyncio.run(play_episodes(replace(plan, todo=todo), progress=False))


def on_this_node(plan: RunPlan) -> RunPlan:
    """A plan whose store is on object storage, pointed at this node's own mirror of it (its
    path differs from machine to machine); unchanged for a shared folder."""
    if plan.store_url is None:
        return plan
    root = open_root(plan.store_url)
    pull(root)  # what earlier attempts published, for the skip below
    folder = Layout(root).run_dir(plan.run_id)
    folder.mkdir(parents=True, exist_ok=True)
    lease = plan.lease
    if lease is not None and Path(lease.folder).resolve() != folder.resolve():
        lease = replace(lease, folder=folder, elsewhere=True)
    return replace(plan, cfg=plan.cfg.model_copy(update={"data": root}), lease=lease)


def published_rows(data: Path, run_id: str, ids: Sequence[str]) -> list[EpisodeRow]:
    """The published rows of the episodes ``ids`` (those a retried share skipped)."""
    if not ids:
        return []
    names = [f.name for f in dataclasses.fields(EpisodeRow)]

    def select(con: Any) -> list[dict[str, Any]]:
        cursor = con.execute(
            f"SELECT {', '.join(names)} FROM episodes WHERE list_contains(?, episode_id)",
            [list(ids)],
        )
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    found = query_store(data, select, tables=("episodes",), run_ids=[run_id])
    return [EpisodeRow(**row) for row in found]


def for_cluster(plan: RunPlan) -> RunPlan:
    """The plan as a remote worker needs it: absolute paths (a worker's folder is not the
    driver's), and a lease checked by its token alone (the driver is not the worker's parent)."""
    cfg = plan.cfg.model_copy(update={"data": Path(plan.cfg.data).resolve()})
    lease = plan.lease
    if lease is not None:
        lease = replace(lease, folder=Path(lease.folder).resolve(), remote=True)
    remote = remote_of(cfg.data)
    return replace(plan, cfg=cfg, lease=lease, store_url=remote.url if remote else None)


def check_reachable(address: str | None) -> None:
    """Fail in one line, at once, when ``host:port`` (or ``ray://host:port``) refuses a
    connection: Ray itself would keep trying for a minute or more."""
    if not address or address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"--ray-address {address}: give host:port or ray://host:port")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise ClusterError(
            f"cannot reach a Ray cluster at {address} ({exc.strerror or exc}); start one with "
            "`ray start --head` and pass its address to --ray-address"
        ) from None


def connect(ray: ModuleType, address: str | None) -> bool:
    """Join the cluster at ``address`` (or start a local one); True when this call did (the
    caller then shuts it down)."""
    if ray.is_initialized():
        return False
    check_reachable(address)
    keep = _sigterm_handler()
    try:
        ray.init(
            address=address, include_dashboard=False, log_to_driver=False, configure_logging=False
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"at {address}" if address else "on this machine"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ClusterError(
            f"cannot reach a Ray cluster {where} ({first}); start one with `ray start "
            "--head` and pass its address to --ray-address"
        ) from None
    finally:
        _restore_sigterm(keep)
    return True


class RayExecutor:
    """The plan split into ``shares`` Ray tasks (default: one per CPU of the cluster)."""

    def __init__(
        self, address: str | None = None, shares: int | None = None, max_retries: int = MAX_RETRIES
    ) -> None:
        self.address, self.shares, self.max_retries = address, shares, max_retries

    async def play(
        self,
        plan: RunPlan,
        progress: bool,
        on_episode: OnEpisode | None = None,
        on_progress: OnProgress | None = None,
    ) -> list[EpisodeRow]:
        ray = import_ray()
        started = connect(ray, self.address)
        try:
            rows = await self._play(ray, for_cluster(plan), progress, on_progress)
        finally:
            if started:
                ray.shutdown()
        for row in rows if on_episode else ():
            on_episode(row)  # type: ignore[misc]
        return rows

    async def _play(
        self, ray: ModuleType, plan: RunPlan, progress: bool, on_progress: OnProgress | None
    ) -> list[EpisodeRow]:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        count = max(1, min(self.shares or cpus, len(plan.todo)))
        task = ray.remote(play_share).options(
            num_cpus=1, max_retries=self.max_retries, scheduling_strategy="SPREAD"
        )
        refs = [task.remote(shard(plan, i, count)) for i in range(count)]
        bar = tqdm(
            total=len(plan.todo), desc=f"{plan.run_id} ray×{count}", unit="ep",
            disable=not progress,
        )  # fmt: skip
        with bar:
            results: list[list[EpisodeRow]] = await await_shares(
                ray, refs, plan.run_id, self.max_retries + 1, bar, lambda: _count_published(plan),
                on_progress,
            )  # fmt: skip
        rows = [row for part in results for row in part]
        if plan.store_url is not None:
            pull(plan.cfg.data)  # what shares on other machines published, into this mirror
        played = {r.episode_id for r in rows}
        skipped = [
            e for e in (episode_id(plan.run_id, t, s) for t, s in plan.todo) if e not in played
        ]
        return rows + published_rows(plan.cfg.data, plan.run_id, skipped)


def _sigterm_handler() -> Any:
    try:
        return signal.getsignal(signal.SIGTERM)
    except ValueError:
        return None


def _restore_sigterm(handler: Any) -> None:
    """Ray's start installs its own SIGTERM handler (it ends the process at once); the run's
    own (runner.py: SIGTERM ends the run as Ctrl-C does) is put back."""
    if handler is None:
        return
    with contextlib.suppress(ValueError):  # not the main thread: nothing was installed here
        signal.signal(signal.SIGTERM, handler)


def _count_published(plan: RunPlan) -> int:
    """Progress: published episodes of the plan, from the store's commit markers and manifest
    when it is on object storage (shares elsewhere publish into their own mirrors), else from
    the folder."""
    if remote_of(plan.cfg.data) is None:
        return count_published(plan)
    wanted = {episode_id(plan.run_id, t, s) for t, s in plan.todo}
    return len(wanted & published_in_store(plan.cfg.data, plan.run_id))


def published_in_store(root: Path, run_id: str) -> set[str]:
    """The episodes of ``run_id`` published in the object store ``root`` mirrors: those with a
    commit marker, and those its parts hold (their markers are deleted an hour after)."""
    remote = remote_of(root)
    if remote is None:
        return set()
    fs, run = remote.fs, f"runs/{run_id}"
    names: set[str] = set()
    with contextlib.suppress(OSError, ValueError):  # nothing committed yet, or a passing error
        fs.invalidate_cache(remote.key(f"{run}/commits"))
        listed = fs.ls(remote.key(f"{run}/commits"), detail=False)
        names |= {Path(p).name.removesuffix(".json") for p in listed}
    with contextlib.suppress(OSError, ValueError):
        parts = json.loads(fs.cat_file(remote.key(f"{run}/{MANIFEST}"))).get("parts", [])
        names |= {str(e) for p in parts for e in p["episodes"]}
    return names


async def await_shares(
    ray: ModuleType,
    refs: list[Any],
    run_id: str,
    tries: int,
    bar: tqdm[Any],
    published: Callable[[], int],
    on_tick: OnProgress | None = None,
) -> list[Any]:
    """What each share's Ray task returned (:func:`share_result`), the bar following
    ``published()`` meanwhile; interrupted, the shares not done are cancelled."""
    futures = [asyncio.wrap_future(ref.future()) for ref in refs]
    try:
        pending: set[asyncio.Future[Any]] = set(futures)
        while pending:
            _done, pending = await asyncio.wait(pending, timeout=0.5)
            bar.n = published()
            bar.refresh()
            if on_tick:
                on_tick()
        return [share_result(ray, f, run_id, tries) for f in futures]
    finally:
        for ref, future in zip(refs, futures, strict=True):
            if not future.done():  # interrupted: stop the remote shares too
                ray.cancel(ref, force=True)


def share_result(ray: ModuleType, future: asyncio.Future[Any], run_id: str, tries: int) -> Any:
    """What a share returned; its expected failure raised as itself, a lost share as one
    line."""
    try:
        return future.result()
    except ray.exceptions.RayTaskError as err:
        cause = getattr(err, "cause", None)
        if isinstance(cause, AutoMemError):
            raise cause from None
        raise
    except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
            ray.exceptions.TaskCancelledError) as err:  # fmt: skip
        raise ClusterError(
            f"a share of run {run_id} was lost with its Ray worker {tries} times "
            f"({type(err).__name__}); its finished episodes are kept: run the same command "
            "again to play the rest"
        ) from None
