"""Prompt blocks the helpers add: the map analysis and the files shown in every PLAN prompt.

Pure: facts and file contents in, text out. The map analysis reads the ``surroundings`` fact
the NetHack and MiniHack adapters give (``envs/nle_cells.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

DIRECTIONS: tuple[str, ...] = (
    "north",
    "northeast",
    "east",
    "southeast",
    "south",
    "southwest",
    "west",
    "northwest",
)
DIAGONALS = frozenset({"northeast", "southeast", "southwest", "northwest"})
WALKABLE = frozenset(
    {"floor", "corridor", "doorway", "stairs down", "stairs up", "ladder down", "ladder up"}
    | {"feature", "object"}
)
DOORS = frozenset({"open door", "closed door"})
SOLID = {
    "wall": "wall",
    "dark": "solid rock or unexplored",
    "tree": "tree",
    "bars": "iron bars",
    "statue": "statue",
    "edge": "edge of the map",
    "effect": "something in the way",
}
FURTHER = 3  # things named per direction beyond the neighbour
LOW_HP = 1 / 3  # hit points at or below this share of the maximum count as danger
MAP_ANALYSIS_TITLE = "Map analysis"


def sector(dx: int, dy: int) -> str:
    """The nearest of the eight directions of an offset (``dy`` grows southwards)."""
    angle = math.degrees(math.atan2(-dy, dx))  # 0 = east, 90 = north
    index = round(angle / 45) % 8  # 0 east, 1 northeast, 2 north, …
    return ("east", "northeast", "north", "northwest", "west", "southwest", "south", "southeast")[
        index
    ]


def _cell_verdict(direction: str, kind: str, name: str) -> str:
    if kind == "monster":
        return f"monster: {name} (moving there attacks it)"
    if kind == "pet":
        return f"pet: {name} (moving there swaps places)"
    if kind in DOORS and direction in DIAGONALS:
        return f"blocked ({name}: doors cannot be entered diagonally)"
    if kind == "closed door":
        return f"closed door ({name}: open or kick it)"
    if kind == "boulder":
        return "boulder (moving there pushes it)"
    if kind in ("water", "lava"):
        return f"danger: {name} (do not step in)"
    if kind == "trap":
        return f"can move, but danger: {name}"
    if kind in WALKABLE or kind == "open door":
        what = "stairs: " + name if kind.startswith(("stairs", "ladder")) else name
        return f"can move ({what})"
    return f"blocked ({SOLID.get(kind, name)})"


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float | str) else 0


def _things_by_direction(
    things: Sequence[Sequence[object]], pos: tuple[int, int], reach: int
) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {d: [] for d in DIRECTIONS}
    for kind, name, x, y in things:
        dx, dy = _int(x) - pos[0], _int(y) - pos[1]
        dist = max(abs(dx), abs(dy))
        is_stairs = str(kind).startswith(("stairs", "ladder"))
        if dist <= 1 or (dist > reach and not is_stairs) or kind in ("object", "feature"):
            continue
        label = "pet " + str(name) if kind == "pet" else str(name)
        out[sector(dx, dy)].append(f"{label} {dist} steps")
    return out


def render_map_analysis(facts: Mapping[str, object], reach: int) -> str:
    """Per direction: whether a step there can be taken and what is there (blocked, a door, a
    monster, stairs, danger), then stairs, doors and monsters further that way; a danger
    line; the stairs' positions. Without the facts it needs, it says so."""
    around = facts.get("surroundings")
    pos = facts.get("pos")
    if not isinstance(around, Mapping) or not isinstance(pos, tuple | list) or len(pos) != 2:
        return f"{MAP_ANALYSIS_TITLE}: not available (the game gives no map facts)"
    cells = around.get("cells")
    things = around.get("things")
    cells = cells if isinstance(cells, Mapping) else {}
    things = things if isinstance(things, Sequence) else []
    here = (int(pos[0]), int(pos[1]))
    further = _things_by_direction(things, here, reach)
    lines = [f"{MAP_ANALYSIS_TITLE} (you are at ({here[0]},{here[1]}); y grows southwards):"]
    dangers = []
    for direction in DIRECTIONS:
        kind, name = cells.get(direction, ("edge", "edge of the map"))
        verdict = _cell_verdict(direction, str(kind), str(name))
        if kind in ("monster", "trap", "water", "lava"):
            dangers.append(f"{name} adjacent {direction}")
        extra = further[direction][:FURTHER]
        tail = f"; further: {', '.join(extra)}" if extra else ""
        lines.append(f"- {direction}: {verdict}{tail}")
    hp, hp_max = facts.get("hp"), facts.get("hp_max")
    if isinstance(hp, int) and isinstance(hp_max, int) and hp_max and hp <= LOW_HP * hp_max:
        dangers.append(f"low HP ({hp}/{hp_max})")
    lines.append(f"- danger: {'; '.join(dangers) if dangers else 'none seen'}")
    stairs = [
        f"{name} at ({x},{y})"
        for kind, name, x, y in things
        if str(kind) in ("stairs down", "ladder down")
    ]
    lines.append(f"- stairs down: {', '.join(stairs) if stairs else 'none in view'}")
    return "\n".join(lines)


def render_injected(blocks: Sequence[tuple[str, str]]) -> str:
    """The ``$injected`` text of a PLAN prompt: each ``(title, content)`` as a titled block."""
    return "".join(f"\n{title}:\n{content or '(empty)'}\n" for title, content in blocks)
