"""The NetHack / MiniHack player's LOG phase.

Turn 0 reads what the writes depend on (is this stair or dead end already in ``dungeon_map``?
what does ``inventory`` hold?); turn 1 writes, through UPSERT_MAP, ``dungeon_map`` lines
``(x,y): stairs down (>) on dlvl D [step N]``, ``(x,y): dead end …`` and ``(x,y): blocked:
boulder that will not move …`` / ``blocked: locked door …``; one ``actions_log`` line per step,
``step N: <action> -> at (x,y); <message>`` (the positions let PLAN tell where it has walked);
adjacent monsters to ``monster_encounters`` (only where that file exists); changed
``inventory`` lines; and a ``strategy`` note after praying.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from automem_core.llm.embedded import op_text
from automem_core.llm.embedded.nle_nav import STUCK_BOULDER, Terrain, is_end
from automem_core.llm.embedded.nle_view import DIRS, NLEObs
from automem_core.llm.embedded.prompt_view import PromptView

_KEY_RE = re.compile(r"^\s*\((-?\d+)\s*,\s*(-?\d+)\)\s*:\s*(.*)$")
_DLVL_RE = re.compile(r"dlvl\s*(\d+)", re.IGNORECASE)
_PICKED_RE = re.compile(r"^[a-zA-Z] - ", re.MULTILINE)
ITEM_ACTIONS = frozenset(
    {
        "eat",
        "drop",
        "droptype",
        "quaff",
        "read",
        "pickup",
        "puton",
        "remove",
        "wear",
        "takeoff",
        "takeoffall",
        "wield",
        "throw",
        "fire",
        "zap",
        "apply",
        "dip",
        "offer",
        "pay",
    }
)
FIGHT_WORDS = ("hit", "miss", "kill", "bite", "destroy", "touch", "sting")
MAX_WRITES = 14
PRAY_GAP = 1000  # steps between prayers (the prayer timeout is several hundred turns)
BLOCKED = "blocked:"  # dungeon_map lines of cells not to walk into
LOCKED = "This door is locked"
MESSAGE_CHARS = 40
_AT_RE = re.compile(r"-> at \((-?\d+),(-?\d+)\)")


def map_lines(lines: Iterable[str]) -> dict[tuple[int, int], str]:
    out = {}
    for line in lines:
        match = _KEY_RE.match(line)
        if match is not None:
            out[(int(match.group(1)), int(match.group(2)))] = match.group(3)
    return out


def dead_end_notes(lines: Iterable[str]) -> set[tuple[int, int]]:
    return {pos for pos, text in map_lines(lines).items() if "dead end" in text.lower()}


def stair_notes(lines: Iterable[str], dlvl: int | None) -> list[tuple[int, int]]:
    """Positions of stairs down in ``dungeon_map`` lines, on this level when the line says."""
    out = []
    for pos, text in map_lines(lines).items():
        low = text.lower()
        if "stairs down" not in low and "staircase down" not in low and ">" not in low:
            continue
        level = _DLVL_RE.search(low)
        if level is not None and dlvl is not None and int(level.group(1)) != dlvl:
            continue
        out.append(pos)
    return out


def at_dead_end(obs: NLEObs) -> bool:
    """Standing at the end of a corridor (at most one way on, orthogonally)."""
    return obs.agent is not None and is_end(Terrain.of(obs), *obs.agent)


def item_change_possible(view: PromptView, obs: NLEObs, step: int) -> bool:
    prev = (view.previous_action or "").strip()
    return (
        step <= 1 or prev in ITEM_ACTIONS or len(prev) == 1 or bool(_PICKED_RE.search(obs.message))
    )


def log_reads(view: PromptView, obs: NLEObs, step: int) -> list[str]:
    ops = []
    if view.has_file("dungeon_map"):
        if obs.find(">"):
            ops.append(op_text.search("dungeon_map", "stairs"))
        if at_dead_end(obs):
            ops.append(op_text.search("dungeon_map", "dead end"))
    if view.has_file("inventory") and obs.inventory and item_change_possible(view, obs, step):
        ops.append(op_text.read("inventory"))
    return ops


def _content(view: PromptView, kind: str, file: str, keyword: str | None = None) -> tuple[str, ...]:
    block = view.find(kind, file, keyword)
    return block.content if block is not None else ()


def blocked_ahead(
    view: PromptView, obs: NLEObs, locked_blocks: bool
) -> tuple[tuple[int, int], str] | None:
    """A cell the last move could not enter for good (a boulder that will not budge, a
    locked door): one step from the agent, the way it just tried, and what is there."""
    direction = (view.previous_action or "").removeprefix("far ").strip()
    if obs.agent is None or direction not in DIRS:
        return None
    if any(word in obs.message for word in STUCK_BOULDER):
        what = "boulder that will not move"
    elif locked_blocks and LOCKED in obs.message:
        what = "locked door"
    else:
        return None
    return (obs.agent[0] + DIRS[direction][0], obs.agent[1] + DIRS[direction][1]), what


def blocked_notes(lines: Iterable[str]) -> frozenset[tuple[int, int]]:
    return frozenset(pos for pos, text in map_lines(lines).items() if BLOCKED in text)


def map_writes(view: PromptView, obs: NLEObs, step: int, locked_blocks: bool) -> list[str]:
    ops = []
    known = map_lines(_content(view, "SEARCH", "dungeon_map", "stairs"))
    level = f" on dlvl {obs.dlvl}" if obs.dlvl is not None else ""
    for x, y in obs.find(">"):
        if "stairs" not in known.get((x, y), ""):
            ops.append(op_text.upsert_map(x, y, f"stairs down (>){level} [step {step}]"))
    ahead = blocked_ahead(view, obs, locked_blocks)
    if ahead is not None:
        (x, y), what = ahead
        ops.append(op_text.upsert_map(x, y, f"{BLOCKED} {what}{level} [step {step}]"))
    if obs.agent is not None and at_dead_end(obs):
        ends = map_lines(_content(view, "SEARCH", "dungeon_map", "dead end"))
        if obs.agent not in ends:
            ops.append(op_text.upsert_map(*obs.agent, f"dead end{level} [step {step}]"))
    return ops


def monster_writes(obs: NLEObs, step: int) -> list[str]:
    if obs.agent is None:
        return []
    ax, ay = obs.agent
    fight = next(
        (line for line in obs.message.split("\n") if any(w in line for w in FIGHT_WORDS)), ""
    )
    ops = []
    for seen in obs.language:
        if seen.distance != "adjacent" or seen.name.startswith(("tame", "peaceful")):
            continue
        for d in seen.directions:
            if d in DIRS and obs.cell(ax + DIRS[d][0], ay + DIRS[d][1]).isalpha():
                outcome = f"; {fight}" if fight else ""
                ops.append(
                    op_text.append(
                        "monster_encounters", f"step {step}: {seen.name} adjacent {d}{outcome}"
                    )
                )
                break
    return ops


def inventory_writes(view: PromptView, obs: NLEObs) -> list[str]:
    block = view.find("READ", "inventory")
    if block is None or block.error:
        return []
    held = {}
    for line in block.content:
        letter, sep, item = line.partition(":")
        if sep:
            held[letter.strip()] = item.strip()
    return [
        op_text.upsert("inventory", letter, item)
        for letter, item in obs.inventory.items()
        if held.get(letter) != item
    ]


def action_line(view: PromptView, obs: NLEObs, step: int) -> str:
    """``step N: <action> -> at (x,y); <first message line>``; the positions let the PLAN
    phase tell which parts of the map it has already walked."""
    first = obs.message.split("\n")[0].strip() or "nothing"
    if len(first) > MESSAGE_CHARS:
        first = first[: MESSAGE_CHARS - 1] + "…"
    where = f"at ({obs.agent[0]},{obs.agent[1]}); " if obs.agent is not None else ""
    return f"step {step}: {view.previous_action or 'unknown'} -> {where}{first}"


def visited_positions(lines: Iterable[str]) -> set[tuple[int, int]]:
    return {(int(m.group(1)), int(m.group(2))) for line in lines if (m := _AT_RE.search(line))}


def log_writes(view: PromptView, obs: NLEObs, step: int, locked_blocks: bool) -> list[str]:
    ops = []
    if view.has_file("dungeon_map"):
        ops += map_writes(view, obs, step, locked_blocks)
    if view.has_file("actions_log"):
        ops.append(op_text.append("actions_log", action_line(view, obs, step)))
    if view.files is not None and "monster_encounters" in view.files:
        ops += monster_writes(obs, step)
    if "You begin praying" in obs.message and view.has_file("strategy"):
        note = f"Prayed at step {step}; do not pray again before step {step + PRAY_GAP}."
        ops.append(op_text.append("strategy", note))
    ops += inventory_writes(view, obs)
    return ops[:MAX_WRITES]


def log_reply(
    view: PromptView, obs: NLEObs, step: int, turn: int = 0, locked_blocks: bool = True
) -> str:
    """Turn 0: the reads; later turns: the writes and ``<|DONE|>``. ``locked_blocks``: note
    locked doors as blocked (where the player does not kick them open)."""
    if turn == 0 and not view.consulted:
        reads = log_reads(view, obs, step)
        if reads:
            return op_text.reply(reads)
    return op_text.reply(log_writes(view, obs, step, locked_blocks), done=True)
