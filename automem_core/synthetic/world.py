"""The generated world a scripted player walks, and its frames.

Crafter-like terrain drawn as a 9×9-tile PNG, or NetHack-like rooms joined by corridors drawn as a
24×80 tty (characters, then colour codes). Everything comes from the ``random.Random`` passed in.
"""

from __future__ import annotations

import io
import itertools
import random

from PIL import Image, ImageDraw

MOVES = {"west": (-1, 0), "east": (1, 0), "north": (0, -1), "south": (0, 1)}


class World:
    """A seeded grid: Crafter-like terrain, or NetHack-like rooms joined by corridors."""

    def __init__(self, game: str, rng: random.Random) -> None:
        self.game = game
        if game == "crafter":
            kinds = ("grass",) * 24 + ("sand", "sand", "water", "tree", "tree", "stone", "coal")
            self.w = self.h = 40
            self.tiles = [[rng.choice(kinds) for _ in range(40)] for _ in range(40)]
            self.pos = (20, 20)
            self.tiles[20][20] = "grass"
        else:
            self.w, self.h = 78, 21
            self.tiles, self.pos = _dungeon(rng, self.w, self.h)
        self._cache: dict[tuple[int, ...], bytes] = {}

    def move(self, direction: str) -> bool:
        x, y = self.pos[0] + MOVES[direction][0], self.pos[1] + MOVES[direction][1]
        inside = 0 <= x < self.w and 0 <= y < self.h
        if not inside or self.tiles[y][x] in ("water", "tree", "stone", "-", "|", " "):
            return False
        self.pos = (x, y)
        return True

    def nearby(self) -> list[tuple[str, int, int]]:
        """(thing, dx, dy) of the nearest instance of each kind of thing in the 9×7 view."""
        seen: dict[str, tuple[int, int, int]] = {}
        for dy in range(-3, 4):
            for dx in range(-4, 5):
                x, y = self.pos[0] + dx, self.pos[1] + dy
                t = self.tiles[y][x] if 0 <= x < self.w and 0 <= y < self.h else " "
                d = abs(dx) + abs(dy)
                if d and t not in ("grass", ".", "sand", " ") and (t not in seen or d < seen[t][0]):
                    seen[t] = (d, dx, dy)
        return [(t, dx, dy) for t, (_d, dx, dy) in sorted(seen.items())]

    def frame(self, inventory: dict[str, int], vitals: dict[str, int], status: str) -> bytes:
        if self.game != "crafter":
            return render_tty(self, status)
        key = (*self.pos, *inventory.values(), *vitals.values())
        if key not in self._cache:
            self._cache = self._cache if len(self._cache) < 4096 else {}
            self._cache[key] = render_crafter_png(self, inventory, vitals)
        return self._cache[key]


def _dungeon(rng: random.Random, w: int, h: int) -> tuple[list[list[str]], tuple[int, int]]:
    """Four rooms left to right, doors on their facing walls, corridors between the doors."""
    tiles = [[" "] * w for _ in range(h)]
    doors: list[tuple[int, int, int, int]] = []  # (left door x, y, right door x, y) per room
    for i in range(4):
        x0, y0 = 1 + i * 19 + rng.randint(0, 3), rng.randint(1, 7)
        x1, y1 = x0 + rng.randint(7, 12), y0 + rng.randint(4, 8)
        for y in range(y0, y1 + 1):
            for x in range(x0, x1 + 1):
                edge = "-" if y in (y0, y1) else "|" if x in (x0, x1) else "."
                tiles[y][x] = edge if edge != "." else rng.choice("." * 60 + "$)%dF{")
        left, right = rng.randint(y0 + 1, y1 - 1), rng.randint(y0 + 1, y1 - 1)
        tiles[left][x0], tiles[right][x1] = "+", "+"
        doors.append((x0, left, x1, right))
    for (_l, _ly, rx, ry), (lx, ly, _r, _ry) in itertools.pairwise(doors):
        mid = (rx + lx) // 2
        for x in range(rx + 1, lx):
            tiles[ry if x <= mid else ly][x] = "#"
        for y in range(min(ry, ly), max(ry, ly) + 1):
            tiles[y][mid] = "#"
    x0, y, x1, _y = doors[-1]
    tiles[y][(x0 + x1) // 2] = ">"
    return tiles, (doors[0][0] + 2, doors[0][1])


_TILE_RGB = {
    "grass": (90, 158, 58),
    "sand": (217, 197, 139),
    "water": (63, 118, 201),
    "tree": (46, 107, 42),
    "stone": (139, 139, 139),
    "coal": (70, 70, 70),
    "table": (150, 100, 50),
}


def render_crafter_png(world: World, inventory: dict[str, int], vitals: dict[str, int]) -> bytes:
    """A 9×9-tile image like Crafter's: the 9×7 view, then vitals and inventory rows."""
    px = 16
    img = Image.new("RGB", (9 * px, 9 * px), (20, 20, 20))
    draw = ImageDraw.Draw(img)
    for vy in range(7):
        for vx in range(9):
            x, y = world.pos[0] + vx - 4, world.pos[1] + vy - 3
            tile = world.tiles[y][x] if 0 <= x < world.w and 0 <= y < world.h else "none"
            box = (vx * px, vy * px, vx * px + px - 1, vy * px + px - 1)
            draw.rectangle(box, fill=_TILE_RGB.get(tile, (0, 0, 0)))
            if tile == "tree":
                draw.ellipse((box[0] + 2, box[1] + 1, box[2] - 2, box[3] - 4), fill=(30, 80, 28))
            elif tile == "coal":
                draw.rectangle((box[0] + 5, box[1] + 5, box[0] + 9, box[1] + 9), fill=(20, 20, 20))
    c = (4 * px, 3 * px)
    draw.ellipse((c[0] + 3, c[1] + 1, c[0] + 12, c[1] + 14), fill=(240, 200, 140), outline=(0,) * 3)
    colours = ((220, 40, 40), (200, 120, 40), (60, 140, 230), (230, 210, 60))
    for i, (value, colour) in enumerate(zip(vitals.values(), colours, strict=True)):
        draw.rectangle((i * px + 2, 7 * px + 2, i * px + 2 + value, 8 * px - 2), fill=colour)
    for i, n in enumerate(list(inventory.values())[:9]):
        if n:
            draw.rectangle((i * px + 3, 8 * px + 3, i * px + 12, 9 * px - 3), fill=(170, 120, 60))
    buf = io.BytesIO()
    img.quantize(colors=32).save(buf, format="PNG")
    return buf.getvalue()


_TTY_COLOURS = {"+": 3, "{": 4, "d": 3, "F": 10, "$": 11, ")": 6, "%": 1, "@": 15, ">": 15}


def render_tty(world: World, status: str) -> bytes:
    """24 rows × 80 columns of characters, then the same of NLE colour codes."""
    rows = [" " * 80, *("".join(r).ljust(80) for r in world.tiles)]
    x, y = world.pos
    rows[y + 1] = rows[y + 1][:x] + "@" + rows[y + 1][x + 1 :]
    rows += ["Agent the Stripling   St:17 Dx:13 Co:18 In:7 Wi:10 Ch:8 Lawful", status]
    rows[0] = "Hello Agent, welcome to NetHack!  You are a lawful human Valkyrie."
    chars = "".join(r[:80].ljust(80) for r in rows[:24]).encode("ascii", errors="replace")
    colours = bytes(
        7 if i < 80 or i >= 22 * 80 else _TTY_COLOURS.get(chr(c), 7) for i, c in enumerate(chars)
    )
    return chars + colours
