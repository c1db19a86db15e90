"""Playing a fork run on a Ray cluster: ``automem fork … --executor ray`` and
``automem mine --causal … --executor ray``.

The run's groups of forks (a decision's kept and dropped forks, or one ``automem fork``'s
samples) are split into interleaved shares, one Ray task each, spread over the cluster's nodes
(as ``ray_executor.py`` splits a run's episodes). Each share finds its parent episodes in the
store as its node sees it (its own mirror of a store on object storage), skips the forks
already published clean, plays its groups many at a time on its own event loop and publishes
every fork into the store itself. The run's row, lock and compaction stay with the process that
started it.

An episode budget (``--budget-episodes``) is applied before the shares go out: the groups are
taken in order while they fit, as one process would take them. A USD budget
(``--budget-usd``) cannot be known ahead, so it is split evenly between the shares; each stops
starting groups once its part is spent, and the forks in flight may pass it, as in one process.
Without a USD budget no group needs to be played whole, so the forks themselves are spread (the
samples of one ``automem fork`` go to every node). A share lost with its worker or node is run
again by Ray; the retry skips what the lost attempt published, and counts it as played and spent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from tqdm import tqdm

from automem_core.envs.registry import plugin_modules
from automem_core.run.fork import ForkJob, ForkSetup, load_parent
from automem_core.run.fork_edit import ForkEdit
from automem_core.run.fork_play import (
    ForkBudget,
    ForkRunResult,
    close_clients,
    make_fork_clients,
    over_budget,
    play_groups,
)
from automem_core.run.ray_executor import (
    MAX_RETRIES,
    await_shares,
    connect,
    import_ray,
    published_in_store,
    published_rows,
)
from automem_core.store.catalog import scan_run
from automem_core.store.layout import Layout
from automem_core.store.reader import finished_episodes
from automem_core.store.remote import open_root, remote_of
from automem_core.store.remote_pull import pull
from automem_core.store.schema import EpisodeRow

# A fork as it crosses to a node: (fork id, parent episode id, step, edit, horizon); the parent
# is found again there, in the store as that node sees it.
ForkSpec = tuple[str, str, int, ForkEdit, int]


def play_fork_share(
    store: str,
    setup: ForkSetup,
    share: list[list[ForkSpec]],
    budget: ForkBudget,
    concurrency: int,
    already: frozenset[str],
    plugins: tuple[str, ...] = (),
) -> ForkRunResult:
    """One Ray task: the share's groups. ``already``: its forks published clean before the
    shares went out (skipped); others published now were played by a lost attempt of this
    share, and count as played and spent."""
    for module in plugins:  # games registered at run time, e.g. a test's fake game
        importlib.import_module(module)
    root = open_root(store)
    if remote_of(root) is not None:
        pull(root)  # the parents, and what an earlier attempt of this share published
    parents = {eid: load_parent(root, eid) for eid in sorted({s[1] for g in share for s in g})}
    groups = [
        [ForkJob(fork_id, parents[eid], step, edit, horizon)
         for fork_id, eid, step, edit, horizon in group]
        for group in share
    ]  # fmt: skip
    done = finished_episodes(Layout(root), setup.run_id)
    mine = {spec[0] for group in share for spec in group}
    replayed = sorted(f for f in mine - already if done.get(f) == "ok")
    earlier = published_rows(root, setup.run_id, replayed)
    return asyncio.run(_play_share(root, setup, groups, done, budget, concurrency, earlier))


async def _play_share(
    root: Path,
    setup: ForkSetup,
    groups: list[list[ForkJob]],
    done: dict[str, str],
    budget: ForkBudget,
    concurrency: int,
    earlier: list[EpisodeRow],
) -> ForkRunResult:
    clients = make_fork_clients(setup)
    result = ForkRunResult(setup.run_id, memory_client=clients[0].label)
    result.rows += earlier  # played by a lost attempt of this share
    result.spent_episodes = len(earlier)
    result.spent_usd = sum(budget.cost(r.tokens_in, r.tokens_out) for r in earlier)
    try:
        await play_groups(root, setup, groups, done, clients, budget, result, concurrency)
    finally:
        await close_clients(clients)
    result.skipped -= len(earlier)  # play_groups took them for earlier runs' forks
    return result


class RayForks:
    """Fork runs played on a Ray cluster; a context manager that joins the cluster at
    ``address`` (or starts a local one) once, for every fork run made inside it."""

    def __init__(
        self, address: str | None = None, shares: int | None = None, max_retries: int = MAX_RETRIES
    ) -> None:
        self.address, self.shares, self.max_retries = address, shares, max_retries
        self._ray: ModuleType | None = None
        self._started = False

    def __enter__(self) -> RayForks:
        self._ray = import_ray()
        self._started = connect(self._ray, self.address)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._started and self._ray is not None:
            self._ray.shutdown()

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
    ) -> None:
        """Play ``groups`` on the cluster, the run's result gathering the shares' (``result``
        holds what the run had spent before; ``done``, the run's forks published so far)."""
        ray = self._ray
        if ray is None:
            raise RuntimeError("RayForks.play outside its `with` block")
        groups, result.stopped = within_episodes(groups, done, budget, result)
        if budget.usd is None:  # no group needs to be played whole: the forks are spread
            groups = [[job] for group in groups for job in group]  # an `automem fork`'s samples
        if not groups:
            return
        remote = remote_of(root)
        store = remote.url if remote else str(Path(root).resolve())
        count = max(1, min(self.shares or int(ray.cluster_resources().get("CPU", 1)), len(groups)))
        specs = [[_spec(job) for job in group] for group in groups]
        budgets = split_usd(budget, result, count)
        ok = frozenset(f for f, status in done.items() if status == "ok")
        plugins = plugin_modules(setup.game)
        task = ray.remote(play_fork_share).options(
            num_cpus=1, max_retries=self.max_retries, scheduling_strategy="SPREAD"
        )
        refs = [task.remote(store, setup, specs[i::count], b, concurrency, ok, plugins)
                for i, b in enumerate(budgets)]  # fmt: skip
        wanted = {job.fork_id for group in groups for job in group}
        bar = tqdm(total=len(wanted), desc=f"{setup.run_id} ray×{count}", unit="fork",
                   disable=not progress)  # fmt: skip
        with bar:
            shares: list[ForkRunResult] = await await_shares(
                ray, refs, setup.run_id, self.max_retries + 1, bar,
                lambda: len(wanted & _published(root, setup.run_id)),
            )  # fmt: skip
        if remote is not None:
            pull(root)  # what shares on other machines published, into this mirror
        _gather(result, shares, budget)
        result.shares = max(result.shares, count)


def _spec(job: ForkJob) -> ForkSpec:
    return (job.fork_id, job.parent.episode_id, job.step, job.edit, job.horizon)


def within_episodes(
    groups: Sequence[Sequence[ForkJob]],
    done: dict[str, str],
    budget: ForkBudget,
    result: ForkRunResult,
) -> tuple[list[Sequence[ForkJob]], str | None]:
    """The groups, in order, while the forks they would play fit the episode budget (as one
    process takes them; forks already published clean cost nothing), and why it stopped."""
    if budget.episodes is None:
        return list(groups), result.stopped
    spent = ForkRunResult(result.run_id, spent_episodes=result.spent_episodes)
    taken: list[Sequence[ForkJob]] = []
    for group in groups:
        new = sum(1 for job in group if done.get(job.fork_id) != "ok")
        stop = over_budget(dataclasses.replace(budget, usd=None), spent, new)
        if stop:
            return taken, stop
        spent.spent_episodes += new
        taken.append(group)
    return taken, result.stopped


def split_usd(budget: ForkBudget, result: ForkRunResult, count: int) -> list[ForkBudget]:
    """Each share's budget: no episode limit (the groups were chosen to fit it), and an even
    part of the USD left after ``result``'s spending."""
    left = None if budget.usd is None else max(0.0, budget.usd - result.spent_usd) / count
    return [dataclasses.replace(budget, episodes=None, usd=left) for _ in range(count)]


def _gather(result: ForkRunResult, shares: list[ForkRunResult], budget: ForkBudget) -> None:
    for share in shares:
        result.rows += share.rows
        result.skipped += share.skipped
        result.failed += share.failed
        result.spent_episodes += share.spent_episodes
        result.spent_usd += share.spent_usd
    if any(share.stopped for share in shares) and budget.usd is not None:
        spent = f"${result.spent_usd:.4f} of the ${budget.usd:g} budget"
        result.stopped = f"stopped: the forks' model calls cost {spent}"


def _published(root: Path, run_id: str) -> set[str]:
    """Forks of the run published so far (progress across machines)."""
    if remote_of(root) is not None:
        return published_in_store(root, run_id)
    return set(scan_run(Layout(root).run_dir(run_id)).episodes())
