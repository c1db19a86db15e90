"""Parsing the NetHack / MiniHack text observation (message, language observation, cursor, map,
inventory) into what the player reasons about: a character grid and where the agent stands.

Map coordinates are ``(x, y)`` = (column, row index in the ``map:`` section), which are also
NetHack's own dungeon coordinates; the cursor line's ``y`` is the terminal row, one more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

DIRS: dict[str, tuple[int, int]] = {
    "north": (0, -1),
    "northeast": (1, -1),
    "east": (1, 0),
    "southeast": (1, 1),
    "south": (0, 1),
    "southwest": (-1, 1),
    "west": (-1, 0),
    "northwest": (-1, -1),
}
CARDINALS: tuple[str, ...] = ("north", "east", "south", "west")
SECTIONS: tuple[str, ...] = ("message", "language observation", "cursor", "map", "inventory")
DISTANCES: tuple[str, ...] = ("very far", "very near", "adjacent", "far", "near")
MAP_ROWS = 21  # dungeon rows; the terminal rows below them are status lines

_LANG_RE = re.compile(r"^(.*?)\s+(" + "|".join(DISTANCES) + r")\s+([a-z ,]+)$")
_CURSOR_RE = re.compile(r"\(x=(\d+),\s*y=(\d+)\)")
_INV_RE = re.compile(r"^\s*([a-zA-Z$#]):\s+(.*\S)\s*$")
_DLVL_RE = re.compile(r"Dlvl:(\d+)")
_STATUS_HINTS = ("Dlvl:", "St:", "HP:")
_HUNGER_WORDS = ("Hungry", "Weak", "Fainting")
_HP_RE = re.compile(r"HP:(\d+)\((\d+)\)")


@dataclass(frozen=True)
class Seen:
    """One language-observation line: ``newt near south`` → name, distance, directions."""

    name: str
    distance: str
    directions: tuple[str, ...]


@dataclass(frozen=True)
class NLEObs:
    message: str = ""
    language: tuple[Seen, ...] = ()
    cursor_text: str = ""
    grid: tuple[str, ...] = ()
    status_lines: tuple[str, ...] = ()
    agent: tuple[int, int] | None = None
    inventory: dict[str, str] = field(default_factory=dict)

    def cell(self, x: int, y: int) -> str:
        if 0 <= y < len(self.grid) and 0 <= x < len(self.grid[y]):
            return self.grid[y][x]
        return " "

    def find(self, char: str) -> list[tuple[int, int]]:
        return [(x, y) for y, row in enumerate(self.grid) for x, c in enumerate(row) if c == char]

    def adjacent(self, name_part: str) -> list[str]:
        """Directions of adjacent things whose name contains ``name_part``."""
        out: list[str] = []
        for seen in self.language:
            if seen.distance == "adjacent" and name_part in seen.name:
                out += [d for d in seen.directions if d in DIRS]
        return out

    @property
    def dlvl(self) -> int | None:
        for line in self.status_lines:
            match = _DLVL_RE.search(line)
            if match:
                return int(match.group(1))
        return None

    @property
    def hungry(self) -> bool:
        return any(word in line for line in self.status_lines for word in _HUNGER_WORDS)

    @property
    def hp(self) -> tuple[int, int] | None:
        for line in self.status_lines:
            match = _HP_RE.search(line)
            if match:
                return int(match.group(1)), int(match.group(2))
        return None


def split_sections(text: str) -> dict[str, list[str]]:
    """``title:`` lines start sections; map rows keep their spacing."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.replace("\r\n", "\n").split("\n"):
        title = line.strip().lower().rstrip(":")
        if line.strip().endswith(":") and title in SECTIONS and title not in sections:
            current = sections.setdefault(title, [])
            continue
        if current is not None:
            current.append(line)
    return sections


def parse_language(lines: list[str]) -> tuple[Seen, ...]:
    out = []
    for line in lines:
        match = _LANG_RE.match(line.strip())
        if match is None:
            continue
        words = match.group(3).replace(" and ", ",").replace(",", " ").split()
        out.append(Seen(match.group(1).strip(), match.group(2), tuple(words)))
    return tuple(out)


def _is_status(row: str) -> bool:
    return sum(hint in row for hint in _STATUS_HINTS) >= 1 and ":" in row


def _split_map(rows: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    while rows and not rows[-1].strip():
        rows = rows[:-1]
    grid, status = [], []
    for i, row in enumerate(rows):
        if i >= MAP_ROWS or _is_status(row):
            status.append(row)
            grid.append("")
        else:
            grid.append(row)
    return tuple(grid[:MAP_ROWS]), tuple(status)


def locate_agent(grid: tuple[str, ...], cursor: tuple[int, int] | None) -> tuple[int, int] | None:
    """The ``@`` under the cursor (terminal row = map row + 1), else the ``@`` nearest to it."""
    if cursor is not None:
        x, row = cursor
        for y in (row - 1, row):
            if 0 <= y < len(grid) and x < len(grid[y]) and grid[y][x] == "@":
                return x, y
    found = [(x, y) for y, r in enumerate(grid) for x, c in enumerate(r) if c == "@"]
    if not found:
        return (cursor[0], cursor[1] - 1) if cursor is not None else None
    if cursor is None:
        return found[0]
    return min(found, key=lambda p: abs(p[0] - cursor[0]) + abs(p[1] - cursor[1] + 1))


def parse_nle_observation(text: str) -> NLEObs:
    sections = split_sections(text)
    cursor_lines = sections.get("cursor", [])
    cursor_text = "\n".join(line.strip() for line in cursor_lines if line.strip())
    match = _CURSOR_RE.search(cursor_text)
    cursor = (int(match.group(1)), int(match.group(2))) if match else None
    grid, status = _split_map(sections.get("map", []))
    inventory = {}
    for line in sections.get("inventory", []):
        item = _INV_RE.match(line)
        if item is not None:
            inventory[item.group(1)] = item.group(2)
    message = "\n".join(line.strip() for line in sections.get("message", []) if line.strip())
    return NLEObs(
        message=message,
        language=parse_language(sections.get("language observation", [])),
        cursor_text=cursor_text,
        grid=grid,
        status_lines=status,
        agent=locate_agent(grid, cursor),
        inventory=inventory,
    )
