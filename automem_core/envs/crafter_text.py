"""Crafter's text observation in BALROG's format, from the semantic map and the player's state.

Pure: takes numpy arrays and dicts, never the game. The semantic map is indexed ``[x, y]``
with x growing east and y growing south, as ``crafter.Env``'s semantic view is. The wording,
the blank lines and the view window are BALROG's defaults (every tile type listed, the nearest
of each; a 9×7 window cut from the map as BALROG cuts it).
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
VITALS: tuple[str, ...] = ("health", "food", "drink", "energy")
VIEW_SIZE: tuple[int, int] = (9, 7)  # the local view's width (x) and height (y)
CENTRE: tuple[int, int] = (VIEW_SIZE[0] // 2, VIEW_SIZE[1] // 2)
# BALROG's words verbatim ("able take"); a blank line pair follows either of them.
SLEEPING_LINE = "You are sleeping, and will not be able take actions until energy is full."
DEAD_LINE = "You died."
OFF_MAP_LINE = "Error, you are out of the map."

IntArray = npt.NDArray[np.integer]


def view_window(pos: tuple[int, int]) -> tuple[slice, slice]:
    """The slices of the 9×7 window around ``pos``, cut as BALROG cuts it: plain slices, so
    near the world's edge the window comes out smaller (east, south) or empty (west, north)."""
    (width, height), (cx, cy) = VIEW_SIZE, CENTRE
    x0, y0 = pos[0] - cx, pos[1] - cy
    return slice(x0, x0 + width), slice(y0, y0 + height)


def local_view(semantic: IntArray, pos: tuple[int, int]) -> IntArray:
    """The 9×7 window of ``semantic`` around ``pos`` (``view_window``)."""
    return semantic[view_window(pos)]


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


def _name(item: int) -> str:
    return ITEM_NAMES[item] if 0 <= item < len(ITEM_NAMES) else str(item)


def describe_view(view: IntArray) -> str:
    """``You see:`` and the nearest instance of each tile or object type in the view.

    Types appear in order of first sight scanning the columns west to east, each north to
    south; among equally near instances the first in that scan wins.
    """
    cx, cy = CENTRE
    nearest: dict[int, tuple[int, int, int]] = {}  # item -> (distance, dx, dy)
    for x, column in enumerate(view.tolist()):
        for y, item in enumerate(column):
            if item == PLAYER_ID:
                continue
            dx, dy = x - cx, y - cy
            distance = abs(dx) + abs(dy)
            if item not in nearest or distance < nearest[item][0]:
                nearest[item] = (distance, dx, dy)
    if not nearest:
        return "You see nothing away from you."
    lines = [f"- {_name(i)} {describe_offset(dx, dy)}" for i, (_, dx, dy) in nearest.items()]
    return "You see:\n" + "\n".join(lines)


def describe_facing(view: IntArray, facing: tuple[int, int]) -> str:
    """``You face {item} at your front.`` (``nothing`` past the window's edge)."""
    x, y = CENTRE[0] + facing[0], CENTRE[1] + facing[1]
    item = "nothing"
    if 0 <= x < view.shape[0] and 0 <= y < view.shape[1]:
        item = _name(int(view[x, y]))
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
    semantic: IntArray,
    pos: tuple[int, int],
    facing: tuple[int, int],
    inventory: Mapping[str, int],
    *,
    sleeping: bool = False,
    dead: bool = False,
) -> str:
    """The full observation from the whole semantic view (``write_crafter_text``)."""
    at = int(semantic[pos[0], pos[1]])
    view = local_view(semantic, pos)
    return write_crafter_text(view, at, facing, inventory, sleeping=sleeping, dead=dead)


def write_crafter_text(
    view: IntArray,
    at_player: int,
    facing: tuple[int, int],
    inventory: Mapping[str, int],
    *,
    sleeping: bool = False,
    dead: bool = False,
) -> str:
    """The full observation: status line if any, surroundings, facing, vitals, inventory;
    ``view`` is the window around the player (``view_window``), ``at_player`` the semantic
    value on the player's own tile.

    Sleeping wins over dead (a player killed in its sleep still reads as sleeping), and the
    status line is followed by three blank lines, as BALROG writes it.
    """
    short = describe_status(inventory) + "\n\n" + describe_inventory(inventory)
    if at_player != PLAYER_ID:  # BALROG's text when its view check fails
        return f"{OFF_MAP_LINE}\n\n{short}"
    long = describe_view(view) + "\n\n" + describe_facing(view, facing)
    head = SLEEPING_LINE if sleeping else DEAD_LINE if dead else ""
    if head:
        long = f"{head}\n\n\n\n{long}"
    return f"{long}\n\n{short}"
