"""The embedded NetHack / MiniHack player: find the stairs down, remember them, go down.

PLAN, turn 0: answer prompts, eat, fight what is adjacent, or walk a shortest path to a ``>``
in view. Otherwise consult memory (SEARCH dungeon_map for stairs, dead ends and blocked cells
and, where the map is keyed, the rows it explored on this level; TAIL actions_log for where it
walked lately) and decide in turn 1: go to (or down) remembered stairs,
else walk to the nearest place where the map may go on and that it has not stood beside, else
search at dead ends for hidden passages, else follow the wall on the right. LOG: ``nle_log``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from automem_core.llm.base import TurnRequest
from automem_core.llm.embedded import op_text
from automem_core.llm.embedded.nle_log import (
    blocked_notes,
    dead_end_notes,
    explored_rows,
    keyed_map,
    level_word,
    log_reply,
    logged_action,
    stair_notes,
    visited_positions,
)
from automem_core.llm.embedded.nle_nav import (
    ORDER,
    SQUEEZE_FAILS,
    Terrain,
    any_step,
    follow_wall,
    frontiers,
    greedy_step,
    is_end,
    observed_from,
    shortest_path,
    straight_run,
)
from automem_core.llm.embedded.nle_view import CARDINALS, DIRS, NLEObs, parse_nle_observation
from automem_core.llm.embedded.prompt_view import PromptView

FOOD_WORDS: tuple[str, ...] = (
    "food ration",
    "cram",
    "lembas",
    "apple",
    "carrot",
    "fortune cookie",
    "pancake",
    "melon",
    "orange",
    "banana",
    "cookie",
    "candy",
    "egg",
    "kelp",
    "slime mold",
)
QUESTION_RE = re.compile(r"\?\s*(\[[^\]]*\])?\s*$|\[[yn][^\]]*\]")
ACTIONS_TAIL = 50
BUMPS = ("It's a wall", "It's solid stone")
SEARCHES_AT_DEAD_END = 10
PRAY_EVERY = 1000  # steps between prayers, as the strategy note says
PRAYED_RE = re.compile(r"prayed at step (\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class GameRules:
    game: str
    default_action: str
    searches_dead_ends: bool  # search where a corridor ends, for hidden corridor squares
    kicks_locked_doors: bool  # not in the full game: a locked door may be a closed shop


MINIHACK = GameRules("minihack", "north", searches_dead_ends=True, kicks_locked_doors=True)
NETHACK = GameRules("nethack", "esc", searches_dead_ends=True, kicks_locked_doors=False)


@dataclass(frozen=True)
class Ctx:
    obs: NLEObs
    terrain: Terrain
    step: int
    stuck: bool
    rules: GameRules
    allowed: frozenset[str]

    def ok(self, name: str) -> bool:
        return not self.allowed or name in self.allowed

    def pick(self, *names: str) -> str | None:
        return next((n for n in names if self.ok(n)), None)


# ----------------------------------------------------------------------------- turn 0


def answer_prompt(ctx: Ctx) -> str | None:
    msg = ctx.obs.message
    if not msg:
        return None
    if "What do you want to eat" in msg:
        food = food_letter(ctx.obs)
        return ctx.pick(food) if food else ctx.pick("esc")
    if "Are you sure you want to pray" in msg:
        return ctx.pick("y")
    if "In what direction" in msg:
        doors = [d for d in ctx.obs.adjacent("door") if d in CARDINALS]
        return ctx.pick(doors[0], "esc") if doors else ctx.pick("esc")
    if "This door is locked" in msg and ctx.rules.kicks_locked_doors:
        return ctx.pick("kick")
    if "staircase down here" in msg:
        return ctx.pick("down")
    if QUESTION_RE.search(msg.split("\n")[-1]) or "--More--" in msg:
        return ctx.pick("esc")
    return None


def food_letter(obs: NLEObs) -> str | None:
    for letter, item in obs.inventory.items():
        if any(word in item for word in FOOD_WORDS) and "tin" not in item.split():
            return letter
    return None


def attack(ctx: Ctx) -> str | None:
    """Walk into an adjacent monster that is neither tame nor peaceful."""
    if ctx.obs.agent is None:
        return None
    ax, ay = ctx.obs.agent
    friendly = {
        d
        for s in ctx.obs.language
        if s.distance == "adjacent" and s.name.startswith(("tame", "peaceful"))
        for d in s.directions
    }
    for direction in ORDER:
        dx, dy = DIRS[direction]
        c = ctx.obs.cell(ax + dx, ay + dy)
        if c.isalpha() and direction not in friendly and ctx.terrain.can_step(ax, ay, direction):
            return ctx.pick(direction)
    return None


def go_to(ctx: Ctx, goal: tuple[int, int]) -> str | None:
    """A shortest known path's first move (``far`` for a long straight stretch), else greedy."""
    start = ctx.obs.agent
    if start is None:
        return None
    if start == goal:
        return ctx.pick("down")
    path = shortest_path(ctx.terrain, start, goal)
    if not path:
        step = greedy_step(ctx.terrain, start, goal)
        return ctx.pick(step) if step else None
    run = straight_run(path)
    if run >= 3 and not runs_on(ctx, start, path[0], run):
        far = ctx.pick(f"far {path[0]}")
        if far is not None:
            return far
    return ctx.pick(path[0])


def runs_on(ctx: Ctx, start: tuple[int, int], direction: str, run: int) -> bool:
    """Whether running would go past the end of a straight stretch (the next cell is open)."""
    dx, dy = DIRS[direction]
    return ctx.terrain.can_step(start[0] + dx * run, start[1] + dy * run, direction)


def reflex(ctx: Ctx) -> str | None:
    """What the observation alone decides."""
    act = answer_prompt(ctx)
    if act is not None:
        return act
    if ctx.obs.hungry and food_letter(ctx.obs) and ctx.ok("eat"):
        return "eat"
    act = attack(ctx)
    if act is not None:
        return act
    for stairs in ctx.obs.find(">"):
        act = go_to(ctx, stairs)
        if act is not None:
            return act
    return None


# ----------------------------------------------------------------------------- turn 1


def trail(view: PromptView) -> tuple[str, ...]:
    """The newest actions_log lines: a TAIL (or READ) result, else what a helper shows."""
    block = view.find("TAIL", "actions_log") or view.find("READ", "actions_log")
    if block is not None:
        return block.content
    return view.shown.get("actions_log", ())


def recent_actions(view: PromptView) -> list[str]:
    """Actions of the newest actions_log lines, oldest first."""
    return [a for line in trail(view) if (a := logged_action(line)) is not None]


def heading_of(actions: list[str], step: int) -> str:
    """The cardinal heading of the newest move; diagonals keep one part, by step parity."""
    for act in reversed(actions):
        name = act.removeprefix("far ").strip()
        if name in CARDINALS:
            return name
        if name in DIRS:
            ns, ew = (
                ("north" if "north" in name else "south"),
                ("east" if "east" in name else "west"),
            )
            return ns if step % 2 == 0 else ew
    return CARDINALS[(step // 10) % 4]


def trailing_searches(actions: list[str]) -> int:
    n = 0
    while n < len(actions) and actions[-1 - n] == "search":
        n += 1
    return n


def explore(ctx: Ctx, view: PromptView) -> str | None:
    """Walk to the nearest place where the map may go on (judged from the positions
    actions_log recorded); with none left, search at corridor ends for hidden passages,
    moving between the dead ends dungeon_map remembers; else follow the wall on the right."""
    pos = ctx.obs.agent
    if pos is None:
        return None
    if ctx.stuck:
        step = any_step(ctx.terrain, pos, ctx.step * 3)
        return ctx.pick(step) if step else None
    rows = view.find("SEARCH", "dungeon_map", f"dlvl {level_word(ctx.obs.dlvl)} row")
    walked = explored_rows(rows.content, ctx.obs.dlvl) if rows is not None else set()
    visited = visited_positions(trail(view)) | walked | {pos}
    for goals in frontiers(ctx.terrain, observed_from(visited)):
        path = shortest_path(ctx.terrain, pos, goals - {pos})
        if path:
            return ctx.pick(path[0])
    actions = recent_actions(view)
    if ctx.rules.searches_dead_ends and ctx.ok("search"):
        if is_end(ctx.terrain, *pos) and trailing_searches(actions) < SEARCHES_AT_DEAD_END:
            return "search"
        block = view.find("SEARCH", "dungeon_map", "dead end")
        path = shortest_path(ctx.terrain, pos, dead_end_notes(block.content if block else ()))
        if path:
            return ctx.pick(path[0])
    direction = follow_wall(ctx.terrain, pos, heading_of(actions, ctx.step))
    if direction is None:
        step = any_step(ctx.terrain, pos, ctx.step)
        return ctx.pick(step) if step else ctx.pick("search")
    return ctx.pick(direction)


def dying(obs: NLEObs) -> bool:
    """NetHack's own "low hit points" trouble, which a prayer can fix."""
    hp = obs.hp
    return hp is not None and (hp[0] <= 5 or hp[0] * 7 <= hp[1])


def pray_if_dying(ctx: Ctx, view: PromptView) -> str | None:
    """Pray when dying, unless the strategy notes (searched this turn) say it prayed lately."""
    block = view.find("SEARCH", "strategy", "pray")
    if not dying(ctx.obs) or not ctx.ok("pray") or block is None or block.error:
        return None
    steps = [int(m.group(1)) for line in block.content if (m := PRAYED_RE.search(line))]
    if steps and ctx.step - max(steps) < PRAY_EVERY:
        return None
    return "pray"


def considered(ctx: Ctx, view: PromptView) -> str | None:
    """What the consultation results decide: remembered stairs, a prayer, or exploring."""
    block = view.find("SEARCH", "dungeon_map", "stairs")
    for x, y in stair_notes(block.content if block else (), ctx.obs.dlvl):
        act = go_to(ctx, (x, y))
        if act is not None:
            return act
    return pray_if_dying(ctx, view) or explore(ctx, view)


def lookups(ctx: Ctx, view: PromptView) -> list[str]:
    """Stairs, dead ends and blocked cells in dungeon_map, the rows explored on this level
    (where the map is keyed and keeps them), and the newest actions_log lines (unless the
    prompt already shows enough of them)."""
    ops = []
    if view.has_file("dungeon_map"):
        ops.append(op_text.search("dungeon_map", "stairs"))
        ops.append(op_text.search("dungeon_map", "dead end"))
        ops.append(op_text.search("dungeon_map", "blocked"))
        if keyed_map(view):
            ops.append(op_text.search("dungeon_map", f"dlvl {level_word(ctx.obs.dlvl)} row"))
    if view.has_file("actions_log") and len(view.shown.get("actions_log", ())) < ACTIONS_TAIL:
        ops.append(op_text.tail("actions_log", ACTIONS_TAIL))
    if view.has_file("strategy") and ctx.rules.game == "nethack" and dying(ctx.obs):
        ops.append(op_text.search("strategy", "pray"))
    return ops


def remembered_blocks(view: PromptView, obs: NLEObs) -> frozenset[tuple[int, int]]:
    """Cells dungeon_map marks blocked (boulders that will not move, locked doors where no
    kicking is done), and the cell the last move (from
    actions_log) bumped into when the game says it is a wall or solid stone."""
    block = view.find("SEARCH", "dungeon_map", "blocked")
    blocked = set(blocked_notes(block.content if block else ()))
    actions = recent_actions(view)
    last = actions[-1].removeprefix("far ").strip() if actions else ""
    if obs.agent is not None and last in DIRS and any(w in obs.message for w in BUMPS):
        blocked.add((obs.agent[0] + DIRS[last][0], obs.agent[1] + DIRS[last][1]))
    return frozenset(blocked)


def plan_reply(view: PromptView, request: TurnRequest, rules: GameRules) -> str:
    obs = parse_nle_observation(view.observation)
    squeezed = any(SQUEEZE_FAILS in line for line in trail(view))
    terrain = Terrain.of(obs, remembered_blocks(view, obs), squeeze=not squeezed)
    ctx = Ctx(obs, terrain, request.step, view.stuck, rules, frozenset(view.actions))
    act = reflex(ctx)
    if act is not None:
        return op_text.action(act)
    if request.phase == "plan" and request.turn == 0 and not view.consulted:
        ops = lookups(ctx, view)
        if ops:
            return op_text.reply(ops)
    return op_text.action(considered(ctx, view) or rules.default_action)


def respond(view: PromptView, request: TurnRequest, rules: GameRules) -> str:
    if request.phase == "log":
        obs = parse_nle_observation(view.observation)
        return log_reply(view, obs, request.step, request.turn, not rules.kicks_locked_doors)
    return plan_reply(view, request, rules)


def respond_minihack(view: PromptView, request: TurnRequest) -> str:
    return respond(view, request, MINIHACK)


def respond_nethack(view: PromptView, request: TurnRequest) -> str:
    return respond(view, request, NETHACK)
