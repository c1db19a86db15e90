"""What stands around the agent on the NetHack map, as facts for the map-analysis helper.

Each glyph gets a *kind* that says how it bears on moving (``wall``, ``floor``, ``closed door``,
``stairs down``, ``monster``, ``trap``, …) and a name (the language observation's words where it
has them). Only ``Observation.facts`` carries these; the observation text is never touched.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import numpy.typing as npt

from automem_core.envs.nle_names import CMAP_NAMES, glyph_names

# Offsets of the eight neighbours, y growing southwards (map rows).
NEIGHBOURS: dict[str, tuple[int, int]] = {
    "north": (0, -1),
    "northeast": (1, -1),
    "east": (1, 0),
    "southeast": (1, 1),
    "south": (0, 1),
    "southwest": (-1, 1),
    "west": (-1, 0),
    "northwest": (-1, -1),
}
MAX_THINGS = 40  # notable cells listed, nearest first (stairs always)
# Kinds worth listing from the whole map.
NOTABLE = frozenset(
    {
        "stairs down",
        "stairs up",
        "ladder down",
        "ladder up",
        "closed door",
        "open door",
        "doorway",
        "monster",
        "pet",
        "trap",
        "boulder",
        "object",
        "feature",
        "water",
        "lava",
    }
)
STAIRS = frozenset({"stairs down", "stairs up", "ladder down", "ladder up"})
BOULDER_OBJECT = "boulder"
_WALLS = frozenset(CMAP_NAMES[1:12]) | {
    "vertical raised drawbridge",
    "horizontal raised drawbridge",
}
_CMAP_KINDS: dict[str, str] = {
    "dark area": "dark",
    "doorway": "doorway",
    "vertical open door": "open door",
    "horizontal open door": "open door",
    "vertical closed door": "closed door",
    "horizontal closed door": "closed door",
    "bars": "bars",
    "tree": "tree",
    "room floor": "floor",
    "dark room floor": "floor",
    "corridor floor": "corridor",
    "lit corridor floor": "corridor",
    "stairs up": "stairs up",
    "stairs down": "stairs down",
    "ladder up": "ladder up",
    "ladder down": "ladder down",
    "pool": "water",
    "water floor": "water",
    "lava": "lava",
    "ice": "floor",
    "air floor": "floor",
    "cloud floor": "floor",
    "vertical lowered drawbridge": "floor",
    "horizontal lowered drawbridge": "floor",
}
_FEATURES = frozenset({"alter", "grave", "throne", "sink", "fountain"})
_TRAPS = frozenset(CMAP_NAMES[CMAP_NAMES.index("arrow trap") : CMAP_NAMES.index("vertical beam")])


def cmap_kind(name: str) -> str:
    if name in _WALLS:
        return "wall"
    if name in _FEATURES:
        return "feature"
    if name in _TRAPS:
        return "trap"
    return _CMAP_KINDS.get(name, "effect")


@functools.cache
def glyph_table() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(kind, name)`` of every glyph (imports ``nle.nethack`` on first use)."""
    from nle import nethack as nh

    screen = glyph_names().screen
    kinds = ["effect"] * nh.MAX_GLYPH
    names = list(screen)
    for glyph in range(nh.MAX_GLYPH):
        if glyph >= nh.GLYPH_STATUE_OFF:
            kinds[glyph] = "statue"
        elif glyph >= nh.GLYPH_WARNING_OFF:
            kinds[glyph] = "monster"
        elif glyph >= nh.GLYPH_CMAP_OFF and glyph < nh.GLYPH_EXPLODE_OFF:
            name = CMAP_NAMES[glyph - nh.GLYPH_CMAP_OFF]
            kinds[glyph], names[glyph] = cmap_kind(name), name
        elif nh.GLYPH_OBJ_OFF <= glyph < nh.GLYPH_CMAP_OFF:
            kinds[glyph] = "boulder" if screen[glyph] == BOULDER_OBJECT else "object"
        elif nh.GLYPH_BODY_OFF <= glyph < nh.GLYPH_RIDDEN_OFF:
            kinds[glyph] = "object"  # a corpse
        elif nh.GLYPH_PET_OFF <= glyph < nh.GLYPH_INVIS_OFF:
            kinds[glyph] = "pet"
        elif glyph < nh.GLYPH_OBJ_OFF:  # monsters, invisible, detected, ridden
            kinds[glyph] = "monster"
            names[glyph] = names[glyph] or "invisible creature"
    return tuple(kinds), tuple(names)


@functools.cache
def _notable_mask() -> npt.NDArray[np.bool_]:
    kinds, _ = glyph_table()
    return np.array([kind in NOTABLE for kind in kinds])


def surroundings(glyphs: npt.NDArray[Any], px: int, py: int) -> dict[str, object]:
    """``cells``: direction → ``(kind, name)`` of the eight neighbours (``("edge", "map
    edge")`` off the map); ``things``: ``(kind, name, x, y)`` of notable cells, nearest first,
    at most MAX_THINGS besides the stairs."""
    kinds, names = glyph_table()
    rows, cols = glyphs.shape
    cells: dict[str, tuple[str, str]] = {}
    for direction, (dx, dy) in NEIGHBOURS.items():
        x, y = px + dx, py + dy
        if 0 <= x < cols and 0 <= y < rows:
            glyph = int(glyphs[y, x])
            cells[direction] = (kinds[glyph], names[glyph])
        else:
            cells[direction] = ("edge", "map edge")
    ys, xs = np.nonzero(_notable_mask()[glyphs])
    found = []
    for y, x in zip(ys.tolist(), xs.tolist(), strict=True):
        if (x, y) == (px, py):
            continue
        glyph = int(glyphs[y, x])
        found.append((max(abs(x - px), abs(y - py)), kinds[glyph], names[glyph], x, y))
    found.sort(key=lambda t: t[0])
    stairs = [t for t in found if t[1] in STAIRS]
    rest = [t for t in found if t[1] not in STAIRS][:MAX_THINGS]
    things = [(kind, name, x, y) for _, kind, name, x, y in sorted(stairs + rest)]
    return {"cells": cells, "things": things}
