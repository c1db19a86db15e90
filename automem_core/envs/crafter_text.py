"""Crafter's text observation in BALROG's format, from the semantic map and the player's state.

Pure: takes numpy arrays and dicts, never the game. The semantic map is indexed ``[x, y]``
with x growing east and y growing south, as ``crafter.Env``'s semantic view is.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

# Semantic ids of crafter 1.8.3: its materials (0 = outside the world), then its object types.
ITEM_NAMES: tuple[str, ...] = (
    "None",
    "water",
    "grass",
    "stone",
    "path",
    "sand",
    "tree",
    "lava",
    "coal",
    "iron",
    "diamond",
    "table",
    "furnace",
    "player",
    "cow",
    "zombie",
    "skeleton",
    "arrow",
    "plant",
)
PLAYER_ID = ITEM_NAMES.index("player")
# Ground the player walks on is not worth listing; id 0 lies outside the world.
_UNLISTED = frozenset({0, PLAYER_ID} | {ITEM_NAMES.index(k) for k in ("grass", "sand", "path")})
VITALS: tuple[str, ...] = ("health", "food", "drink", "energy")
VIEW_SIZE: tuple[int, int] = (9, 7)  # the local view's width (x) and height (y)
SLEEPING_LINE = "You are sleeping, and will not be able to take actions until energy is full."
DEAD_LINE = "You died."

IntArray = npt.NDArray[np.integer]


def local_view(semantic: IntArray, pos: tuple[int, int]) -> IntArray:
    """The 9×7 window of ``semantic`` centred on ``pos``; cells outside the world are 0."""
    width, height = VIEW_SIZE
    x0, y0 = pos[0] - width // 2, pos[1] - height // 2
    view = np.zeros(VIEW_SIZE, dtype=semantic.dtype)
    xs = slice(max(x0, 0), min(x0 + width, semantic.shape[0]))
    ys = slice(max(y0, 0), min(y0 + height, semantic.shape[1]))
    view[xs.start - x0 : xs.stop - x0, ys.start - y0 : ys.stop - y0] = semantic[xs, ys]
    return view


def describe_offset(dx: int, dy: int) -> str:
    """``3 steps to your north-west`` for an offset east ``dx`` and south ``dy`` from the player."""
    parts = []
    if dy < 0:
        parts.append("north")
    elif dy > 0:
        parts.append("south")
    if dx < 0:
        parts.append("west")
    elif dx > 0:
        parts.append("east")
    distance = abs(dx) + abs(dy)
    return f"{distance} step{'s' if distance > 1 else ''} to your {'-'.join(parts)}"


def describe_view(view: IntArray) -> str:
    """``You see:`` and the nearest instance of each object type in the view.

    Types appear in order of first sight scanning west to east, then north to south; among
    equally near instances the first in that scan wins.
    """
    width, height = view.shape
    cx, cy = width // 2, height // 2
    flat = view.reshape(-1)
    dxs = np.repeat(np.arange(width) - cx, height)
    dys = np.tile(np.arange(height) - cy, width)
    distance = np.abs(dxs) + np.abs(dys)
    ids, first = np.unique(flat, return_index=True)
    lines = []
    for item in ids[np.argsort(first)]:
        if int(item) in _UNLISTED or int(item) >= len(ITEM_NAMES):
            continue
        cells = np.flatnonzero(flat == item)
        best = cells[np.argmin(distance[cells])]
        offset = describe_offset(int(dxs[best]), int(dys[best]))
        lines.append(f"- {ITEM_NAMES[int(item)]} {offset}")
    if not lines:
        return "You see nothing away from you."
    return "You see:\n" + "\n".join(lines)


def describe_facing(view: IntArray, facing: tuple[int, int]) -> str:
    """``You face {item} at your front.`` (ground counts as nothing)."""
    width, height = view.shape
    x, y = width // 2 + facing[0], height // 2 + facing[1]
    item = "nothing"
    if 0 <= x < width and 0 <= y < height:
        target = int(view[x, y])
        if target not in _UNLISTED and target < len(ITEM_NAMES):
            item = ITEM_NAMES[target]
    return f"You face {item} at your front."


def describe_status(inventory: Mapping[str, int]) -> str:
    lines = [f"- {name}: {inventory.get(name, 0)}/9" for name in VITALS]
    return "Your status:\n" + "\n".join(lines)


def describe_inventory(inventory: Mapping[str, int]) -> str:
    lines = [f"- {k}: {n}" for k, n in inventory.items() if k not in VITALS and n != 0]
    if not lines:
        return "You have nothing in your inventory."
    return "Your inventory:\n" + "\n".join(lines)


def render_crafter_text(
    view: IntArray,
    facing: tuple[int, int],
    inventory: Mapping[str, int],
    *,
    sleeping: bool = False,
    dead: bool = False,
) -> str:
    """The full observation: status line if any, surroundings, facing, vitals, inventory."""
    sections = []
    if dead:
        sections.append(DEAD_LINE)
    elif sleeping:
        sections.append(SLEEPING_LINE)
    sections.append(describe_view(view))
    sections.append(describe_facing(view, facing))
    sections.append(describe_status(inventory))
    sections.append(describe_inventory(inventory))
    return "\n\n".join(sections)
