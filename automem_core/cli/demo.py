"""What ``automem demo`` adds after its games, so every page has something to show.

Loop 2: the demo's Crafter run is mined, so decisions wait to be labelled. Loop 1: a short
``optimize`` loop on Crafter proposes a revision and gates it (approved by the loop itself, as
``--auto-approve`` does), so the lineage and a gate's pairs exist; then the reviewer proposes a
second revision of the current version, left waiting for a person on the Revisions page, with
the loop's seed sets and step cap (so "Run the gate" there plays as the loop would).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from automem_core.mining.mine import mine
from automem_core.review.embedded import EmbeddedReviewer
from automem_core.review.evaluate import LoopSettings, play
from automem_core.review.optimize import OptimizeConfig, load_state, optimize, save
from automem_core.review.review import review
from automem_core.scaffold import resolve_scaffold

LOOP_ID = "demo-crafter"
SETTINGS = LoopSettings(
    game="crafter",
    tasks=("default",),
    seeds={"review": (10,), "gating": tuple(range(100, 106)), "heldout": (200, 201)},
    max_steps=100,
)


def seed_loops(root: Path, crafter_run: str, say: Callable[[str], None]) -> None:
    """Mine ``crafter_run``; one gated proposal and one waiting (see the module doc)."""
    mined = mine(root, [crafter_run])
    say(f"demo: mined {mined.decisions} decisions of {crafter_run} (label them on Label)")
    config = OptimizeConfig(
        settings=SETTINGS, reviewer=EmbeddedReviewer(), start="crafter-v0", iterations=1,
        auto_approve=True, loop_id=LOOP_ID,
    )  # fmt: skip
    state = asyncio.run(optimize(root, config, say=lambda line: None))
    say(f"demo: Loop 1 gated a revision of crafter-v0; the current version is {state.current}")
    if state.pending is not None or state.iteration > 1:
        return  # a demo seeded before: nothing more to add
    review_run = asyncio.run(play(root, SETTINGS, state.current, "review"))
    parent = resolve_scaffold(state.current, SETTINGS.game, root)
    row = asyncio.run(review(root, EmbeddedReviewer(), parent, [review_run]))
    again = load_state(root, LOOP_ID)
    if row is None or again is None:
        return
    again.pending, again.finished = row.proposal_id, False
    again.runs = [*again.runs, review_run]
    save(root, again)  # the waiting proposal is the loop's: its gate uses the loop's seeds
    say(f"demo: {row.proposal_id} waits for your decision on the Revisions page")
