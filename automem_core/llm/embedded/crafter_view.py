"""Parsing Crafter's text observation and the Crafter memory lines the player writes and reads."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Offsets of the four compass words; y grows southwards, as in Crafter's world.
COMPASS: dict[str, tuple[int, int]] = {
    "north": (0, -1),
    "south": (0, 1),
    "west": (-1, 0),
    "east": (1, 0),
}
MOVES: dict[str, str] = {
    "north": "Move North",
    "south": "Move South",
    "west": "Move West",
    "east": "Move East",
}
VITALS: tuple[str, ...] = ("health", "food", "drink", "energy")
# Things that stop a step: moving towards one only turns the player to face it.
OBSTACLES = frozenset(
    [
        "water",
        "stone",
        "tree",
        "lava",
        "coal",
        "iron",
        "diamond",
        "table",
        "furnace",
        "plant",
        "cow",
        "zombie",
        "skeleton",
    ]
)
GROUND = frozenset({"nothing", "grass", "sand", "path"})
SCAN_ORDER: tuple[str, ...] = ("west", "north", "south", "east")  # neighbours in view order

_SEEN_RE = re.compile(r"^\s*-\s*([a-z][a-z _]*?)\s+(\d+)\s+steps?\s+to\s+your\s+([a-z-]+)", re.I)
_FACE_RE = re.compile(r"you face\s+([a-z][a-z _]*?)\s+at your front", re.I)
_VITAL_RE = re.compile(r"^\s*-\s*(health|food|drink|energy)\s*:\s*(\d+)", re.I | re.M)
_ITEM_RE = re.compile(r"^\s*-\s*([a-z][a-z _]*?)\s*:\s*(\d+)\s*$", re.I)
_POSITION_RE = re.compile(r"^\s*position\s*:\s*\(\s*(-?\d+)\s*,\s*(-?\d+)\s*\)", re.I)
_NOTE_RE = re.compile(
    r"^\s*([a-z][a-z _]*?)\s*:\s*(near|gone from)\s*\(\s*(-?\d+)\s*,\s*(-?\d+)\s*\)"
    r"(?:.*?step\s+(\d+))?",
    re.I,
)
_SNAPSHOT_RE = re.compile(r"\[([^\[\]]*)\]\s*$")
_PAIR_RE = re.compile(r"([a-z_]+)\s+(-?\d+)", re.I)


@dataclass(frozen=True)
class Sighting:
    """The nearest instance of one kind of thing: Manhattan distance and compass words."""

    kind: str
    distance: int
    directions: tuple[str, ...]  # e.g. ("north", "west"); one word when on an axis

    @property
    def on_axis(self) -> bool:
        return len(self.directions) == 1

    def estimate(self) -> tuple[int, int]:
        """An offset consistent with the text (exact on an axis, split evenly otherwise)."""
        if self.on_axis:
            ux, uy = COMPASS[self.directions[0]]
            return ux * self.distance, uy * self.distance
        sx = sum(COMPASS[d][0] for d in self.directions)
        sy = sum(COMPASS[d][1] for d in self.directions)
        first = (self.distance + 1) // 2
        return sx * first, sy * (self.distance - first)


@dataclass(frozen=True)
class CrafterObs:
    seen: dict[str, Sighting] = field(default_factory=dict)
    facing: str = "nothing"
    vitals: dict[str, int] = field(default_factory=dict)
    inventory: dict[str, int] = field(default_factory=dict)
    sleeping: bool = False

    def vital(self, name: str) -> int:
        return self.vitals.get(name, 9)

    def has(self, item: str, amount: int = 1) -> bool:
        return self.inventory.get(item, 0) >= amount

    def within(self, kind: str, distance: int) -> Sighting | None:
        sighting = self.seen.get(kind)
        return sighting if sighting is not None and sighting.distance <= distance else None

    def at(self, direction: str) -> set[str]:
        """Kinds known to be one step away in ``direction``."""
        return {
            s.kind for s in self.seen.values() if s.distance == 1 and s.directions == (direction,)
        }


def near_lava(obs: CrafterObs, direction: str) -> bool:
    """Whether lava may lie one step ``direction``. Only the nearest lava is listed, the first
    in the view's scan (west to east, then north to south), so a listed neighbour also hides
    lava in the neighbours that scan after it, unless another kind (ground included) is
    listed right there."""
    s = obs.seen.get("lava")
    if s is None or s.distance != 1:
        return False
    known = obs.at(direction)
    if known:
        return "lava" in known
    return SCAN_ORDER.index(direction) >= SCAN_ORDER.index(s.directions[0])


def blocked_around(obs: CrafterObs) -> frozenset[str]:
    """Directions a step would not go: an obstacle listed one step away, or lava maybe."""
    return frozenset(d for d in COMPASS if obs.at(d) & OBSTACLES or near_lava(obs, d))


def _norm(name: str) -> str:
    return re.sub(r"[\s_]+", "_", name.strip().lower())


def parse_crafter_observation(text: str) -> CrafterObs:
    """Everything a player needs from the BALROG-style Crafter text; missing parts stay empty."""
    seen: dict[str, Sighting] = {}
    inventory: dict[str, int] = {}
    in_inventory = False
    for line in text.split("\n"):
        low = line.strip().lower()
        if low.startswith("your inventory"):
            in_inventory = True
            continue
        if low.startswith(("you see", "your status", "you face")):
            in_inventory = False
        match = _SEEN_RE.match(line)
        if match is not None:
            kind = _norm(match.group(1))
            words = tuple(w for w in match.group(3).lower().split("-") if w in COMPASS)
            if kind not in seen and words:
                seen[kind] = Sighting(kind, int(match.group(2)), words)
            continue
        item = _ITEM_RE.match(line)
        if in_inventory and item is not None:
            inventory[_norm(item.group(1))] = int(item.group(2))
    face = _FACE_RE.search(text)
    vitals = {m.group(1).lower(): int(m.group(2)) for m in _VITAL_RE.finditer(text)}
    return CrafterObs(
        seen=seen,
        facing=_norm(face.group(1)) if face else "nothing",
        vitals=vitals,
        inventory=inventory,
        sleeping="you are sleeping" in text.lower(),
    )


@dataclass(frozen=True)
class Note:
    """A ``map_notes`` line: ``<thing>: near (x,y) at step N`` (or ``gone from (x,y)``)."""

    kind: str
    x: int
    y: int
    step: int | None
    gone: bool


def parse_note(line: str) -> Note | None:
    match = _NOTE_RE.match(line)
    if match is None:
        return None
    step = int(match.group(5)) if match.group(5) else None
    gone = match.group(2).lower() != "near"
    return Note(_norm(match.group(1)), int(match.group(3)), int(match.group(4)), step, gone)


def render_note(x: int, y: int, step: int) -> str:
    return f"near ({x},{y}) at step {step}"


def parse_position(lines: tuple[str, ...]) -> tuple[int, int] | None:
    for line in lines:
        match = _POSITION_RE.match(line)
        if match is not None:
            return int(match.group(1)), int(match.group(2))
    return None


def parse_listed(lines: tuple[str, ...], key: str) -> list[str]:
    """Comma-separated names after ``key:`` in a status line (e.g. ``achievements``)."""
    for line in lines:
        head, sep, rest = line.partition(":")
        if sep and head.strip().lower() == key:
            return [_norm(part.split()[0]) for part in rest.split(",") if part.strip()]
    return []


def render_snapshot(obs: CrafterObs) -> str:
    """Vitals and inventory as ``[health 9, food 8, wood 2]``, kept in actions_log lines."""
    pairs = [f"{k} {obs.vital(k)}" for k in VITALS] + [f"{k} {n}" for k, n in obs.inventory.items()]
    return f"[{', '.join(pairs)}]"


def parse_snapshot(line: str) -> dict[str, int] | None:
    match = _SNAPSHOT_RE.search(line)
    if match is None:
        return None
    return {m.group(1).lower(): int(m.group(2)) for m in _PAIR_RE.finditer(match.group(1))}


def describe_changes(before: dict[str, int] | None, obs: CrafterObs) -> str:
    """``wood 1->2, drink 5->6``; ``nothing`` when equal; ``unknown`` without a record."""
    if before is None:
        return "unknown"
    now = {k: obs.vital(k) for k in VITALS} | dict(obs.inventory)
    changes = [
        f"{k} {before.get(k, 0)}->{now.get(k, 0)}"
        for k in dict.fromkeys([*before, *now])
        if before.get(k, 0) != now.get(k, 0)
    ]
    return ", ".join(changes) or "nothing"
