"""NetHack / MiniHack text observation in BALROG's "hybrid" format, from NLE's numpy arrays.

Sections: ``message``, ``language observation``, ``cursor``, ``map``, ``inventory``. Things
(monsters, objects, stairs, fountains, closed doors, …) are listed from the whole map; walls,
doorways, traps and unexplored dark area only where a look along the 8 directions from the agent
reaches them. Names come from NLE's ``screen_descriptions``; glyph tables (built once, from
``nle.nethack``) only decide what kind of thing a cell shows.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

DISTANCE_ORDER: tuple[str, ...] = ("very far", "far", "near", "very near", "adjacent")
DIRECTION_ORDER: tuple[str, ...] = (
    "north",
    "northnortheast",
    "northeast",
    "eastnortheast",
    "east",
    "eastsoutheast",
    "southeast",
    "southsoutheast",
    "south",
    "southsouthwest",
    "southwest",
    "westsouthwest",
    "west",
    "westnorthwest",
    "northwest",
    "northnorthwest",
)
ROWS, COLS = 21, 79  # the dungeon map; the terminal is 24 × 80 with the map on rows 1–21
RAY_LENGTH = 9
# Looks go east, southeast, south, … (screen y grows southwards).
_RAY_STEPS = ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))
_RAY_DX = np.array([[dx * k for k in range(1, RAY_LENGTH + 1)] for dx, _ in _RAY_STEPS])
_RAY_DY = np.array([[dy * k for k in range(1, RAY_LENGTH + 1)] for _, dy in _RAY_STEPS])
_PAGER = re.compile(r"--More--|\(end\)|\(\d+ of \d+\)")
MORE = "--More--"

IGNORED, THING, FEATURE = 0, 1, 2
Array = npt.NDArray[np.generic]


def distance_bucket(steps: int) -> str:
    """BALROG's distance words for a number of (king-move) steps."""
    if steps <= 1:
        return "adjacent"
    if steps == 2:
        return "very near"
    if steps <= 5:
        return "near"
    if steps <= 19:
        return "far"
    return "very far"


def compass_direction(dx: int, dy: int) -> str:
    """16-wind direction of an offset ``dx`` east and ``dy`` north, e.g. ``eastnortheast``.

    The diagonal part (``min(|dx|, |dy|)`` steps) names the intercardinal point; what is left
    along one axis names the cardinal point in front of it.
    """
    diagonal = min(abs(dx), abs(dy))
    ns = "north" if dy > 0 else "south"
    ew = "east" if dx > 0 else "west"
    inter = ns + ew if diagonal else ""
    rest_x, rest_y = abs(dx) - diagonal, abs(dy) - diagonal
    lead = ew if rest_x else (ns if rest_y else "")
    return lead + inter


def describe_offset(dx: int, dy: int) -> tuple[str, str]:
    """``(distance, direction)`` of an offset ``dx`` east and ``dy`` north."""
    return distance_bucket(max(abs(dx), abs(dy))), compass_direction(dx, dy)


@functools.cache
def _offset_ranks() -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int8]]:
    """Distance and direction ranks for every on-map offset, indexed ``[dy + ROWS, dx + COLS]``."""
    dist = np.zeros((2 * ROWS + 1, 2 * COLS + 1), dtype=np.int8)
    direc = np.zeros_like(dist)
    for dy in range(-ROWS, ROWS + 1):
        for dx in range(-COLS, COLS + 1):
            if dx or dy:
                d, w = describe_offset(dx, dy)
                dist[dy + ROWS, dx + COLS] = DISTANCE_ORDER.index(d)
                direc[dy + ROWS, dx + COLS] = DIRECTION_ORDER.index(w)
    return dist, direc


def pluralize(noun: str) -> str:
    """English plural of a thing's name, as BALROG's wrapper forms it."""
    if noun.endswith(("boots", "shoes", "scales", "lenses", "bars")):
        return noun
    if noun.endswith(("lava", "ice", "water", "air", "cloud", "moat")):
        return "areas of " + noun
    for head in ("scroll ", "worthless piece ", "unknown creature ", "can ", "Master "):
        if noun.startswith(head):
            return head.rstrip() + "s " + noun[len(head) :]
    if noun.endswith("y") and noun[-2:-1] not in tuple("aeiou"):
        return noun[:-1] + "ies"
    if noun.endswith(("z", "x", "ch", "sh", "ss", "s")):
        return noun + "es"
    if noun.endswith("ff"):
        return noun[:-2] + "ves"
    if noun.endswith("f"):
        return noun[:-1] + "ves"
    return noun + "s"


def join_directions(directions: Sequence[str]) -> str:
    if len(directions) <= 2:
        return " and ".join(directions)
    return ", ".join(directions[:-1]) + ", and " + directions[-1]


@dataclass(frozen=True)
class GlyphTables:
    """Per-glyph facts: what kind of thing it shows, whether it stops a look, a fallback name."""

    kind: npt.NDArray[np.uint8]
    blocks: npt.NDArray[np.bool_]
    fallback: tuple[str, ...]


# NetHack 3.6 map symbols (``cmap`` indices): floors are never listed; these features are listed
# from the whole map like things; stone (unexplored dark area), walls, closed doors and raised
# drawbridges stop a look.
_FLOORS = frozenset({19, 20, 21, 22})
_MAP_WIDE_FEATURES = frozenset({15, 16, 17, 18, *range(23, 35), 37, 38})
_BLOCKING = frozenset({*range(0, 12), 15, 16, 37, 38})


def _cmap_entry(index: int, explanation: str) -> tuple[int, bool, str]:
    kind = IGNORED if index in _FLOORS else THING if index in _MAP_WIDE_FEATURES else FEATURE
    return kind, index in _BLOCKING, "dark area" if index == 0 else explanation


@functools.cache
def glyph_tables() -> GlyphTables:
    """Built once per process from ``nle.nethack`` (imported here, not at module import)."""
    from nle import nethack as nh

    count = nh.MAX_GLYPH
    kind = np.full(count, THING, dtype=np.uint8)
    blocks = np.zeros(count, dtype=np.bool_)
    fallback = [_fallback_name(nh, glyph) for glyph in range(count)]
    for glyph in range(nh.GLYPH_CMAP_OFF, nh.GLYPH_EXPLODE_OFF):
        index = glyph - nh.GLYPH_CMAP_OFF
        entry = _cmap_entry(index, nh.symdef.from_idx(index).explanation)
        kind[glyph], blocks[glyph], fallback[glyph] = entry
    return GlyphTables(kind, blocks, tuple(fallback))


def _fallback_name(nh: Any, glyph: int) -> str:
    """A name for cells whose screen description is empty (rare outside the dark area)."""

    def monster(offset: int) -> str:
        return str(nh.permonst(glyph - offset).mname)

    if glyph < nh.GLYPH_PET_OFF:
        return monster(nh.GLYPH_MON_OFF)
    if glyph < nh.GLYPH_INVIS_OFF:
        return "tame " + monster(nh.GLYPH_PET_OFF)
    if glyph < nh.GLYPH_DETECT_OFF:
        return "invisible creature"
    if glyph < nh.GLYPH_BODY_OFF:
        return "detected " + monster(nh.GLYPH_DETECT_OFF)
    if glyph < nh.GLYPH_RIDDEN_OFF:
        return monster(nh.GLYPH_BODY_OFF) + " corpse"
    if glyph < nh.GLYPH_OBJ_OFF:
        return "ridden " + monster(nh.GLYPH_RIDDEN_OFF)
    if glyph < nh.GLYPH_CMAP_OFF:
        obj = nh.objclass(nh.glyph_to_obj(glyph))
        return str(nh.OBJ_DESCR(obj) or nh.OBJ_NAME(obj))
    if glyph >= nh.GLYPH_STATUE_OFF:
        return monster(nh.GLYPH_STATUE_OFF) + " statue"
    for start, name in (
        (nh.GLYPH_WARNING_OFF, "warning"),
        (nh.GLYPH_SWALLOW_OFF, "swallowing monster"),
        (nh.GLYPH_ZAP_OFF, "zap beam"),
        (nh.GLYPH_EXPLODE_OFF, "explosion"),
    ):
        if glyph >= start:
            return name
    return ""  # map symbols get their names in glyph_tables()


def cell_name(descriptions: Array, glyphs: Array, y: int, x: int) -> str:
    raw: bytes = descriptions[y, x].tobytes()
    name = raw.split(b"\0", 1)[0].decode("latin-1")
    if not name:
        return glyph_tables().fallback[int(glyphs[y, x])]
    for article in ("a ", "an "):
        if name.startswith(article):
            return name[len(article) :]
    return name


def _visible_cells(glyphs: Array, px: int, py: int) -> tuple[Array, Array]:
    """Map cells to list: all things but the agent, then features seen along the 8 looks."""
    tables = glyph_tables()
    kinds = tables.kind[glyphs]
    things = kinds == THING
    if 0 <= py < ROWS and 0 <= px < COLS:
        things[py, px] = False
    ty, tx = np.nonzero(things)
    rx, ry = _RAY_DX + px, _RAY_DY + py
    inside = (rx >= 0) & (rx < COLS) & (ry >= 0) & (ry < ROWS)
    seen_glyphs = glyphs[np.clip(ry, 0, ROWS - 1), np.clip(rx, 0, COLS - 1)]
    stop = tables.blocks[seen_glyphs] & inside
    past_stop = (np.cumsum(stop, axis=1) - stop) > 0
    looked = inside & ~past_stop & (tables.kind[seen_glyphs] == FEATURE)
    return np.concatenate([ty, ry[looked]]), np.concatenate([tx, rx[looked]])


def describe_surroundings(glyphs: Array, descriptions: Array, px: int, py: int) -> str:
    """The ``language observation``: ``{thing} {distance} {direction}`` lines.

    Ordered from very far to adjacent, clockwise from north; a name seen several times in one
    direction at one distance becomes a plural, and directions of one name and distance merge.
    """
    ys, xs = _visible_cells(glyphs, px, py)
    if not len(ys):
        return ""
    dist_rank, dir_rank = _offset_ranks()
    dy, dx = py - ys + ROWS, xs - px + COLS
    dists, dirs = dist_rank[dy, dx], dir_rank[dy, dx]
    order = np.lexsort((dirs, dists))  # stable: ties keep map-scan order
    groups: dict[tuple[str, int], list[int]] = {}
    for i in order:
        name = cell_name(descriptions, glyphs, int(ys[i]), int(xs[i]))
        groups.setdefault((name, int(dists[i])), []).append(int(dirs[i]))
    lines = []
    for (name, dist), found in groups.items():
        single = [d for d in dict.fromkeys(found) if found.count(d) == 1]
        several = [d for d in dict.fromkeys(found) if found.count(d) > 1]
        for label, picked in ((name, single), (pluralize(name), several)):
            if picked:
                words = join_directions([DIRECTION_ORDER[d] for d in picked])
                lines.append(f"{label} {DISTANCE_ORDER[dist]} {words}")
    return "\n".join(lines)


def describe_cursor(
    glyphs: Array, descriptions: Array, px: int, py: int, cursor: tuple[int, int]
) -> str:
    """What stands under the terminal cursor ``(row, column)``, then ``(x=…, y=…)``."""
    row, col = cursor
    y = row - 1
    where = f"(x={col}, y={row})"
    if not (0 <= y < ROWS and 0 <= col < COLS):
        return where
    name = cell_name(descriptions, glyphs, y, col)
    if (col, y) == (px, py):
        article = "an" if name[:1].lower() in tuple("aeiou") else "a"
        return f"Yourself {article} {name}\n{where}"
    distance, direction = describe_offset(col - px, py - y)
    return f"{distance} {direction} {name}\n{where}"


def render_map(tty_chars: Array) -> str:
    """Terminal rows 1–23 (map and status lines), 80 columns each."""
    width = tty_chars.shape[1]
    text = tty_chars[1:].tobytes().decode("latin-1")
    return "\n".join(text[i : i + width] for i in range(0, len(text), width))


def describe_inventory(inv_letters: Array, inv_strs: Array) -> str:
    """``a: a blessed +0 katana (weapon in hand)`` lines, in inventory order."""
    lines = []
    for letter, item in zip(inv_letters.tolist(), inv_strs, strict=False):
        if letter == 0:
            break
        text = item.tobytes().split(b"\0", 1)[0].decode("latin-1")
        lines.append(f"{chr(letter)}: {text}")
    return "\n".join(lines)


def has_more(tty_chars: Array) -> bool:
    """Whether the screen waits for a key at a ``--More--`` prompt."""
    return b"--More--" in tty_chars.tobytes()


def read_message(tty_chars: Array) -> str:
    """The top line; when a pager (``--More--``, ``(end)``, ``(1 of 2)``) is showing, every row
    from the top down to the pager, cut at the top line's indent (menus and text windows)."""
    screen = tty_chars.tobytes().decode("latin-1")
    width = tty_chars.shape[1]
    first = screen[:width]
    if not first.strip():
        return ""
    if not _PAGER.search(screen):
        return first.strip()
    indent = len(first) - len(first.lstrip(" "))
    lines = []
    for start in range(0, len(screen), width):
        line = screen[start + indent : start + width].strip()
        lines.append(line)
        if _PAGER.search(line):
            return "\n".join(lines)
    return first.strip()


def join_messages(pages: Sequence[str]) -> str:
    """Messages read across a ``--More--`` chain, as one text without the prompts."""
    parts = [page.replace(MORE, "").strip() for page in pages]
    return "\n".join(part for part in parts if part)


def render_nle_text(
    *,
    message: str,
    glyphs: Array,
    descriptions: Array,
    player: tuple[int, int],
    tty_chars: Array,
    tty_cursor: tuple[int, int],
    inv_letters: Array,
    inv_strs: Array,
) -> str:
    """The whole observation text; ``player`` is the agent's map ``(x, y)``."""
    px, py = player
    sections = (
        ("message", message),
        ("language observation", describe_surroundings(glyphs, descriptions, px, py)),
        ("cursor", describe_cursor(glyphs, descriptions, px, py, tty_cursor)),
        ("map", render_map(tty_chars)),
        ("inventory", describe_inventory(inv_letters, inv_strs)),
    )
    return "\n\n".join(f"{title}:\n{body}" for title, body in sections)
