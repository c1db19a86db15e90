"""Realistic synthetic episodes written through the real store, for tests and benchmarks.

A scripted agent walks a small generated world and answers every LOG and PLAN turn in the real op
syntax; the completions go through the real parser, ops run against a real :class:`MemoryFiles`
folder, rows are made by the real :class:`StepRecorder` and published by the real
:class:`EpisodeWriter` with keyframes and frames (Crafter-like PNGs, NetHack-like 24×80 tty).
Everything is seeded, so the same arguments write the same store. Two agent-written lines that a
viewer must show literally are appended to ``notes`` at fixed steps: :data:`SCRIPT_LINE` and
:data:`BOLD_LINE`.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from automem_core.agent.actions import invalid_action_notice
from automem_core.agent.records import StepRecorder
from automem_core.llm.base import Completion, TurnRequest
from automem_core.memory import (
    FilePolicy,
    MemoryFiles,
    MemoryLimits,
    Mutation,
    OpResult,
    ParseResult,
    execute_ops,
    parse_completion,
)
from automem_core.scaffold.helpers import History, oscillation_warning, stuck_warning
from automem_core.store.layout import Layout
from automem_core.store.memory_at import INITIAL_STEP, encode_state
from automem_core.store.schema import EpisodeRow, FrameRow, MemorySnapshotRow, RunRow, StepRow
from automem_core.store.writer import EpisodeWriter, write_run

SCRIPT_LINE = "<script>alert(1)</script>"
BOLD_LINE = "**bold**"
SCRIPT_STEP, BOLD_STEP = 2, 3  # LOG phases that append these lines to `notes`
CLIENT = "synthetic:scripted"
MOVES = {"west": (-1, 0), "east": (1, 0), "north": (0, -1), "south": (0, 1)}
_DIRS = tuple(MOVES)


@dataclass(frozen=True)
class GameSpec:
    frame: str  # "png" | "tty"
    files: dict[str, int]  # name → max lines; keyed files are listed in `keyed`
    keyed: tuple[str, ...]
    initial: dict[str, str]
    move_action: str  # format with a direction name
    extra_actions: tuple[str, ...]
    default_action: str
    things: tuple[str, ...]  # what the notes file records


_CRAFTER_THINGS = ("water", "tree", "stone", "coal", "iron", "cow", "zombie", "table")
_NLE_THINGS = ("stairs down", "fountain", "door", "jackal", "newt", "dead end", "altar")
GAMES: dict[str, GameSpec] = {
    "crafter": GameSpec(
        "png",
        {
            "map_notes": 60,
            "crafting_progress": 40,
            "survival_log": 80,
            "actions_log": 50,
            "strategy": 30,
            "status": 20,
        },
        ("map_notes", "crafting_progress"),
        {
            "strategy": "Drink at water and eat cows before vitals fall below 4.\n"
            "Collect wood first, place a table, then make a wood pickaxe."
        },
        "Move {}",
        ("Do", "Noop", "Sleep", "Place Table", "Make Wood Pickaxe"),
        "Noop",
        _CRAFTER_THINGS,
    ),
    "nethack": GameSpec(
        "tty",
        {
            "dungeon_map": 120,
            "monster_encounters": 80,
            "inventory": 52,
            "actions_log": 50,
            "strategy": 30,
            "status": 20,
        },
        ("dungeon_map", "inventory"),
        {
            "strategy": "Explore to find the stairs down (>), note their position, then go down.",
            "inventory": "a: a +1 long sword (weapon in hand)\nb: an uncursed +3 small shield",
        },
        "{}",
        ("search", "down", "eat", "pickup", "esc"),
        "esc",
        _NLE_THINGS,
    ),
    "minihack": GameSpec(
        "tty",
        {"dungeon_map": 120, "actions_log": 50, "strategy": 30, "status": 20},
        ("dungeon_map",),
        {"strategy": "Find the stairs down (>) and walk onto them."},
        "{}",
        ("search", "esc"),
        "north",
        _NLE_THINGS,
    ),
}


def synthetic_episode_id(run_id: str, task: str, seed: int) -> str:
    return f"{run_id}.{task}.s{seed}"


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
            return _tty_bytes(self, status)
        key = (*self.pos, *inventory.values(), *vitals.values())
        if key not in self._cache:
            self._cache = self._cache if len(self._cache) < 4096 else {}
            self._cache[key] = _crafter_png(self, inventory, vitals)
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


def _crafter_png(world: World, inventory: dict[str, int], vitals: dict[str, int]) -> bytes:
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


def _tty_bytes(world: World, status: str) -> bytes:
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


_SYSTEM = (
    "You are an agent playing a long game. You have no memory of earlier steps except your memory "
    "files. LOG: record what is worth remembering, then <|DONE|>. PLAN: consult memory with "
    "SEARCH, READ, TAIL or COUNT, then commit one action with <|ACTION|>name<|END|>."
)
_NLE_NAMES = {
    ">": "stairs down",
    "{": "fountain",
    "+": "doorway",
    "d": "jackal",
    "F": "lichen",
    "$": "gold piece",
    ")": "long sword",
    "-": "horizontal wall",
    "|": "vertical wall",
    "#": "corridor",
    "%": "food ration",
}
_NLE_DLVL = (0.0, 0.01539, 0.01754, 0.02122, 0.02648, 0.03543, 0.04846)


class _Episode:
    """One scripted episode: the world, the player's habits, its memory and its recorder."""

    def __init__(self, game: str, seed: int, eid: str, rng: random.Random, writer: EpisodeWriter):
        self.game, self.seed, self.eid, self.rng, self.writer = game, seed, eid, rng, writer
        self.spec = spec = GAMES[game]
        policies = {
            n: FilePolicy(cap, "drop_oldest", n in spec.keyed, n != "status")
            for n, cap in spec.files.items()
        }
        map_file = "dungeon_map" if "dungeon_map" in spec.files else None
        default = FilePolicy(200, "drop_oldest")
        self.files = MemoryFiles(writer.memory_dir, MemoryLimits(), policies, default, map_file)
        self.files.initialise({n: spec.initial.get(n, "") for n in spec.files}, INITIAL_STEP)
        self.rec = StepRecorder(eid, writer.add)
        self.world = World(game, rng)
        self.heading, self.bumped, self.level = "east", False, 0
        self.seen: dict[str, tuple[tuple[int, int], str]] = {}
        self.history = History()
        self.inventory = {"wood": 0, "stone": 0, "coal": 0}
        self.vitals = {"health": 9, "food": 9, "drink": 9, "energy": 9}
        title = spec.move_action.startswith("Move")
        self.moves = {d: spec.move_action.format(d.title() if title else d) for d in _DIRS}

    def observation(self, step: int) -> str:
        near, pos = self.world.nearby(), self.world.pos
        if self.game == "crafter":
            seen = [
                f"- {t} {abs(dx) + abs(dy)} steps to your {'north' if dy < 0 else 'south'}-"
                f"{'west' if dx < 0 else 'east'}"
                for t, dx, dy in near
            ]
            inv = [f"- {k}: {v}" for k, v in self.inventory.items() if v]
            return "\n".join(
                [
                    "You see:",
                    *(seen or ["- nothing of note"]),
                    "",
                    "You face grass at your front.",
                    "",
                    "Your status:",
                    *(f"- {k}: {v}/9" for k, v in self.vitals.items()),
                    "",
                    "Your inventory:",
                    *(inv or ["You have nothing in your inventory."]),
                ]
            )
        lang = [
            f"{_NLE_NAMES.get(t, t)} {'adjacent' if abs(dx) + abs(dy) == 1 else 'near'} "
            f"{'north' if dy < 0 else 'south'}{'west' if dx < 0 else 'east'}"
            for t, dx, dy in near
        ]
        tty = _tty_bytes(self.world, self.status_line(step))
        rows = [tty[i * 80 : (i + 1) * 80].decode("ascii").rstrip() for i in range(1, 24)]
        cursor = f"Yourself a valkyrie (x={pos[0]}, y={pos[1]})"
        return "\n".join(
            [
                "message:",
                "",
                "language observation:",
                *lang,
                "",
                "cursor:",
                cursor,
                "",
                "map:",
                *rows,
            ]
        )

    def status_line(self, step: int) -> str:
        return f"Dlvl:{self.level + 1} $:0 HP:14(14) Pw:4(4) AC:6 Xp:1/0 T:{step + 1}"

    def warnings(self) -> list[str]:
        found = (stuck_warning(self.history, 3), oscillation_warning(self.history, 6))
        return [w for w in found if w]

    def choose(self, step: int) -> str:
        r = self.rng.random()
        if r < 0.03:
            return "Fly to the moon"  # invalid: the default action is played instead
        if r < 0.12:
            return self.rng.choice(self.spec.extra_actions)
        if r < 0.25 or (self.bumped and r < 0.8):
            self.heading = self.rng.choice(_DIRS)
        if (step // 40) % 9 == 4:  # a stretch of back-and-forth moves
            self.heading = "west" if step % 2 else "east"
        return self.moves[self.heading]

    def turn(
        self, step: int, phase: str, turn: int, user: list[dict[str, str]], text: str
    ) -> tuple[ParseResult, list[OpResult]]:
        messages = [{"role": "system", "content": _SYSTEM}, *user]
        parsed = parse_completion(text)
        results = execute_ops(self.files, parsed.ops, step, read_only=phase == "plan")
        chars = sum(len(m["content"]) for m in messages)
        completion = Completion(text, chars // 4, len(text) // 4, self.rng.uniform(150, 900))
        request = TurnRequest(messages, self.game, phase, step, turn, self.eid)  # type: ignore[arg-type]
        self.rec.pending_turn(CLIENT, request, completion)
        self.rec.finish_turn(step, phase, turn, text, parsed, list(parsed.errors), results)
        return parsed, results

    def index(self) -> str:
        return "\n".join(
            f"- {n} ({len(f.lines)} lines)" for n, f in sorted(self.files.state.items())
        )

    def log_phase(self, step: int, obs: str, last: str) -> None:
        ops = [f"<|APPEND|>actions_log|step {step - 1}: {last}<|END|>"]
        ops += [
            f"<|APPEND|>notes|{line}<|END|>"
            for s, line in ((SCRIPT_STEP, SCRIPT_LINE), (BOLD_STEP, BOLD_LINE))
            if s == step
        ]
        for thing, dx, dy in self.world.nearby():
            x, y = self.world.pos[0] + dx, self.world.pos[1] + dy
            previous = self.seen.get(thing)
            if previous is not None and previous[0] == (x, y):
                if self.rng.random() < 0.03:  # a redundant write: the same line again
                    ops.append(previous[1])
                    break
                continue
            if self.game == "crafter":
                op = f"<|UPSERT|>{self.spec.keyed[0]}|{thing}|near ({x},{y}) at step {step}<|END|>"
            else:
                op = f"<|UPSERT_MAP|>{x},{y}|{thing} [step {step}]<|END|>"
            self.seen[thing] = ((x, y), op)
            ops.append(op)
            break
        if self.rng.random() < 0.02:
            target = self.rng.choice(self.spec.things)
            ops.append(f"<|WRITE|>strategy|Head for the nearest {target}.\nAvoid circles.<|END|>")
        user = (
            f"[LOG phase] Step {step}.\nPrevious action: {last}\n\nObservation:\n{obs}\n\n"
            f"Memory files:\n{self.index()}"
        )
        text = "Recording what happened.\n" + "\n".join(ops) + "\n<|DONE|>"
        self.turn(step, "log", 0, [{"role": "user", "content": user}], text)

    def plan_phase(self, step: int, obs: str, warnings: list[str]) -> str | None:
        user = [
            {
                "role": "user",
                "content": f"[PLAN phase] Step {step}.\n\nObservation:\n{obs}"
                f"\n\nMemory files:\n{self.index()}\n" + "\n".join(warnings),
            }
        ]
        target = self.rng.choice(self.spec.things)
        ops = [f"<|SEARCH|>{self.spec.keyed[0]}|{target}<|END|>"]
        ops += ["<|TAIL|>actions_log|3<|END|>"] if step % 7 == 3 else []
        ops += ["<|READ|>notes<|END|>"] if step > BOLD_STEP and step % 25 == 5 else []
        raw = self.choose(step)
        if self.rng.random() < 0.3:  # ops and the action in one turn
            parsed, _ = self.turn(
                step, "plan", 0, user, "\n".join([*ops, f"<|ACTION|>{raw}<|END|>"])
            )
            return parsed.action
        _, results = self.turn(step, "plan", 0, user, f"Where is the {target}?\n" + "\n".join(ops))
        user += [
            {"role": "assistant", "content": "\n".join(ops)},
            {"role": "user", "content": "\n\n".join(r.text for r in results)},
        ]
        parsed, _ = self.turn(step, "plan", 1, user, f"I will go on.\n<|ACTION|>{raw}<|END|>")
        return parsed.action

    def advance(self, action: str, progress: float) -> tuple[float, float, str]:
        """Play ``action``: (reward, progression, what happened)."""
        direction = next((d for d, a in self.moves.items() if a == action), None)
        self.bumped = direction is not None and not self.world.move(direction)
        outcome = (
            "nothing happened"
            if direction is None
            else (f"blocked to the {direction}" if self.bumped else f"moved {direction}")
        )
        if self.game == "crafter":
            if self.rng.random() < 0.03 * (1 - progress) ** 3:
                self.inventory["wood"] += 1
                return 1.0, progress + 1 / 22, f"{outcome}; unlocked an achievement"
            self.vitals["food"] = max(1, self.vitals["food"] - (self.rng.random() < 0.04))
            return 0.0, progress, outcome
        if self.game == "nethack" and self.rng.random() < 0.004 and self.level < 6:
            self.level += 1
            return 5.0, _NLE_DLVL[self.level], f"{outcome}; went down the stairs"
        return (-0.01 if self.game == "minihack" else 0.0), progress, outcome


def write_synthetic_episode(
    layout: Layout,
    run_id: str,
    game: str,
    task: str,
    seed: int,
    steps: int,
    keyframe_every: int = 200,
    fail_at: int | None = None,
    scaffold_id: str | None = None,
) -> EpisodeRow:
    """Play and publish one scripted episode; ``fail_at`` makes it end as an error row there."""
    scaffold_id = scaffold_id or f"{game}-v0"
    eid = synthetic_episode_id(run_id, task, seed)
    writer = EpisodeWriter(layout, run_id, eid)
    ep = _Episode(game, seed, eid, random.Random(f"{scaffold_id}/{task}/{seed}"), writer)
    writer.add(
        "memory_snapshots", MemorySnapshotRow(eid, INITIAL_STEP, encode_state(ep.files.state))
    )
    totals = dict.fromkeys(("reward", "invalid", "calls", "tokens_in", "tokens_out", "ms"), 0.0)
    progression, notice, last, done = 0.0, "", "none", False
    for step in range(steps if fail_at is None else fail_at):
        progression, notice, last, done = _step(
            ep, step, steps, keyframe_every, progression, notice, last, totals
        )
    error = None if fail_at is None else f"RuntimeError: synthetic failure at step {fail_at}"
    row = EpisodeRow(
        episode_id=eid,
        run_id=run_id,
        game=game,
        task=task,
        seed=seed,
        scaffold_id=scaffold_id,
        scaffold_hash="synthetic",
        memory_client=CLIENT,
        action_client=CLIENT,
        status="ok" if error is None else "error",
        error=error,
        end_reason="error" if error else ("done" if done else "max_steps"),
        steps=steps if fail_at is None else fail_at,
        total_reward=totals["reward"],
        progression=progression,
        invalid_actions=int(totals["invalid"]),
        tokens_in=int(totals["tokens_in"]),
        tokens_out=int(totals["tokens_out"]),
        llm_calls=int(totals["calls"]),
        retries=0,
        wall_s=totals["ms"] / 1000,
        started_at=_AT,
        finished_at=_AT,
        parent_episode_id=None,
        fork_step=None,
    )
    writer.commit(row)
    return row


def _step(
    ep: _Episode,
    step: int,
    steps: int,
    keyframe_every: int,
    progression: float,
    notice: str,
    last: str,
    totals: dict[str, float],
) -> tuple[float, str, str, bool]:
    """One step as the agent runs it: frame, status helper, LOG, PLAN, validated action."""
    obs = ep.observation(step)
    ep.history.record(obs, ep.world.pos)
    frame = ep.world.frame(ep.inventory, ep.vitals, ep.status_line(step))
    ep.writer.add("frames", FrameRow(ep.eid, step, ep.spec.frame, frame))
    text = f"{notice}\n{obs}" if notice else obs
    status = Mutation(kind="write", file="status", text=f"step: {step}\nposition: {ep.world.pos}")
    ep.files.apply(status, step)
    ep.rec.helper_write(step, "status", status)
    warnings = ep.warnings()
    if step > 0:
        ep.log_phase(step, text, last)
    raw = ep.plan_phase(step, text, warnings)
    valid = raw is not None and (raw in ep.moves.values() or raw in ep.spec.extra_actions)
    action = raw if valid and raw is not None else ep.spec.default_action
    reward, progression, outcome = ep.advance(action, progression)
    done = ep.game == "minihack" and step == steps - 1 and ep.seed % 2 == 0
    reward, progression = (1.0, 1.0) if done else (reward, progression)
    c = ep.rec.start_step()
    env_ms = ep.rng.uniform(0.2, 3.0)
    ep.writer.add(
        "steps",
        StepRow(
            ep.eid,
            step,
            text,
            action,
            None if valid else raw,
            valid,
            reward,
            done,
            progression,
            warnings,
            c.n_log_turns,
            c.n_plan_turns,
            c.n_ops,
            c.n_writes,
            c.tokens_in,
            c.tokens_out,
            c.llm_ms,
            env_ms,
        ),
    )
    for key, value in (
        ("reward", reward),
        ("invalid", not valid),
        ("calls", c.llm_calls),
        ("tokens_in", c.tokens_in),
        ("tokens_out", c.tokens_out),
        ("ms", c.llm_ms + env_ms),
    ):
        totals[key] += value
    if (step + 1) % keyframe_every == 0:
        state = encode_state(ep.files.state)
        ep.writer.add("memory_snapshots", MemorySnapshotRow(ep.eid, step, state))
    notice = "" if valid else invalid_action_notice(raw, action)
    return progression, notice, f"{action} -> {outcome}", done


DEFAULT_TASKS = {
    "crafter": ("default",),
    "nethack": ("NetHackChallenge",),
    "minihack": ("MazeWalk-9x9",),
}
_AT = "2025-01-01T00:00:00.000+00:00"


def write_synthetic_run(
    root: Path,
    *,
    game: str = "crafter",
    tasks: tuple[str, ...] | None = None,
    seeds: tuple[int, ...] = (0,),
    steps: int = 60,
    run_id: str | None = None,
    scaffold_id: str | None = None,
    keyframe_every: int = 200,
    fail_seeds: tuple[int, ...] = (),
    status: str = "finished",
) -> str:
    """Write a run row and its episodes under ``root`` (``fail_seeds`` end in an error halfway);
    returns the run id."""
    layout = Layout(root)
    tasks = tasks or DEFAULT_TASKS[game]
    scaffold_id = scaffold_id or f"{game}-v0"
    run_id = run_id or f"{scaffold_id}-synthetic-{steps}"
    row = RunRow(
        run_id=run_id,
        game=game,
        tasks=list(tasks),
        seeds=list(seeds),
        scaffold_id=scaffold_id,
        scaffold_hash="synthetic",
        memory_client=CLIENT,
        action_client=CLIENT,
        model_config_json=json.dumps({"memory": {"backend": CLIENT}}),
        max_steps=steps,
        status="running",
        created_at=_AT,
        updated_at=_AT,
        episodes_planned=len(tasks) * len(seeds),
    )
    write_run(layout, row)
    for task in tasks:
        for seed in seeds:
            fail_at = steps // 2 if seed in fail_seeds else None
            write_synthetic_episode(
                layout, run_id, game, task, seed, steps, keyframe_every, fail_at, scaffold_id
            )
    write_run(layout, dataclasses.replace(row, status=status))
    return run_id


def write_sample_store(root: Path, steps: int = 40) -> list[str]:
    """A small store with every game, two scaffold versions and one failed episode."""
    v1 = "crafter-v1"
    return [
        write_synthetic_run(root, game="crafter", seeds=(0, 1), steps=steps),
        write_synthetic_run(root, game="crafter", seeds=(0, 1), steps=steps, scaffold_id=v1),
        write_synthetic_run(root, game="nethack", steps=steps),
        write_synthetic_run(
            root,
            game="minihack",
            tasks=("MazeWalk-9x9", "Corridor-R3"),
            seeds=(0, 1),
            steps=steps,
            fail_seeds=(1,),
        ),
    ]
