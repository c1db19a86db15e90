"""The scripted player: its habits, and the LOG and PLAN turns it answers in the real op syntax.

Completions go through the real parser, ops run against a real :class:`MemoryFiles` folder and
rows are made by the real :class:`StepRecorder`. Two agent-written lines that a viewer must show
literally are appended to ``notes`` at fixed steps: :data:`SCRIPT_LINE` and :data:`BOLD_LINE`.
"""

from __future__ import annotations

import random

from automem_core.agent.records import StepRecorder
from automem_core.llm.base import Completion, TurnRequest
from automem_core.memory import (
    FilePolicy,
    MemoryFiles,
    MemoryLimits,
    OpResult,
    ParseResult,
    execute_ops,
    parse_completion,
)
from automem_core.scaffold.helpers import History, oscillation_warning, stuck_warning
from automem_core.store.memory_at import INITIAL_STEP
from automem_core.store.writer import EpisodeWriter
from automem_core.synthetic.games import GAMES
from automem_core.synthetic.world import MOVES, World, render_tty

SCRIPT_LINE = "<script>alert(1)</script>"
BOLD_LINE = "**bold**"
SCRIPT_STEP, BOLD_STEP = 2, 3  # LOG phases that append these lines to `notes`
CLIENT = "synthetic:scripted"
_DIRS = tuple(MOVES)

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


class ScriptedEpisode:
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
        tty = render_tty(self.world, self.status_line(step))
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
