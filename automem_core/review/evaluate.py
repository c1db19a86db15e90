"""Playing scaffold versions on the loop's seed sets, and the gate's verdict on a proposal.

Three seed sets keep Loop 1 honest: the reviewer reads episodes of the ``review`` set, the gate
compares a candidate with its parent on the ``gating`` set, and accepted versions are reported
on the ``heldout`` set, which never gates. The sets must be disjoint (unless ``same_seeds``, as
the paper did, which the lineage then records). A version plays a seed set as an ordinary run
(named by the settings, so the parent's results on the same seeds and model settings are reused,
not replayed).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from automem_core.analysis.runs import load_episodes
from automem_core.errors import AutoMemError
from automem_core.llm.config import ModelConfig
from automem_core.review.gate import GateResult, Rule, paired_gate
from automem_core.review.proposals import latest, record
from automem_core.run.config import make_run_config
from automem_core.run.executor_kinds import ExecutorKind
from automem_core.run.runner import run
from automem_core.store.record_rows import EvaluationRow, ProposalRow, SeedSet
from automem_core.store.records import append_records
from automem_core.store.schema import utc_now


class LoopSettingsError(AutoMemError, ValueError):
    """Loop settings that would make the numbers misleading; the message says how to fix them."""


@dataclass(frozen=True)
class LoopSettings:
    """How Loop 1 plays versions: the game, its tasks, the seed sets, the model, the gate."""

    game: str
    tasks: tuple[str, ...]
    seeds: dict[str, tuple[int, ...]]  # "review" | "gating" | "heldout" → seeds
    model: ModelConfig = field(default_factory=ModelConfig)
    max_steps: int | None = None
    concurrency: int = 4
    workers: int = 1
    executor: ExecutorKind = "local"  # who plays the runs (run/executors.py)
    ray_address: str | None = None
    rule: Rule = "strict"
    same_seeds: bool = False
    progress: bool = False  # a progress bar per run played

    def check(self) -> None:
        names = ("review", "gating", "heldout")
        missing = [n for n in names if not self.seeds.get(n)]
        if missing:
            raise LoopSettingsError(f"give the {', '.join(missing)} seeds (--{missing[0]}-seeds)")
        if self.same_seeds:
            return
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                shared = sorted(set(self.seeds[a]) & set(self.seeds[b]))
                if shared:
                    raise LoopSettingsError(
                        f"the {a} and {b} seeds share {', '.join(map(str, shared[:8]))}: the "
                        "gate must not test on seeds that inspired a proposal; use disjoint "
                        "sets, or --same-seeds (recorded in the lineage)"
                    )


async def play(root: Path, settings: LoopSettings, version: str, seed_set: SeedSet) -> str:
    """Play ``version`` (a stored ``id@hash8``, a built-in id or a folder) on a seed set;
    returns the run id (an earlier run with the same settings is resumed, not replayed)."""
    cfg = make_run_config(
        game=settings.game,
        tasks=settings.tasks,
        seeds=settings.seeds[seed_set],
        seed_set=seed_set,
        data=root,
        scaffold=version,
        model=settings.model,
        max_steps=settings.max_steps,
        concurrency=settings.concurrency,
        workers=settings.workers,
        executor=settings.executor,
        ray_address=settings.ray_address,
    )
    return (await run(cfg, progress=settings.progress)).run_id


def _results(root: Path, run_id: str) -> pd.DataFrame:
    return load_episodes(root, run_id)[["task", "seed", "status", "progression"]]


def evaluation_row(
    gate: GateResult,
    *,
    proposal_id: str | None,
    version: str,
    parent_version: str | None,
    seed_set: str,
    run_id: str,
    parent_run_id: str | None,
    verdict: str,
) -> EvaluationRow:
    return EvaluationRow(
        evaluation_id=f"e-{uuid.uuid4().hex[:10]}",
        proposal_id=proposal_id,
        version=version,
        parent_version=parent_version,
        seed_set=seed_set,  # type: ignore[arg-type]
        run_id=run_id,
        parent_run_id=parent_run_id,
        rule=gate.rule,
        pairs=gate.pairs,
        dropped_pairs=gate.dropped,
        mean=gate.mean,
        parent_mean=gate.parent_mean,
        delta=gate.delta,
        delta_stderr=gate.stderr,
        delta_low=gate.low,
        delta_high=gate.high,
        degraded=gate.degraded,
        parent_degraded=gate.parent_degraded,
        verdict=verdict,
        reason=gate.reason,
        pairs_json=gate.pairs_json(),
        created_at=utc_now(),
    )


async def gate_proposal(root: Path, settings: LoopSettings, proposal_id: str) -> EvaluationRow:
    """Play an approved proposal's candidate and its parent on the gating seeds, apply the
    gate, record the evaluation and the proposal's ``accepted`` / ``declined``."""
    current = latest(root, proposal_id)
    if current.event not in ("approved", "edited") or current.candidate_version is None:
        raise LoopSettingsError(f"proposal {proposal_id} is {current.event}, not approved")
    candidate_run = await play(root, settings, current.candidate_version, "gating")
    parent_run = await play(root, settings, current.parent_version, "gating")
    gate = paired_gate(_results(root, candidate_run), _results(root, parent_run), settings.rule)
    verdict = "accepted" if gate.accepted else "declined"  # the words of the proposal's states
    row = evaluation_row(
        gate, proposal_id=proposal_id, version=current.candidate_version,
        parent_version=current.parent_version, seed_set="gating", run_id=candidate_run,
        parent_run_id=parent_run, verdict=verdict,
    )  # fmt: skip
    append_records(root, "evaluations", [row])
    event: ProposalRow = ProposalRow(**{
        **current.__dict__, "event": "accepted" if gate.accepted else "declined",
        "author": "gate", "reason": gate.reason, "created_at": utc_now(),
        "same_seeds": current.same_seeds or settings.same_seeds,  # the lineage marks it
    })  # fmt: skip
    record(root, [event])
    return row


async def report_heldout(
    root: Path, settings: LoopSettings, version: str, parent: str | None, proposal_id: str | None
) -> EvaluationRow:
    """Play a version (and its parent) on the held-out seeds and record the numbers; the
    held-out set never gates."""
    run_id = await play(root, settings, version, "heldout")
    parent_run = await play(root, settings, parent, "heldout") if parent else None
    mine = _results(root, run_id)
    theirs = _results(root, parent_run) if parent_run else mine.iloc[0:0]
    gate = paired_gate(mine, theirs if parent_run else mine, settings.rule)
    return _report(root, gate, proposal_id, version, parent, run_id, parent_run)


def _report(
    root: Path,
    gate: GateResult,
    proposal_id: str | None,
    version: str,
    parent: str | None,
    run_id: str,
    parent_run: str | None,
) -> EvaluationRow:
    row = evaluation_row(
        gate, proposal_id=proposal_id, version=version, parent_version=parent,
        seed_set="heldout", run_id=run_id, parent_run_id=parent_run, verdict="reported",
    )  # fmt: skip
    append_records(root, "evaluations", [row])
    return row
