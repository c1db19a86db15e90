"""Moving in Crafter for the embedded player: what a step would run into, heading for an
offset or a seen thing (digging through what its pickaxe can mine), and exploring."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from automem_core.llm.embedded.crafter_memory import CrafterMemory
from automem_core.llm.embedded.crafter_view import (
    COMPASS,
    GROUND,
    MOVES,
    OBSTACLES,
    CrafterObs,
    Sighting,
    near_lava,
)

EXPLORE_ORDER: tuple[str, ...] = ("north", "east", "south", "west")
EXPLORE_PERIOD = 25  # steps before the exploring heading turns
MINED_WITH = {
    "stone": "wood_pickaxe",
    "coal": "wood_pickaxe",
    "iron": "stone_pickaxe",
    "diamond": "iron_pickaxe",
}
SIDESTEP_PERIOD = 20  # steps one keeps going round an obstacle on the same side
DEFAULT_ACTION = "Noop"


@dataclass(frozen=True)
class Ctx:
    obs: CrafterObs
    step: int
    stuck: bool
    furnace_stone: int
    mem: CrafterMemory | None = None
    facing_dir: str | None = None  # the way the last move went, once actions_log was read

    def inv(self, item: str) -> int:
        return self.obs.inventory.get(item, 0)


Rule = Callable[[Ctx], str | None]


# ----------------------------------------------------------------------------- moving


def blocked(ctx: Ctx, direction: str) -> bool:
    """Whether a step ``direction`` is known to hit an obstacle (or lava, which kills): one
    listed a step away, or the one faced when the last move (from actions_log) went that way."""
    if near_lava(ctx.obs, direction) or ctx.obs.at(direction) & OBSTACLES:
        return True
    return direction == ctx.facing_dir and ctx.obs.facing not in GROUND


def toward(ctx: Ctx, dx: int, dy: int) -> str | None:
    """A move that shortens the offset (dx east, dy south), alternating axes by step parity."""
    vertical = [("south" if dy > 0 else "north")] if dy else []
    horizontal = [("east" if dx > 0 else "west")] if dx else []
    first, second = (vertical, horizontal) if ctx.step % 2 == 0 else (horizontal, vertical)
    options = first + second
    if len(options) == 1:  # on an axis: step aside when the way is blocked
        side = ["east", "west"] if vertical else ["south", "north"]
        options += side if (ctx.step // SIDESTEP_PERIOD) % 2 == 0 else side[::-1]
    for direction in options:
        if direction == ctx.facing_dir and mineable(ctx):
            return "Do"  # dig through rather than walk round
        if not blocked(ctx, direction):
            return MOVES[direction]
    return None


def mineable(ctx: Ctx) -> bool:
    """Whether ``Do`` would clear what the player faces (it becomes a path)."""
    tool = MINED_WITH.get(ctx.obs.facing)
    return tool is not None and ctx.inv(tool) > 0


def approach(ctx: Ctx, sighting: Sighting) -> str | None:
    """Walk to a seen thing, turn to face it, then ``Do`` (collect, drink, eat or hit)."""
    if ctx.obs.facing == sighting.kind:
        return "Do"
    if sighting.distance == 1:
        return MOVES[sighting.directions[0]]
    dx = sum(COMPASS[d][0] for d in sighting.directions)
    dy = sum(COMPASS[d][1] for d in sighting.directions)
    return toward(ctx, dx, dy)


def explore(ctx: Ctx) -> str:
    """A heading that turns every EXPLORE_PERIOD steps; obstacles and stuck spells rotate it."""
    base = (ctx.step // EXPLORE_PERIOD) % 4
    if ctx.stuck:
        base = (base + 1 + ctx.step // 3) % 4
    for k in range(4):
        direction = EXPLORE_ORDER[(base + k) % 4]
        if not blocked(ctx, direction):
            return MOVES[direction]
    return DEFAULT_ACTION
