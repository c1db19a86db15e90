"""The causal value of a memory decision: what keeping it, rather than dropping it, changed.

Mining's signals are correlations in the log (was a line read later, did progress follow). The
games are deterministic given the seed and the actions, so a decision can be tested instead: its
episode is forked at the step after it twice, once with the memory as logged and once with the
decision dropped (its ops not applied, ``run/fork_edit.py``), and both forks play on for the
same horizon with the same scaffold and clients. The causal value is the mean paired difference
of progression at the horizon (kept − dropped, ×100 like every progression shown), with its
standard error over K pairs (with one pair there is none: it is exact when the clients are
deterministic, as the embedded players are); the paired reward difference comes with it.

Only LOG turns that wrote to memory are measured: a PLAN consultation only reads, so dropping it
changes no memory, and a LOG turn that wrote nothing leaves nothing to drop. The action taken at
the decision's own step is replayed as logged, so what is measured is the decision's effect on
the steps after it. Forks of one sweep form one fork run per (game, scaffold version, model
settings); the kept forks of decisions at the same step of an episode are shared. A sweep
resumes like a run: forks already published are not played again.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from automem_core.analysis.decision_table import load_decisions
from automem_core.analysis.runs import load_episodes
from automem_core.llm.config import ModelConfig
from automem_core.run.fork import (
    ForkJob,
    ForkSetup,
    Parent,
    load_parent,
    parent_models,
    parent_scaffold,
    settings_hash,
)
from automem_core.run.fork_edit import NO_EDIT, drop
from automem_core.run.fork_play import Clients, ForkBudget, ForkCluster, run_forks
from automem_core.store.layout import check_id
from automem_core.store.record_rows import CausalValueRow
from automem_core.store.records import append_records
from automem_core.store.schema import utc_now

DEFAULT_HORIZON = 50
WRITE_OPS = ("APPEND", "WRITE", "CREATE", "UPSERT", "UPSERT_MAP", "REPLACE", "DELETE")


@dataclass(frozen=True)
class CausalConfig:
    horizon: int = DEFAULT_HORIZON
    samples: int = 1
    limit: int | None = None  # at most this many decisions (a stable spread over the runs)
    model: ModelConfig | None = None  # None: each parent run's own model settings
    concurrency: int = 4
    budget: ForkBudget = field(default_factory=ForkBudget)


@dataclass
class CausalResult:
    values: list[CausalValueRow] = field(default_factory=list)
    fork_runs: list[str] = field(default_factory=list)
    forks_played: int = 0
    forks_skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (fork id, one-line reason)
    stopped: str | None = None
    chosen: int = 0


def measurable(decisions: pd.DataFrame) -> pd.DataFrame:
    """The decisions a fork can test: LOG turns that wrote to memory."""
    if decisions.empty:
        return decisions
    wrote = decisions["op_kinds"].map(lambda kinds: any(k in WRITE_OPS for k in list(kinds)))
    return decisions[(decisions["phase"] == "log") & wrote]


def choose(decisions: pd.DataFrame, run_ids: Sequence[str], limit: int | None) -> pd.DataFrame:
    """The measurable decisions of ``run_ids`` in a stable order that spreads over episodes and
    steps (by a hash of their id), the first ``limit`` of them."""
    found = measurable(decisions[decisions["run_id"].isin(list(run_ids))])
    order = found["decision_id"].map(lambda d: hashlib.sha256(str(d).encode()).hexdigest())
    found = found.assign(_order=order).sort_values("_order").drop(columns=["_order"])
    return found.head(limit) if limit else found


@dataclass
class _Group:
    """The decisions one fork run measures (same game, scaffold version, model settings)."""

    game: str
    parent: Parent  # any one of its parents, for its scaffold and model
    decisions: list[tuple[dict[str, Any], Parent]] = field(default_factory=list)


def _groups(
    root: Path, chosen: pd.DataFrame, model: ModelConfig | None
) -> tuple[list[_Group], list[tuple[str, str]]]:
    parents: dict[str, Parent] = {}
    groups: dict[tuple[str, str, str], _Group] = {}
    skipped: list[tuple[str, str]] = []
    for d in chosen.to_dict("records"):
        eid = str(d["episode_id"])
        parent = parents.get(eid) or parents.setdefault(eid, load_parent(root, eid))
        if parent.episode.get("parent_episode_id"):
            skipped.append((str(d["decision_id"]), "it is in a fork; measure its parent's"))
            continue
        if int(d["step"]) + 1 >= parent.steps:
            skipped.append((str(d["decision_id"]), "no step follows it in its episode"))
            continue
        models = model.public_dict() if model else str(parent.run.get("model_config_json"))
        key = (str(d["game"]), parent.version, json.dumps(models, sort_keys=True, default=str))
        group = groups.setdefault(key, _Group(str(d["game"]), parent))
        group.decisions.append((d, parent))
    return list(groups.values()), skipped


def _fork_ids(run_id: str, d: dict[str, Any], k: int) -> tuple[str, str]:
    """(kept fork id, dropped fork id) of sample ``k`` of decision ``d``."""
    parent = hashlib.sha256(str(d["episode_id"]).encode()).hexdigest()[:6]
    base = f"{run_id}.{d['task']}.s{d['seed']}.{parent}.t{int(d['step']) + 1}"
    return f"{base}.keep.k{k}", f"{base}.drop-{d['phase']}{d['turn']}.k{k}"


def _plan(
    group: _Group, config: CausalConfig, root: Path
) -> tuple[ForkSetup, list[list[ForkJob]], str]:
    memory, action = (config.model, None) if config.model else parent_models(group.parent)
    scaffold = parent_scaffold(root, group.parent)
    identity = {
        "kind": "causal",
        "scaffold": scaffold.content_hash,
        "model": memory.public_dict(),
        "action_model": action.public_dict() if action else None,
        "horizon": config.horizon,
        "samples": config.samples,
        "decisions": sorted(str(d["decision_id"]) for d, _ in group.decisions),
    }
    settings = settings_hash(identity)
    run_id = check_id(f"causal-{group.game}-{settings[:10]}", "run id")
    setup = ForkSetup(run_id, group.game, scaffold, memory, action)
    jobs = []
    # Played in step order per episode: each fork's replay starts from the one before it.
    for d, parent in sorted(group.decisions, key=lambda g: (str(g[0]["episode_id"]), g[0]["step"])):
        step = int(d["step"]) + 1
        pairs = []
        for k in range(config.samples):
            kept, dropped = _fork_ids(run_id, d, k)
            pairs += [
                ForkJob(kept, parent, step, NO_EDIT, config.horizon),
                ForkJob(dropped, parent, step, drop(str(d["decision_id"])), config.horizon),
            ]
        jobs.append(pairs)
    return setup, jobs, settings


def _mean_se(values: list[float]) -> tuple[float, float | None]:
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, None
    return mean, statistics.stdev(values) / math.sqrt(len(values))


def _value(
    d: dict[str, Any],
    setup: ForkSetup,
    config: CausalConfig,
    episodes: dict[str, dict[str, Any]],
    client: str,
) -> CausalValueRow | None:
    """The decision's causal value from its published pairs (None: no pair ended clean)."""
    kept, dropped, progress, reward = [], [], [], []
    for k in range(config.samples):
        a, b = (episodes.get(i) for i in _fork_ids(setup.run_id, d, k))
        if a is None or b is None or a["status"] != "ok" or b["status"] != "ok":
            continue
        kept.append(str(a["episode_id"]))
        dropped.append(str(b["episode_id"]))
        progress.append(100 * (float(a["progression"]) - float(b["progression"])))
        reward.append(float(a["total_reward"]) - float(b["total_reward"]))
    if not progress:
        return None
    value, stderr = _mean_se(progress)
    reward_value, reward_stderr = _mean_se(reward)
    return CausalValueRow(
        causal_id=uuid.uuid4().hex,
        decision_id=str(d["decision_id"]),
        run_id=str(d["run_id"]),
        fork_run_id=setup.run_id,
        fork_step=int(d["step"]) + 1,
        horizon=config.horizon,
        samples=len(progress),
        causal_value=round(value, 6),
        causal_stderr=None if stderr is None else round(stderr, 6),
        reward_value=round(reward_value, 6),
        reward_stderr=None if reward_stderr is None else round(reward_stderr, 6),
        kept_episodes=kept,
        dropped_episodes=dropped,
        memory_client=client,
        scaffold_version=setup.scaffold.version,
        created_at=utc_now(),
    )


async def measure(
    root: Path,
    run_ids: Sequence[str],
    config: CausalConfig,
    progress: bool = True,
    clients: Clients | None = None,
    cluster: ForkCluster | None = None,
) -> CausalResult:
    """Fork the chosen decisions of ``run_ids`` (mined first) kept and dropped, and record
    their causal values. ``clients`` replaces the model clients (tests, benchmarks);
    ``cluster``: the forks play there (``fork_ray.py``)."""
    chosen = choose(load_decisions(root), run_ids, config.limit)
    result = CausalResult(chosen=len(chosen))
    groups, skipped = _groups(root, chosen, config.model)
    result.failed += skipped
    for group in groups:
        setup, jobs, settings = _plan(group, config, root)
        played = await run_forks(
            root, setup, jobs, settings, concurrency=config.concurrency, progress=progress,
            clients=clients, budget=config.budget, cluster=cluster,
        )  # fmt: skip
        result.fork_runs.append(setup.run_id)
        result.forks_played += len(played.rows)
        result.forks_skipped += played.skipped
        result.failed += played.failed
        episodes = {
            str(e["episode_id"]): e for e in load_episodes(root, setup.run_id).to_dict("records")
        }
        rows = [
            _value(d, setup, config, episodes, played.memory_client) for d, _ in group.decisions
        ]
        result.values += [r for r in rows if r is not None]
        if played.stopped:
            result.stopped = played.stopped
            break
    append_records(root, "causal_values", result.values)
    return result


def describe_value(row: dict[str, Any]) -> str:
    """A causal value as the CLI and the judge show it: ``+4.5 ±1.2 (h50, 3 pairs)``."""
    value = row.get("causal_value")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    stderr = row.get("causal_stderr")
    missing = stderr is None or (isinstance(stderr, float) and math.isnan(stderr))
    se = "" if missing else f" ±{stderr:.1f}"
    pairs = int(row["causal_samples"])
    return f"{value:+.1f}{se} (h{int(row['causal_horizon'])}, {pairs} pair{'s' * (pairs != 1)})"


def causal_line(row: dict[str, Any]) -> str | None:
    """What the judge reads about a decision's measured causal value (None: not measured)."""
    value = row.get("causal_value")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    reward = row.get("causal_reward")
    rewarded = "" if reward is None or reward != reward else f" and reward by {reward:+g}"
    return (
        "MEASURED EFFECT (forks of the episode from the next step, kept vs dropped): keeping "
        f"this decision changed progression by {describe_value(row)} points{rewarded} over "
        "the horizon"
    )
