"""``automem optimize``: Loop 1, unattended.

Each iteration plays the current version on the ``review`` seeds, asks the reviewer for one
proposal, waits for a person's decision in the dashboard (or approves it itself with
``auto_approve``), gates an approved candidate against its parent on the ``gating`` seeds, and
reports an accepted one on the ``heldout`` seeds, where it becomes the current version. The
loop's state is a small file (``data/loops/<loop>.json``) written after every phase, and every
run it plays resumes, so a killed loop picks up where it stopped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from automem_core.analysis.runs import load_episodes, load_run_costs
from automem_core.review.evaluate import LoopSettings, gate_proposal, play, report_heldout
from automem_core.review.proposals import APPROVED, approve, latest, load_proposals
from automem_core.review.review import Reviewer, review
from automem_core.scaffold import resolve_scaffold, store_version
from automem_core.store.record_rows import SeedSet

log = logging.getLogger(__name__)
Say = Callable[[str], None]


@dataclass
class LoopState:
    loop_id: str
    current: str  # the version the next review starts from
    iteration: int = 0
    pending: str | None = None  # the proposal being decided or gated
    runs: list[str] = field(default_factory=list)  # every run this loop played
    finished: bool = False
    settings: dict[str, Any] | None = None  # the seed sets, tasks and step cap the loop plays


def recorded(settings: LoopSettings) -> dict[str, Any]:
    """What a loop records of its settings, so a gate started elsewhere uses the same."""
    return {
        "tasks": list(settings.tasks),
        "seeds": {name: list(seeds) for name, seeds in settings.seeds.items()},
        "max_steps": settings.max_steps,
        "rule": settings.rule,
        "same_seeds": settings.same_seeds,
    }


def state_path(root: Path, loop_id: str) -> Path:
    return Path(root) / "loops" / f"{loop_id}.json"


def save(root: Path, state: LoopState) -> None:
    path = state_path(root, state.loop_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(asdict(state), indent=1), encoding="utf-8")
    os.replace(tmp, path)


def load_state(root: Path, loop_id: str) -> LoopState | None:
    path = state_path(root, loop_id)
    return LoopState(**json.loads(path.read_text(encoding="utf-8"))) if path.exists() else None


@dataclass(frozen=True)
class OptimizeConfig:
    settings: LoopSettings
    reviewer: Reviewer
    start: str  # a built-in id, a stored version id@hash8, or a folder
    iterations: int
    auto_approve: bool = False
    budget_episodes: int | None = None
    budget_usd: float | None = None
    loop_id: str | None = None
    poll_s: float = 2.0


def loop_id_for(config: OptimizeConfig) -> str:
    s = config.settings
    return config.loop_id or f"optimize-{s.game}-{config.start.replace('@', '-')}"


def _spent(root: Path, state: LoopState) -> tuple[int, float]:
    """(episodes played by this loop's runs, dollars spent: the reviewer's on its proposals and
    the agent's on its runs' episodes, at their model configs' prices)."""
    runs = list(dict.fromkeys(state.runs))
    episodes = sum(len(load_episodes(root, r)) for r in runs)
    proposals = load_proposals(root)
    mine = proposals[proposals["review_runs"].map(lambda r: bool(set(r) & set(state.runs)))]
    reviewer = float(mine["cost_usd"].sum()) if not mine.empty else 0.0
    agent = sum(load_run_costs(root, runs).values()) if runs else 0.0
    return episodes, reviewer + agent


async def _play(root: Path, config: OptimizeConfig, state: LoopState, version: str,
                seed_set: SeedSet) -> str:  # fmt: skip
    run_id = await play(root, config.settings, version, seed_set)
    if run_id not in state.runs:
        state.runs.append(run_id)
        save(root, state)
    return run_id


async def _wait(root: Path, proposal_id: str, poll_s: float, say: Say) -> str:
    """Wait until a person approves, edits or rejects the proposal; its new event."""
    say(f"waiting for a decision on {proposal_id} (approve or reject it on the Revisions page, "
        f"or `automem approve {proposal_id} --reason …`)")  # fmt: skip
    while (event := latest(root, proposal_id).event) == "proposed":
        await asyncio.sleep(poll_s)
    return event


async def _iteration(root: Path, config: OptimizeConfig, state: LoopState, say: Say) -> bool:
    """One iteration; False when the reviewer has nothing left to propose."""
    settings = config.settings
    if state.pending is None:
        review_run = await _play(root, config, state, state.current, "review")
        parent = resolve_scaffold(state.current, settings.game, root)
        row = await review(root, config.reviewer, parent, [review_run], settings.same_seeds)
        if row is None:
            say(f"iteration {state.iteration + 1}: the reviewer has nothing to propose")
            return False
        state.pending = row.proposal_id
        save(root, state)
        say(f"iteration {state.iteration + 1}: proposed {row.proposal_id}: {row.summary}")
    proposal = latest(root, state.pending)
    event: str = proposal.event
    if event == "proposed":
        if config.auto_approve:
            event = approve(root, proposal.proposal_id, "optimize", "--auto-approve").event
        else:
            event = await _wait(root, proposal.proposal_id, config.poll_s, say)
    if event in APPROVED:
        gated = await gate_proposal(root, settings, proposal.proposal_id)
        state.runs += [r for r in (gated.run_id, gated.parent_run_id) if r and r not in state.runs]
        event = "accepted" if gated.verdict == "accepted" else "declined"
        say(f"  gate: {event} ({gated.reason}; {gated.pairs} pairs, {gated.dropped_pairs} dropped)")
    if event == "accepted":
        candidate = str(latest(root, proposal.proposal_id).candidate_version)
        held = await report_heldout(root, settings, candidate, state.current, proposal.proposal_id)
        state.runs += [r for r in (held.run_id, held.parent_run_id) if r and r not in state.runs]
        say(f"  held-out: {held.mean:.1f} vs {held.parent_mean:.1f} for its parent")
        state.current = candidate
    elif event in ("rejected", "declined"):
        say(f"  {proposal.proposal_id} was {event}; {state.current} stays")
    state.pending = None
    state.iteration += 1
    save(root, state)
    return True


async def optimize(root: Path, config: OptimizeConfig, say: Say = log.info) -> LoopState:
    """Run (or resume) the loop for ``config.iterations`` iterations or until its budget ends."""
    config.settings.check()
    loop_id = loop_id_for(config)
    state = load_state(root, loop_id)
    if state is None:
        start = resolve_scaffold(config.start, config.settings.game, root)
        store_version(start, root)
        state = LoopState(loop_id, start.version, settings=recorded(config.settings))
        save(root, state)
    elif state.iteration:
        say(f"resuming {loop_id} at iteration {state.iteration + 1} from {state.current}")
    if state.settings is None:  # a state written before loops recorded their settings
        state.settings = recorded(config.settings)
        save(root, state)
    while state.iteration < config.iterations:
        episodes, dollars = _spent(root, state)
        if config.budget_episodes is not None and episodes >= config.budget_episodes:
            say(f"stopped: {episodes} episodes played, the budget was {config.budget_episodes}")
            break
        if config.budget_usd is not None and dollars >= config.budget_usd:
            say(
                f"stopped: ${dollars:.2f} spent (reviewer and agent), the budget was "
                f"${config.budget_usd}"
            )
            break
        if not await _iteration(root, config, state, say):
            break
    state.finished = True
    save(root, state)
    return state
