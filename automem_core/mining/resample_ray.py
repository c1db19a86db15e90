"""Resampling decisions on a Ray cluster: ``automem mine --resample K --executor ray``.

The decisions are split into interleaved shares, one Ray task each, spread over the cluster's
nodes (as ``run/fork_ray.py`` splits forks). Each share finds its decisions' episodes and
scaffold versions in the store as its node sees it (its own mirror of a store on object
storage), asks the model for the samples the store does not hold yet, many at a time as one
process does, and appends its alternatives to the store itself, a few at a time. A share that
Ray runs again after its worker or node was lost finds what its lost attempt appended and asks
only for the rest (``resample.py``): no decision gets more than K samples from the model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from automem_core.llm.config import ModelConfig
from automem_core.mining.resample import Resampled, check_model, resample
from automem_core.run.ray_executor import (
    MAX_RETRIES,
    ClusterError,
    await_shares,
    connect,
    import_ray,
)
from automem_core.store.remote import open_root, remote_of
from automem_core.store.remote_pull import pull


def resample_share(
    store: str,
    decisions: list[dict[str, Any]],
    model: ModelConfig,
    samples: int,
    prices: tuple[float, float],
    concurrency: int,
) -> Resampled:
    """One Ray task: the share's decisions resampled into the store (see the module's note)."""
    root = open_root(store)
    if remote_of(root) is not None:
        pull(root)  # the episodes, versions, and what a lost attempt of this share appended
    return asyncio.run(resample(root, decisions, model, samples, *prices, concurrency))


def resample_on_ray(
    root: Path,
    decisions: Sequence[dict[str, Any]],
    model: ModelConfig,
    samples: int,
    *,
    address: str | None = None,
    prices: tuple[float, float] = (0.0, 0.0),
    concurrency: int = 4,
    shares: int | None = None,
    progress: bool = True,
    max_retries: int = MAX_RETRIES,
) -> Resampled:
    """:func:`resample` of ``decisions`` on the Ray cluster at ``address`` (or a local one
    started for the command), in ``shares`` tasks (default: one per CPU of the cluster)."""
    check_model(model)  # before the cluster starts
    if not decisions:
        return Resampled()
    ray = import_ray()
    started = connect(ray, address)
    try:
        found = _shares(ray, root, list(decisions), model, samples, prices, concurrency, shares,
                        progress, max_retries)  # fmt: skip
    finally:
        if started:
            ray.shutdown()
    total = Resampled()
    for share in found:
        total.add(share)
    return total


def _shares(ray: Any, root: Path, decisions: list[dict[str, Any]], model: ModelConfig,
            samples: int, prices: tuple[float, float], concurrency: int, shares: int | None,
            progress: bool, max_retries: int) -> list[Resampled]:  # fmt: skip
    """What each share's task returned (the decisions split between one task per CPU)."""
    remote = remote_of(root)
    store = remote.url if remote else str(Path(root).resolve())
    count = max(1, min(shares or int(ray.cluster_resources().get("CPU", 1)), len(decisions)))
    task = ray.remote(resample_share).options(
        num_cpus=1, max_retries=max_retries, scheduling_strategy="SPREAD"
    )
    parts = [decisions[i::count] for i in range(count)]
    refs = [task.remote(store, part, model, samples, prices, concurrency) for part in parts]
    sizes = {ref: len(part) * samples for ref, part in zip(refs, parts, strict=True)}

    def finished() -> int:  # the bar moves as whole shares end
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        return sum(sizes[ref] for ref in ready)

    bar = tqdm(total=len(decisions) * samples, desc=f"resample ray×{count}", unit="sample",
               disable=not progress)  # fmt: skip
    with bar:
        try:
            found = asyncio.run(await_shares(ray, refs, "resample", max_retries + 1, bar, finished))
        except ClusterError:
            raise ClusterError(
                f"a share of the resampling was lost with its Ray worker {max_retries + 1} "
                "times; the alternatives appended so far are kept: run the same command again "
                "to ask for the rest"
            ) from None
    if remote is not None:
        pull(root)  # what shares on other machines appended, into this mirror
    return found
