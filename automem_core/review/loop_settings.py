"""Which seeds and step cap a proposal is gated on, when nobody says.

A proposal is gated on the seed sets of the loop that made it: ``automem optimize`` records its
settings in its state file, so ``automem evaluate`` (and the Revisions page's "Run the gate") use
the same gating and held-out seeds and the same step cap. A proposal made outside a loop (by
``automem review``) is gated on the project's default sets. Either way, the gating and held-out
seeds may not share a seed with the runs the reviewer read, unless ``same_seeds`` says so (the
lineage then marks it): a gate that tests on the seeds that inspired a proposal measures
nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from automem_core.review.evaluate import LoopSettingsError
from automem_core.store.reader import query_store
from automem_core.store.record_rows import ProposalRow

DEFAULT_SEEDS: dict[str, tuple[int, ...]] = {
    "review": tuple(range(0, 5)),
    "gating": tuple(range(100, 110)),
    "heldout": tuple(range(200, 210)),
}


@dataclass(frozen=True)
class GateSeeds:
    """The seed sets and step cap a gate uses, and where they came from."""

    seeds: dict[str, tuple[int, ...]]  # review / gating / heldout
    max_steps: int | None
    tasks: tuple[str, ...] | None
    source: str  # "flags", "loop <id>" or "defaults"


def loop_settings_for(root: Path, proposal: ProposalRow) -> tuple[str, dict[str, Any]] | None:
    """(loop id, its recorded settings) of the loop that made ``proposal``, if any."""
    folder = Path(root) / "loops"
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("*.json")):
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        settings = state.get("settings")
        if not isinstance(settings, dict):
            continue
        mine = state.get("pending") == proposal.proposal_id or (
            proposal.review_runs and set(proposal.review_runs) <= set(state.get("runs") or [])
        )
        if mine:
            return str(state.get("loop_id", path.stem)), settings
    return None


def review_seeds(root: Path, run_ids: Sequence[str]) -> set[int]:
    """Every seed of the runs the reviewer read."""
    if not run_ids:
        return set()

    def query(con: duckdb.DuckDBPyConnection) -> set[int]:
        rows = con.execute("SELECT seeds FROM runs WHERE list_contains(?, run_id)",
                           [list(run_ids)]).fetchall()  # fmt: skip
        return {int(s) for (seeds,) in rows for s in seeds}

    return query_store(root, query, tables=("runs",))


def gate_seeds(
    root: Path,
    proposal: ProposalRow,
    flags: Mapping[str, tuple[int, ...] | None],
    max_steps: int | None,
) -> GateSeeds:
    """The seed sets for gating ``proposal``: each set given as a flag, else the loop's recorded
    one, else the default; the step cap likewise."""
    recorded = loop_settings_for(root, proposal)
    loop_seeds = (
        {k: tuple(v) for k, v in (recorded[1].get("seeds") or {}).items()} if recorded else {}
    )
    seeds: dict[str, tuple[int, ...]] = {}
    for name in DEFAULT_SEEDS:
        given = flags.get(name)
        seeds[name] = tuple(given) if given else loop_seeds.get(name) or DEFAULT_SEEDS[name]
    if any(flags.get(n) for n in DEFAULT_SEEDS):
        source = "flags"
    else:
        source = f"loop {recorded[0]}" if recorded else "defaults"
    steps = (
        max_steps if max_steps is not None else (recorded[1].get("max_steps") if recorded else None)
    )
    tasks = tuple(recorded[1]["tasks"]) if recorded and recorded[1].get("tasks") else None
    return GateSeeds(seeds, steps, tasks, source)


def check_review_overlap(root: Path, proposal: ProposalRow, chosen: GateSeeds,
                         same_seeds: bool) -> set[int]:  # fmt: skip
    """Refuse gating or held-out seeds that the reviewed runs played (unless ``same_seeds``,
    then return them so the lineage can mark it)."""
    read = review_seeds(root, proposal.review_runs)
    shared = sorted(read & (set(chosen.seeds["gating"]) | set(chosen.seeds["heldout"])))
    if shared and not same_seeds and not proposal.same_seeds:
        listed = ", ".join(map(str, shared[:10])) + (" …" if len(shared) > 10 else "")
        raise LoopSettingsError(
            f"the gating or held-out seeds include seeds the reviewer read ({listed}); the "
            "gate must not test on the seeds that inspired the proposal: choose other "
            "--gating-seeds/--heldout-seeds, or pass --same-seeds (recorded in the lineage)"
        )
    return set(shared)
