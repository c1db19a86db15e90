"""A small, fast, deterministic game behind the real ``GameEnv`` interface (game name ``fake``).

The agent walks a walled grid collecting gold; each piece picked up gives reward 1 and another
piece appears elsewhere, so an episode runs as long as its step cap asks. Progression is the gold
collected over ten pieces, capped at 1. Three tasks differ only in what they record or do:

- ``grid``: the frame is a 24×80 terminal (``tty``), as NetHack's;
- ``pixels``: the frame is a small PNG, as Crafter's;
- ``crash``: like ``grid``, but the game raises halfway through (an episode that fails).

Importing this module registers the game, its embedded player (``testing/scripted.py``) and its
scaffold folder (``testing/scaffolds/fake-v0``).
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
from PIL import Image

from automem_core.envs.base import Frame, Observation, Outcome
from automem_core.envs.registry import register_game
from automem_core.llm.embedded import register_player
from automem_core.testing.scripted import respond_fake

GAME = "fake"
TASKS = ("grid", "pixels", "crash")
SCAFFOLD_DIR = Path(__file__).parent / "scaffolds" / "fake-v0"
WIDTH, HEIGHT = 14, 8
GOLD_FOR_FULL_PROGRESSION = 10
MOVES = {"north": (0, -1), "south": (0, 1), "east": (1, 0), "west": (-1, 0)}
ACTIONS = {
    "north": "move one square north",
    "south": "move one square south",
    "east": "move one square east",
    "west": "move one square west",
    "pick up": "pick up the gold you stand on",
    "wait": "do nothing",
}
TTY_ROWS, TTY_COLS = 24, 80


class FakeGameCrash(RuntimeError):
    """The ``crash`` task's deliberate failure."""


class FakeGame:
    game = GAME
    default_action = "wait"

    def __init__(self, task: str = "grid", max_steps: int | None = None) -> None:
        self.task = task
        self.max_steps = max_steps or 50
        self._rng = random.Random(0)
        self._pos = (1, 1)
        self._gold: set[tuple[int, int]] = set()
        self._collected = 0
        self._steps = 0

    def actions(self) -> dict[str, str]:
        return dict(ACTIONS)

    def reset(self, seed: int) -> Observation:
        self._rng = random.Random(f"fake/{seed}")
        self._pos = (self._rng.randrange(1, WIDTH - 1), self._rng.randrange(1, HEIGHT - 1))
        self._gold = set()
        while len(self._gold) < 3:
            self._place_gold()
        self._collected, self._steps = 0, 0
        return self._observe("You enter the vault.")

    def _place_gold(self) -> None:
        while True:
            spot = (self._rng.randrange(1, WIDTH - 1), self._rng.randrange(1, HEIGHT - 1))
            if spot != self._pos and spot not in self._gold:
                self._gold.add(spot)
                return

    def step(self, action: str) -> Outcome:
        self._steps += 1
        if self.task == "crash" and self._steps >= self.max_steps // 2:
            raise FakeGameCrash(f"the fake game crashed at step {self._steps}")
        reward, message = 0.0, "Nothing happens."
        if action in MOVES:
            dx, dy = MOVES[action]
            x, y = self._pos[0] + dx, self._pos[1] + dy
            if 0 < x < WIDTH - 1 and 0 < y < HEIGHT - 1:
                self._pos, message = (x, y), f"You walk {action}."
            else:
                message = "You bump into a wall."
        elif action == "pick up":
            if self._pos in self._gold:
                self._gold.remove(self._pos)
                self._collected += 1
                self._place_gold()
                reward, message = 1.0, "You pick up a gold piece."
            else:
                message = "There is nothing here to pick up."
        done = self._steps >= self.max_steps
        return Outcome(self._observe(message), reward, done, self.progression())

    def progression(self) -> float:
        return min(1.0, self._collected / GOLD_FOR_FULL_PROGRESSION)

    def close(self) -> None:
        return None

    def _observe(self, message: str) -> Observation:
        x, y = self._pos
        lines = [f"message: {message}", f"position: ({x},{y})", "You see:"]
        for gx, gy in sorted(self._gold, key=lambda g: (abs(g[0] - x) + abs(g[1] - y), g)):
            lines.append(f"- gold {abs(gx - x) + abs(gy - y)} steps {_direction(gx - x, gy - y)}")
        walls = [d for d, (dx, dy) in MOVES.items() if not _inside(x + dx, y + dy)]
        lines.append(f"walls: {', '.join(walls) or 'none adjacent'}")
        lines.append(f"gold collected: {self._collected}")
        frame = self._png() if self.task == "pixels" else self._tty(message)
        facts: dict[str, object] = {"pos": (x, y), "gold": self._collected}
        return Observation("\n".join(lines), frame, facts)

    def _cells(self) -> list[list[str]]:
        rows = [["."] * WIDTH for _ in range(HEIGHT)]
        for r in range(HEIGHT):
            for c in range(WIDTH):
                if not _inside(c, r):
                    rows[r][c] = "-" if r in (0, HEIGHT - 1) else "|"
        for gx, gy in self._gold:
            rows[gy][gx] = "$"
        rows[self._pos[1]][self._pos[0]] = "@"
        return rows

    def _tty(self, message: str) -> Frame:
        chars = np.full((TTY_ROWS, TTY_COLS), ord(" "), dtype=np.uint8)
        colors = np.zeros((TTY_ROWS, TTY_COLS), dtype=np.uint8)
        chars[0, : len(message)] = np.frombuffer(message.encode("ascii")[:TTY_COLS], np.uint8)
        for r, row in enumerate(self._cells()):
            for c, ch in enumerate(row):
                chars[r + 1, c] = ord(ch)
                colors[r + 1, c] = {"$": 3, "@": 15, "-": 7, "|": 7}.get(ch, 7)
        status = f"Gold:{self._collected} T:{self._steps}"
        chars[TTY_ROWS - 1, : len(status)] = np.frombuffer(status.encode(), np.uint8)
        return Frame("tty", chars.tobytes() + colors.tobytes())

    def _png(self) -> Frame:
        palette = {".": (90, 160, 70), "$": (230, 200, 40), "@": (40, 40, 200)}
        pixels = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
        for r, row in enumerate(self._cells()):
            for c, ch in enumerate(row):
                pixels[r, c] = palette.get(ch, (110, 110, 110))
        image = Image.fromarray(pixels).resize((WIDTH * 6, HEIGHT * 6), Image.Resampling.NEAREST)
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        return Frame("png", buf.getvalue())


def _inside(x: int, y: int) -> bool:
    return 0 < x < WIDTH - 1 and 0 < y < HEIGHT - 1


def _direction(dx: int, dy: int) -> str:
    ns = "north" if dy < 0 else "south" if dy > 0 else ""
    ew = "west" if dx < 0 else "east" if dx > 0 else ""
    return "-".join(p for p in (ns, ew) if p) or "here"


def make_fake(task: str, max_steps: int | None) -> FakeGame:
    return FakeGame(task, max_steps)


register_game(GAME, TASKS, make_fake, default_scaffold=str(SCAFFOLD_DIR))
register_player(GAME, respond_fake)
