"""Moving on the NetHack map: which cells can be entered, shortest paths, and a wall follower."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from automem_core.llm.embedded.nle_view import CARDINALS, DIRS, NLEObs

FLOORS = frozenset(".#><{_")
ITEMS = frozenset('$)[%?/=!(*"')
WALLS = frozenset("|-")
DOOR = "+"
BOULDER = "`"
SQUEEZE_FAILS = "carrying too much"
STUCK_BOULDER = ("in vain", "You try to move the boulder", "cannot pass")
MONSTER_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ@&;:'~")
ORDER: tuple[str, ...] = (*CARDINALS, "northeast", "southeast", "southwest", "northwest")
RIGHT = {"north": "east", "east": "south", "south": "west", "west": "north"}
LEFT = {v: k for k, v in RIGHT.items()}
BACK = {"north": "south", "south": "north", "east": "west", "west": "east"}


@dataclass(frozen=True)
class Terrain:
    """Passability of the observed map, with the language observation's door hints, the
    cells memory says cannot be entered (boulders that would not move) and whether squeezing
    between two blocked cells failed before."""

    obs: NLEObs
    open_doors: frozenset[tuple[int, int]]
    blocked: frozenset[tuple[int, int]] = frozenset()
    squeeze: bool = True  # whether diagonal moves between two blocked cells work

    @classmethod
    def of(
        cls, obs: NLEObs, blocked: frozenset[tuple[int, int]] = frozenset(), squeeze: bool = True
    ) -> Terrain:
        doors: set[tuple[int, int]] = set()
        if obs.agent is not None:
            ax, ay = obs.agent
            for name in ("open door", "doorway", "broken door"):
                for d in obs.adjacent(name):
                    doors.add((ax + DIRS[d][0], ay + DIRS[d][1]))
        return cls(obs, frozenset(doors), blocked, squeeze and SQUEEZE_FAILS not in obs.message)

    def open_door(self, x: int, y: int) -> bool:
        """An open door, drawn like a wall: a ``-`` between two ``|`` or a ``|`` between two
        ``-`` (one beside a corner is only known once the language observation names it)."""
        c, cell = self.obs.cell(x, y), self.obs.cell
        if (x, y) in self.open_doors:
            return c in WALLS
        if c == "-":
            return cell(x, y - 1) == "|" and cell(x, y + 1) == "|"
        if c == "|":
            return cell(x - 1, y) == "-" and cell(x + 1, y) == "-"
        return False

    def is_door(self, x: int, y: int) -> bool:
        """A door (no diagonal moves in or out); the agent's own cell counts when it stands
        between two walls or the game just refused a diagonal move out of it."""
        if (x, y) == self.obs.agent:
            cell = self.obs.cell
            between = (cell(x - 1, y) in WALLS and cell(x + 1, y) in WALLS) or (
                cell(x, y - 1) in WALLS and cell(x, y + 1) in WALLS
            )
            return between or "diagonally out of" in self.obs.message
        return self.obs.cell(x, y) == DOOR or self.open_door(x, y)

    def passable(self, x: int, y: int) -> bool:
        if (x, y) in self.blocked:
            return False
        c = self.obs.cell(x, y)
        if c in FLOORS or c in ITEMS or c == DOOR or c in MONSTER_CHARS:
            return True
        if c == BOULDER:  # walking into it pushes it, unless the game just said it will not move
            return not any(word in self.obs.message for word in STUCK_BOULDER)
        if c in WALLS:
            return self.open_door(x, y)
        return self.wall_gap(x, y)

    def wall_gap(self, x: int, y: int) -> bool:
        """A blank cell inside a straight wall: most likely a doorway not seen yet."""
        cell = self.obs.cell
        if cell(x, y) != " ":
            return False
        return (cell(x - 1, y) == "-" and cell(x + 1, y) == "-") or (
            cell(x, y - 1) == "|" and cell(x, y + 1) == "|"
        )

    def can_step(self, x: int, y: int, direction: str) -> bool:
        dx, dy = DIRS[direction]
        tx, ty = x + dx, y + dy
        if not self.passable(tx, ty):
            return False
        if not (dx and dy):
            return True
        if self.is_door(x, y) or self.is_door(tx, ty):
            return False
        # squeezing diagonally between two blocked cells fails when carrying a lot
        return self.squeeze or self.passable(tx, y) or self.passable(x, ty)


def is_end(terrain: Terrain, x: int, y: int) -> bool:
    """At most one orthogonal neighbour can be entered: a corridor's end (corridors are dug
    orthogonally), or a doorway whose outside has not been seen."""
    return sum(terrain.can_step(x, y, d) for d in CARDINALS) <= 1


def is_doorway(terrain: Terrain, x: int, y: int) -> bool:
    cell = terrain.obs.cell
    if terrain.open_door(x, y):
        return True
    if cell(x, y) not in (".", DOOR) and not terrain.wall_gap(x, y):
        return False
    return (cell(x - 1, y) in WALLS and cell(x + 1, y) in WALLS) or (
        cell(x, y - 1) in WALLS and cell(x, y + 1) in WALLS
    )


def observed_from(visited: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Cells seen from where the agent stood: those places and their eight neighbours."""
    return {(x + dx, y + dy) for x, y in visited for dx in (-1, 0, 1) for dy in (-1, 0, 1)}


def frontiers(
    terrain: Terrain, observed: set[tuple[int, int]]
) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """Known cells next to a blank cell nobody stood beside yet, where the map may go on.

    First choice: room floor, doors, doorways (gaps in a wall included) and corridor ends.
    Second choice: the middle of a corridor (a branch off it would show as an end, so these
    only matter where corridors run side by side and hide their ends).
    """
    first: set[tuple[int, int]] = set()
    second: set[tuple[int, int]] = set()
    cell = terrain.obs.cell
    near = [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy]
    for y, row in enumerate(terrain.obs.grid):
        for x, c in enumerate(row):
            if c not in ("#", ".", DOOR) and not is_doorway(terrain, x, y):
                continue
            if not any(
                cell(x + dx, y + dy) == " " and (x + dx, y + dy) not in observed for dx, dy in near
            ):
                continue
            middle = c == "#" and not is_end(terrain, x, y)
            (second if middle else first).add((x, y))
    return first, second


def shortest_path(
    terrain: Terrain, start: tuple[int, int], goals: set[tuple[int, int]] | tuple[int, int]
) -> list[str]:
    """Directions of a shortest known path from ``start`` to the nearest of ``goals``."""
    targets = goals if isinstance(goals, set) else {goals}
    previous: dict[tuple[int, int], tuple[tuple[int, int], str]] = {}
    queue = deque([start])
    seen = {start}
    goal: tuple[int, int] | None = None
    while queue:
        here = queue.popleft()
        if here in targets:
            goal = here
            break
        for direction in ORDER:
            if not terrain.can_step(*here, direction):
                continue
            nxt = (here[0] + DIRS[direction][0], here[1] + DIRS[direction][1])
            if nxt not in seen:
                seen.add(nxt)
                previous[nxt] = (here, direction)
                queue.append(nxt)
    if goal is None or goal == start:
        return []
    path: list[str] = []
    node = goal
    while node != start:
        node, direction = previous[node]
        path.append(direction)
    return path[::-1]


def greedy_step(terrain: Terrain, start: tuple[int, int], goal: tuple[int, int]) -> str | None:
    """The enterable neighbour closest to ``goal`` (king-move distance), when no path is known."""
    best: tuple[int, int, str] | None = None
    for i, direction in enumerate(ORDER):
        if not terrain.can_step(*start, direction):
            continue
        nx, ny = start[0] + DIRS[direction][0], start[1] + DIRS[direction][1]
        dist = max(abs(goal[0] - nx), abs(goal[1] - ny))
        if best is None or (dist, i) < best[:2]:
            best = (dist, i, direction)
    here = max(abs(goal[0] - start[0]), abs(goal[1] - start[1]))
    return best[2] if best is not None and best[0] < here else None


def follow_wall(terrain: Terrain, pos: tuple[int, int], heading: str) -> str | None:
    """Right-hand rule over the four cardinal moves.

    Turn right only where the wall on the right ends (the cell behind-right is closed), so open
    rooms are crossed straight until a wall is met instead of circled.
    """
    x, y = pos
    right, left, back = RIGHT[heading], LEFT[heading], BACK[heading]
    rx, ry = DIRS[right]
    bx, by = DIRS[back]
    if terrain.can_step(x, y, right) and not terrain.passable(x + rx + bx, y + ry + by):
        return right
    for direction in (heading, left, right, back):
        if terrain.can_step(x, y, direction):
            return direction
    return None


def any_step(terrain: Terrain, pos: tuple[int, int], offset: int) -> str | None:
    """The first enterable direction, starting the scan at ``offset`` (varied when stuck)."""
    for k in range(len(ORDER)):
        direction = ORDER[(offset + k) % len(ORDER)]
        if terrain.can_step(*pos, direction):
            return direction
    return None


def straight_run(path: list[str]) -> int:
    """How many first moves of ``path`` go the same way."""
    n = 0
    while n < len(path) and path[n] == path[0]:
        n += 1
    return n
