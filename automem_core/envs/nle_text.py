"""NetHack / MiniHack text observation in BALROG's "hybrid" format, from NLE's numpy arrays.

Sections: ``message``, ``language observation``, ``cursor``, ``map``, ``inventory``, laid out
and worded as BALROG's language wrapper (``nle_language_obsv``) does, so that the same game
state gives the same text. Monsters, objects and a few map features (stairs, closed doors,
fountains, …) are listed from the whole map; walls, doorways, traps and dark area only where a
look along one of the 8 directions from the agent reaches them (see ``nle_names``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from automem_core.envs.nle_names import glyph_names

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
MORE = "--More--"
# Characters a message row is trimmed of (the wrapper's set: space and SUB).
_BLANK = " \x1a"

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
def _offset_ranks() -> tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]]:
    """Distance and direction ranks for every on-map offset, indexed ``[dy + ROWS][dx + COLS]``
    (plain tuples: a text reads dozens of them)."""
    dist = np.zeros((2 * ROWS + 1, 2 * COLS + 1), dtype=np.int8)
    direc = np.zeros_like(dist)
    for dy in range(-ROWS, ROWS + 1):
        for dx in range(-COLS, COLS + 1):
            if dx or dy:
                d, w = describe_offset(dx, dy)
                dist[dy + ROWS, dx + COLS] = DISTANCE_ORDER.index(d)
                direc[dy + ROWS, dx + COLS] = DIRECTION_ORDER.index(w)
    return tuple(map(tuple, dist.tolist())), tuple(map(tuple, direc.tolist()))


_UNCHANGED_PLURALS = ("boots", "shoes", "scales", "lenses", "bars")
_PLURAL_EXCEPTIONS = {
    "can of grease": "cans of grease",
    "Master of Thieves": "Masters of Thieves",
    "ice": "area of ice",
    "lava": "area of lava",
}
_PLURAL_HEADS = ("boom ", "shield ", "swallow ", "scroll ", "worthless piece ", "unknown creature ")


def pluralize(noun: str) -> str:
    """English plural of a thing's name, by the wrapper's rules (``area of lava``, ``newts``)."""
    if noun.endswith(_UNCHANGED_PLURALS):
        return noun
    if noun in _PLURAL_EXCEPTIONS:
        return _PLURAL_EXCEPTIONS[noun]
    for head in _PLURAL_HEADS:
        if noun.startswith(head):
            return head[:-1] + "s " + noun[len(head) :]
    if noun.endswith("y") and noun[-2:-1] not in tuple("aeiou"):
        return noun[:-1] + "ies"
    # The wrapper's "ch" test never matches: "witchs", but "wolves", "foxes", "rushes".
    if noun.endswith(("z", "x", "sh", "ss")):
        return noun + "es"
    if noun.endswith("ff"):
        return noun[:-2] + "ves"
    if noun.endswith("f"):
        return noun[:-1] + "ves"
    if noun.endswith("s"):
        return noun + "es"
    return noun + "s"


def join_directions(directions: Sequence[str]) -> str:
    if len(directions) <= 2:
        return " and ".join(directions)
    return ", ".join(directions[:-1]) + ", and " + directions[-1]


@functools.cache
def _screen_listed() -> npt.NDArray[np.bool_]:
    return np.array([bool(name) for name in glyph_names().screen])


def _sightings(glyphs: Array, px: int, py: int) -> list[tuple[str, int, int]]:
    """``(name, dx, dy north)`` of every listed cell: map-wide things in map order (the agent's
    own cell left out), then what each look finds, the looks going east, southeast, …"""
    names = glyph_names()
    found = []
    ys, xs = np.nonzero(_screen_listed()[glyphs])
    listed = glyphs[ys, xs].tolist()
    for y, x, glyph in zip(ys.tolist(), xs.tolist(), listed, strict=True):
        if (x, y) != (px, py):
            found.append((names.screen[glyph], x - px, py - y))
    for sx, sy in _RAY_STEPS:
        for k in range(1, RAY_LENGTH + 1):
            x, y = px + sx * k, py + sy * k
            if not (0 <= x < COLS and 0 <= y < ROWS):
                break
            glyph = glyphs.item(y, x)
            name = names.look[glyph]
            if name:
                found.append((name, x - px, py - y))
                if names.blocks[glyph]:
                    break
    return found


def describe_surroundings(glyphs: Array, px: int, py: int) -> str:
    """The ``language observation``: ``{thing} {distance} {directions}`` lines.

    Ordered from very far to adjacent, clockwise from north (ties keep the order found); one
    line per name and distance, its directions in that order. Directions where the name is seen
    more than once (at that distance) go on a separate line under the plural name.
    """
    dist_rank, dir_rank = _offset_ranks()
    ranked = [
        (dist_rank[dy + ROWS][dx + COLS], dir_rank[dy + ROWS][dx + COLS], name)
        for name, dx, dy in _sightings(glyphs, px, py)
    ]
    ranked.sort(key=lambda item: (item[0], item[1]))  # stable
    grouped: dict[tuple[str, int], list[int]] = {}
    for dist, direction, name in ranked:
        grouped.setdefault((name, dist), []).append(direction)
    lines: dict[tuple[str, int], list[int]] = {}
    order: list[tuple[str, int]] = []
    for (name, dist), directions in grouped.items():
        unique = list(dict.fromkeys(directions))
        for key, picked in (
            ((name, dist), [d for d in unique if directions.count(d) == 1]),
            ((pluralize(name), dist), [d for d in unique if directions.count(d) > 1]),
        ):
            if picked:
                order.append(key)
                lines[key] = picked  # a later key equal to an earlier one replaces its directions
    return "\n".join(
        f"{name} {DISTANCE_ORDER[dist]} {join_directions([DIRECTION_ORDER[d] for d in found])}"
        for name, dist in order
        for found in [lines[name, dist]]
    )


def describe_cursor(glyphs: Array, px: int, py: int, cursor: tuple[int, int]) -> str:
    """What stands under the terminal cursor ``(row, column)``, then ``(x=…, y=…)``.

    The first line is empty where the cursor is off the map (top line, status lines), and the
    name part is empty for cells without a listed name (floor, walls, dark area).
    """
    row, col = cursor
    y = row - 1
    dx, dy = col - px, py - y
    where = f"(x={col}, y={row})"
    index = col + y * COLS
    on_screen = -COLS <= dx < COLS and -ROWS <= dy < ROWS
    if not (on_screen and 0 < index < glyphs.size):
        return "\n" + where
    name = glyph_names().screen[int(glyphs.reshape(-1)[index])]
    if dx == 0 and dy == 0:
        return f"Yourself a {name}\n{where}"
    distance, direction = describe_offset(dx, dy)
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


def _trim(row: str) -> str:
    """The wrapper's trim: blanks off both ends, and nothing left when only the last
    character of the row is not blank."""
    start = len(row) - len(row.lstrip(_BLANK))
    if start >= len(row) - 1:
        return ""
    return row.strip(_BLANK)


def _char(text: str, index: int) -> str:
    return text[index] if 0 <= index < len(text) else ""


def _ends_page(row: str) -> bool:
    """A row closing a window page: ``--More--``, ``(end)`` or ``(2 of 3)``."""
    of = row.find(" of ")
    numbered = of >= 2 and _char(row, of - 2) == "(" and _char(row, of + 5) == ")"
    return numbered or MORE in row or "(end)" in row


def read_message(tty_chars: Array) -> str:
    """The message as BALROG reads the screen: the top line; where a window page shows (a row
    with ``--More--``, ``(end)``, ``(1 of 2)``), its non-blank rows down to that row, cut at the
    top line's indent; on the game-over screen (``Points`` / ``list!`` on the second line), the
    rows down to the first two blank ones, each ending in a newline."""
    width = tty_chars.shape[1]
    screen = tty_chars.tobytes().decode("latin-1")
    first, second = _trim(screen[:width]), _trim(screen[width : 2 * width])
    if not first and not second:
        return ""
    raw_first = screen[:width]
    indent = len(raw_first) - len(raw_first.lstrip(" "))
    # A blank top line leaves the wrapper reading each row from one character before it.
    bounds = (indent, width) if indent < width else (-1, width)
    game_over = "Points" in second or "list!" in second
    if not game_over and MORE not in screen and "(end)" not in screen and " of " not in screen:
        return first  # no row can end a page (a row is a piece of the screen): the top line
    output, blanks = "", 0
    for start in range(0, len(screen), width):
        row = _trim(screen[max(start + bounds[0], 0) : start + bounds[1]])
        blanks = 0 if row else blanks + 1
        output += row
        if _ends_page(row):
            return output
        if row:
            output += "\n"
        if game_over and blanks > 1:
            return output
    return first


def has_more(tty_chars: Array) -> bool:
    """Whether the message read from the screen waits at a ``--More--``."""
    return MORE in read_message(tty_chars)


def join_messages(pages: Sequence[str]) -> str:
    """Messages read across a ``--More--`` chain, each prompt turned into a line break."""
    message = ""
    for page in pages:
        message = message.replace(MORE, "\n") + page
    return message


def render_nle_text(
    *,
    message: str,
    glyphs: Array,
    player: tuple[int, int],
    tty_chars: Array,
    tty_cursor: tuple[int, int],
    inventory: str,
) -> str:
    """The whole observation text; ``player`` is the agent's map ``(x, y)``, ``inventory`` the
    inventory's lines (``describe_inventory``)."""
    px, py = player
    sections = (
        ("message", message),
        ("language observation", describe_surroundings(glyphs, px, py)),
        ("cursor", describe_cursor(glyphs, px, py, tty_cursor)),
        ("map", render_map(tty_chars)),
        ("inventory", inventory),
    )
    return "\n\n".join(f"{title}:\n{body}" for title, body in sections)
