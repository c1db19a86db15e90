"""The embedded Crafter player: survive, collect, craft, and keep its notes in memory files.

PLAN, turn 0: act at once when the observation alone decides (drink at visible water, hit a
tree, craft at a table, …); otherwise consult memory (READ status for the position and the
achievements, TAIL actions_log for the way it faces, SEARCH map_notes for the thing it needs)
and decide in turn 1 from the results.
LOG: read what it wrote before, then record sightings, the last action's outcome, tools and
dangers. A pure function of the messages: everything carried between steps is in the files.
"""

from __future__ import annotations

from automem_core.llm.base import TurnRequest
from automem_core.llm.embedded import op_text
from automem_core.llm.embedded.crafter_log import log_reply
from automem_core.llm.embedded.crafter_memory import furnace_cost, last_move, read_memory
from automem_core.llm.embedded.crafter_moves import (
    Ctx,
    Rule,
    approach,
    blocked,
    explore,
    toward,
)
from automem_core.llm.embedded.crafter_view import (
    COMPASS,
    GROUND,
    MOVES,
    CrafterObs,
    Sighting,
    parse_crafter_observation,
)
from automem_core.llm.embedded.prompt_view import PromptView

HOSTILE = ("zombie", "skeleton")
LOW_VITAL = 6  # drink or food below this sends the player to water or a cow
LOW_HEALTH = 3  # at or below: no mining, and away from skeletons
OPPOSITE = {"north": "south", "south": "north", "east": "west", "west": "east"}
STATION_RANGE = 40  # a remembered table or furnace further off than this is not walked back to
TOOLS: tuple[tuple[str, dict[str, int], bool], ...] = (
    # (tool, what it uses, whether it also needs a furnace)
    ("wood_pickaxe", {"wood": 1}, False),
    ("wood_sword", {"wood": 1}, False),
    ("stone_pickaxe", {"wood": 1, "stone": 1}, False),
    ("stone_sword", {"wood": 1, "stone": 1}, False),
    ("iron_pickaxe", {"wood": 1, "coal": 1, "iron": 1}, True),
    ("iron_sword", {"wood": 1, "coal": 1, "iron": 1}, True),
)


# ----------------------------------------------------------------------------- wants


def near_station(obs: CrafterObs, kind: str) -> bool:
    """Within the 3×3 area crafting looks at (one step, or two steps diagonally)."""
    s = obs.seen.get(kind)
    return s is not None and (s.distance == 1 or (s.distance == 2 and not s.on_axis))


def craftable(ctx: Ctx) -> list[str]:
    """Tools not yet held whose materials are in the inventory."""
    out = []
    for tool, uses, furnace in TOOLS:
        affordable = ctx.inv(tool) == 0 and all(ctx.inv(k) >= n for k, n in uses.items())
        if affordable and (not furnace or near_station(ctx.obs, "furnace")):
            out.append(tool)
    return out


def urgent(ctx: Ctx) -> list[str]:
    """What a low vital needs: water to drink, a cow to eat."""
    needs = [("drink", "water"), ("food", "cow")]
    return [kind for vital, kind in needs if ctx.obs.vital(vital) < LOW_VITAL]


def wanted(ctx: Ctx) -> list[str]:
    """Kinds of things to collect, most urgent first."""
    out = urgent(ctx)
    tools_left = any(ctx.inv(tool) == 0 for tool, _, _ in TOOLS[:4])
    if ctx.inv("wood") < (6 if tools_left else 2):
        out.append("tree")
    if ctx.obs.vital("health") <= LOW_HEALTH:
        return out  # no mining while weak: skeletons guard the caves
    if ctx.inv("wood_pickaxe") and ctx.inv("stone") < ctx.furnace_stone + 2:
        out.append("stone")
    if ctx.inv("wood_pickaxe") and ctx.inv("coal") < 2:
        out.append("coal")
    if ctx.inv("stone_pickaxe") and ctx.inv("iron") < 2:
        out.append("iron")
    if ctx.inv("iron_pickaxe"):
        out.append("diamond")
    return out


# ----------------------------------------------------------------------------- rules


def rule_sleeping(ctx: Ctx) -> str | None:
    hostile_near = any(ctx.obs.within(k, 4) for k in HOSTILE)
    if ctx.obs.sleeping or (ctx.obs.vital("energy") < 3 and not hostile_near):
        return "Sleep"
    return None


def rule_retreat(ctx: Ctx) -> str | None:
    """Weak: walk away from a skeleton's arrows (zombies are faster; those are fought)."""
    s = ctx.obs.within("skeleton", 5)
    if ctx.obs.vital("health") > LOW_HEALTH or s is None:
        return None
    for direction in (OPPOSITE[d] for d in s.directions):
        if not blocked(ctx, direction):
            return MOVES[direction]
    return None


def rule_fight(ctx: Ctx) -> str | None:
    for kind in HOSTILE:
        s = ctx.obs.within(kind, 1)
        if s is not None:
            return approach(ctx, s)
    return None


def rule_vitals(ctx: Ctx) -> str | None:
    for vital, kind in (("drink", "water"), ("food", "cow")):
        s = ctx.obs.seen.get(kind)
        if ctx.obs.vital(vital) < LOW_VITAL and s is not None:
            return approach(ctx, s)
    if ctx.obs.facing == "water" and ctx.obs.vital("drink") < 9:
        return "Do"
    return None


def rule_craft(ctx: Ctx) -> str | None:
    tools = craftable(ctx)
    if not tools:
        return None
    if near_station(ctx.obs, "table"):
        return "Make " + tools[0].replace("_", " ").title()
    table = ctx.obs.seen.get("table")
    return toward_station(ctx, table) if table is not None else None


def toward_station(ctx: Ctx, station: Sighting) -> str | None:
    dx = sum(COMPASS[d][0] for d in station.directions)
    dy = sum(COMPASS[d][1] for d in station.directions)
    return toward(ctx, dx, dy)


def rule_place(ctx: Ctx) -> str | None:
    """Put down a table (first tools, later stone tools), a furnace, a sapling."""
    if ctx.obs.facing not in GROUND:
        return None
    wood = ctx.inv("wood")
    # the table costs 2 wood; keep some for the tools, unless trees are out of sight
    enough = wood >= 4 or (wood >= 3 and "tree" not in ctx.obs.seen)
    if "table" not in ctx.obs.seen and craftable(ctx) and enough:
        return "Place Table"
    if (
        near_station(ctx.obs, "table")
        and "furnace" not in ctx.obs.seen
        and ctx.inv("stone_pickaxe")
        and ctx.inv("stone") >= ctx.furnace_stone
    ):
        return "Place Furnace"
    if ctx.inv("sapling") and ctx.obs.facing in ("nothing", "grass"):
        return "Place Plant"
    return None


def rule_collect(ctx: Ctx) -> str | None:
    """The nearest visible thing worth collecting (what it faces first)."""
    kinds = wanted(ctx)
    if ctx.obs.facing in kinds:
        return "Do"
    needs = urgent(ctx)
    if needs and not any(k in ctx.obs.seen for k in needs):
        return None  # look up where the water or the cows were instead of mining on
    visible = [ctx.obs.seen[k] for k in kinds if k in ctx.obs.seen]
    for s in sorted(visible, key=lambda s: s.distance):
        act = approach(ctx, s)
        if act is not None:
            return act
    return None


def rule_achievements(ctx: Ctx) -> str | None:
    """Cheap achievements the status file says are still missing (memory turn only)."""
    assert ctx.mem is not None
    done = ctx.mem.achievements
    if "place_stone" not in done and ctx.inv("stone") and ctx.obs.facing in GROUND | {"water"}:
        return "Place Stone"
    calm = not any(k in ctx.obs.seen for k in HOSTILE)
    # a short nap (one energy point, about a dozen steps) while it is calm
    healthy = ctx.obs.vital("health") >= 8
    if "wake_up" not in done and ctx.obs.vital("energy") == 8 and calm and healthy:
        return "Sleep"
    for achievement, kind in (("eat_cow", "cow"), ("collect_drink", "water")):
        s = ctx.obs.within(kind, 5)
        if achievement not in done and s is not None:
            return approach(ctx, s)
    return None


def rule_remembered(ctx: Ctx) -> str | None:
    """Walk to where the notes say a wanted thing was, unless that spot is in view already."""
    assert ctx.mem is not None
    if ctx.mem.position is None:
        return None
    x, y = ctx.mem.position
    for kind in wanted(ctx):
        note = ctx.mem.notes.get(kind)
        if note is None or note.gone:
            continue
        dx, dy = note.x - x, note.y - y
        if abs(dx) <= 3 and abs(dy) <= 2:
            continue  # it would be in view if it were still there
        act = toward(ctx, dx, dy)
        if act is not None:
            return act
    return None


def station_wanted(ctx: Ctx) -> str | None:
    """A station out of view that the inventory could use now: the furnace (iron tools), or
    the table (stone tools, or a first furnace to place beside it)."""
    assert ctx.mem is not None
    seen, inv = ctx.obs.seen, ctx.inv
    iron_tools = not (inv("iron_pickaxe") and inv("iron_sword"))
    if iron_tools and inv("wood") and inv("coal") and inv("iron") and "furnace" not in seen:
        return "furnace" if "furnace" in ctx.mem.notes else "table"
    stone_tools = not (inv("stone_pickaxe") and inv("stone_sword"))
    first_furnace = "place_furnace" not in ctx.mem.achievements and inv("stone_pickaxe") > 0
    furnace_ready = first_furnace and inv("stone") >= ctx.furnace_stone
    if "table" not in seen and (furnace_ready or (stone_tools and inv("wood") and inv("stone"))):
        return "table"
    return None


def rule_station(ctx: Ctx) -> str | None:
    """Walk back to the remembered station the inventory could use (not too far off)."""
    assert ctx.mem is not None
    kind = station_wanted(ctx)
    note = ctx.mem.notes.get(kind) if kind is not None else None
    if note is None or note.gone or ctx.mem.position is None:
        return None
    dx, dy = note.x - ctx.mem.position[0], note.y - ctx.mem.position[1]
    if (abs(dx) <= 3 and abs(dy) <= 2) or abs(dx) + abs(dy) > STATION_RANGE:
        return None
    return toward(ctx, dx, dy)


def rule_sapling(ctx: Ctx) -> str | None:
    assert ctx.mem is not None
    if "collect_sapling" in ctx.mem.achievements or ctx.stuck or ctx.step % 2:
        return None
    return "Do" if ctx.obs.facing in ("nothing", "grass") else None


REFLEXES: tuple[Rule, ...] = (
    rule_sleeping,
    rule_fight,
    rule_retreat,
    rule_vitals,
    rule_craft,
    rule_place,
    rule_collect,
)
CONSIDERED: tuple[Rule, ...] = (rule_achievements, rule_station, rule_remembered, rule_sapling)


# ----------------------------------------------------------------------------- memory


def lookup(ctx: Ctx, view: PromptView) -> list[str]:
    """Turn-0 consultation: where it is and what it achieved (the status file, else its own
    logs), the way it faces, and the notes on the most wanted unseen thing."""
    ops = [op_text.read("status")] if view.has_file("status") else []
    if view.has_file("actions_log") and "actions_log" not in view.shown:
        ops.append(op_text.tail("actions_log", 3))
    if not view.has_file("status"):
        if view.has_file("crafting_progress"):
            ops.append(op_text.search("crafting_progress", "achieved"))
        if view.written_by_engine("actions_log"):
            ops.append(op_text.search("actions_log", "unlocked"))
    unseen = [k for k in wanted(ctx) if k not in ctx.obs.seen]
    if view.has_file("map_notes"):
        stations = [k for k in ("table", "furnace") if k not in ctx.obs.seen]
        for kind in [*unseen[:1], *stations]:
            ops.append(op_text.search("map_notes", kind))
    return ops


def decide(ctx: Ctx) -> str | None:
    for rule in REFLEXES:
        act = rule(ctx)
        if act is not None:
            # warned of going back and forth (or of no change): break the pattern
            return explore(ctx) if ctx.stuck and act.startswith("Move ") else act
    if ctx.mem is None:
        return None
    for rule in CONSIDERED:
        act = rule(ctx)
        if act is not None:
            return act
    return explore(ctx)


def plan_reply(view: PromptView, request: TurnRequest) -> str:
    obs = parse_crafter_observation(view.observation)
    ctx = Ctx(obs, request.step, view.stuck, furnace_cost(view.system))
    if request.phase == "plan" and request.turn == 0 and not view.consulted:
        act = decide(ctx)
        # a move while facing an obstacle may be a bump: first learn which way it faces
        if act is not None and not (act.startswith("Move ") and obs.facing not in GROUND):
            return op_text.action(act)
        ops = lookup(ctx, view)
        if ops:
            return op_text.reply(ops)
    ctx = Ctx(obs, request.step, view.stuck, ctx.furnace_stone, read_memory(view), last_move(view))
    return op_text.action(decide(ctx) or explore(ctx))


def respond(view: PromptView, request: TurnRequest) -> str:
    """The Crafter player's answer to one turn of any phase."""
    if request.phase == "log":
        obs = parse_crafter_observation(view.observation)
        return log_reply(view, obs, request.step, request.turn)
    return plan_reply(view, request)
