"""The Crafter player's own trail in ``actions_log``: one line per step that says where it is,
which way it faces, what blocks it and its vitals and inventory, so the next step can tell
what the last action did.

``Step N action 'X': <changes>; at (x,y) facing <dir> <thing>[; asleep]; blocked <dirs>
[health 9, food 8, …]``

Crafter's text never gives the position. With an auto-written status file the position is
exact; without one (the plain v0 scaffold) it is dead reckoning: a move counts when the player
now faces open ground, or when nothing was known to block it, so positions drift where a step
ran into something the observation did not list. The engine's own action log (the action-log
helper) says ``moved to (x,y)`` / ``stayed at (x,y)``, which is exact again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from automem_core.llm.embedded.crafter_view import (
    COMPASS,
    GROUND,
    CrafterObs,
    blocked_around,
    parse_snapshot,
    render_snapshot,
)

_STEP_RE = re.compile(r"^\s*step\s+(\d+)(?:\s+action\s+'(.*?)'\s*:|\s*:\s*(.*?)\s*->)", re.I)
_POS_RE = re.compile(r"\b(?:at|to)\s+\((-?\d+),\s*(-?\d+)\)")
_FACING_RE = re.compile(r"\bfacing\s+(north|south|east|west)\s+([a-z_]+)")
_BLOCKED_RE = re.compile(r"\bblocked\s+([a-z,]+)")
# What a placing action uses up, and the achievement it unlocks.
USES = {
    "Place Table": ("wood", "place_table"),
    "Place Furnace": ("stone", "place_furnace"),
    "Place Plant": ("sapling", "place_plant"),
    "Place Stone": ("stone", "place_stone"),
}
# Things whose count going up unlocks "collect_<thing>" the first time.
COLLECTED = ("wood", "stone", "coal", "iron", "diamond", "sapling", "drink")
MADE = (
    "wood_pickaxe",
    "stone_pickaxe",
    "iron_pickaxe",
    "wood_sword",
    "stone_sword",
    "iron_sword",
)


@dataclass(frozen=True)
class Track:
    """What one actions_log line says (fields it lacks are None or empty)."""

    step: int | None = None
    action: str | None = None
    pos: tuple[int, int] | None = None
    facing_dir: str | None = None
    facing: str | None = None
    blocked: frozenset[str] = frozenset()
    asleep: bool = False
    snapshot: dict[str, int] | None = None


def parse_track(line: str) -> Track:
    step = _STEP_RE.match(line)
    pos = _POS_RE.search(line)
    facing = _FACING_RE.search(line)
    blocked = _BLOCKED_RE.search(line)
    return Track(
        step=int(step.group(1)) if step else None,
        action=(step.group(2) or step.group(3)) if step else None,
        pos=(int(pos.group(1)), int(pos.group(2))) if pos else None,
        facing_dir=facing.group(1) if facing else None,
        facing=facing.group(2) if facing else None,
        blocked=frozenset(blocked.group(1).split(",")) if blocked else frozenset(),
        asleep="; asleep" in line,
        snapshot=parse_snapshot(line),
    )


def last_track(lines: Iterable[str]) -> Track | None:
    """The newest line that carries a position."""
    found = None
    for line in lines:
        track = parse_track(line)
        if track.pos is not None:
            found = track
    return found


def move_of(action: str | None) -> str | None:
    """The direction of a ``Move …`` action."""
    if action and action.startswith("Move "):
        direction = action.removeprefix("Move ").lower()
        return direction if direction in COMPASS else None
    return None


def moved(prev: Track | None, action: str | None, obs: CrafterObs) -> bool:
    """Whether ``action`` moved the player, judged from what it faces now and what the last
    line knew to block it."""
    direction = move_of(action)
    if direction is None or (prev is not None and prev.asleep):
        return False
    if obs.facing in GROUND:
        return True
    return prev is None or direction not in prev.blocked


def reckon(prev: Track | None, action: str | None, obs: CrafterObs) -> tuple[int, int]:
    """Where the player is now, from the last line's position and the action; the first
    step's position is the origin."""
    x, y = prev.pos if prev is not None and prev.pos is not None else (0, 0)
    direction = move_of(action)
    if direction is not None and moved(prev, action, obs):
        dx, dy = COMPASS[direction]
        return x + dx, y + dy
    return x, y


def facing_dir(prev: Track | None, action: str | None) -> str | None:
    return move_of(action) or (prev.facing_dir if prev is not None else None)


def render_track(
    step: int,
    action: str,
    changes: str,
    pos: tuple[int, int],
    direction: str | None,
    obs: CrafterObs,
) -> str:
    """The actions_log line for the action played at ``step``, as seen now."""
    blocked = set(blocked_around(obs))
    if direction is not None and obs.facing not in GROUND:
        blocked.add(direction)
    parts = [f"{changes}", f"at ({pos[0]},{pos[1]})"]
    if direction is not None:
        parts[-1] += f" facing {direction} {obs.facing}"
    if obs.sleeping:
        parts.append("asleep")
    if blocked:
        parts.append("blocked " + ",".join(sorted(blocked)))
    return f"Step {step} action '{action}': {'; '.join(parts)} {render_snapshot(obs)}"


def infer_achievements(prev: Track | None, action: str | None, obs: CrafterObs) -> list[str]:
    """Achievements the last action seems to have unlocked, from the counts in the last line
    against the observation (for scaffolds without a status file listing them)."""
    if prev is None or prev.snapshot is None:
        return []
    before = prev.snapshot
    now = {k: obs.vital(k) for k in ("health", "food", "drink", "energy")} | dict(obs.inventory)
    out = [f"collect_{k}" for k in COLLECTED if now.get(k, 0) > before.get(k, 0)]
    out += [f"make_{k}" for k in MADE if now.get(k, 0) > before.get(k, 0)]
    if action == "Do" and now.get("food", 0) > before.get("food", 0):
        out.append("eat_plant" if prev.facing == "plant" else "eat_cow")
    used = USES.get(action or "")
    if used is not None and now.get(used[0], 0) < before.get(used[0], 0):
        out.append(used[1])
    if prev.asleep and not obs.sleeping:
        out.append("wake_up")
    return list(dict.fromkeys(out))
