"""The NetHack / MiniHack player's LOG phase.

Turn 0 reads what the writes depend on (is this stair or dead end already in ``dungeon_map``?
which cells of this row has it explored? what does ``inventory`` hold?); turn 1 writes. It
writes what the scaffold offers, as the system message describes it: with a keyed
``dungeon_map`` (UPSERT_MAP / UPSERT) one line per position, ``(x,y): stairs down (>) on dlvl D
[step N]``, ``dead end …``, ``blocked: …``, plus one line per map row it has walked,
``dlvl D row Y: explored x=3-9,12``, kept current in place; with a plain one the same position
lines appended (a row summary cannot be kept current without UPSERT). One ``actions_log`` line
per step, ``Step N action 'X': at (x,y); <message>`` (the positions let PLAN tell where it
walked), unless the engine writes that file; adjacent monsters to ``monster_encounters`` where
that file exists; changed ``inventory`` lines unless a helper writes them; a ``strategy`` note
after praying.
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
_AT_RE = re.compile(r"(?:-> at|; at|: at|moved to|stayed at) \((-?\d+),(-?\d+)\)")
_ROW_RE = re.compile(r"^\s*dlvl (\d+|\?) row (\d+):\s*explored x=([\d,-]*)")
_LOGGED_RE = re.compile(r"^\s*step\s+\d+(?:\s+action\s+'(.*?)'\s*:|\s*:\s*(.*?)\s*->)", re.I)
MAX_RUN = 80  # longest straight run a "far" move is traced along
INVENTORY_TAIL = 30  # newest inventory lines read back when the file is only appended to


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
        if obs.agent is not None and keyed_map(view):
            ops.append(op_text.search("dungeon_map", f"dlvl {level_word(obs.dlvl)} row"))
            if (view.previous_action or "").startswith("far ") and view.has_file("actions_log"):
                ops.append(op_text.tail("actions_log", 2))
    if (
        view.has_file("inventory")
        and not view.written_by_engine("inventory")
        and obs.inventory
        and item_change_possible(view, obs, step)
    ):
        keyed = view.keyed("inventory")
        ops.append(
            op_text.read("inventory") if keyed else op_text.tail("inventory", INVENTORY_TAIL)
        )
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


def keyed_map(view: PromptView) -> bool:
    """Whether ``dungeon_map`` lines can be kept current in place (UPSERT_MAP or UPSERT)."""
    notes = view.file_notes.get("dungeon_map", "")
    return (view.can("UPSERT_MAP") and "upsert_map" in notes) or view.keyed("dungeon_map")


def map_write(view: PromptView, x: int, y: int, text: str) -> str:
    """The ``(x,y): text`` line of ``dungeon_map``: upserted where the map is keyed."""
    notes = view.file_notes.get("dungeon_map", "")
    if view.can("UPSERT_MAP") and "upsert_map" in notes:
        return op_text.upsert_map(x, y, text)
    if view.keyed("dungeon_map"):
        return op_text.upsert("dungeon_map", f"({x},{y})", text)
    return op_text.append("dungeon_map", f"({x},{y}): {text}")


def level_word(dlvl: int | None) -> str:
    return str(dlvl) if dlvl is not None else "?"


def row_key(dlvl: int | None, y: int) -> str:
    return f"dlvl {level_word(dlvl)} row {y}"


def parse_ranges(text: str) -> set[int]:
    out: set[int] = set()
    for part in text.split(","):
        a, _, b = part.partition("-")
        if a.isdigit():
            out.update(range(int(a), int(b) + 1) if b.isdigit() else {int(a)})
    return out


def render_ranges(xs: set[int]) -> str:
    runs: list[str] = []
    for x in sorted(xs):
        if runs and runs[-1].split("-")[-1] == str(x - 1):
            runs[-1] = f"{runs[-1].split('-')[0]}-{x}"
        else:
            runs.append(str(x))
    return ",".join(runs)


def explored_rows(lines: Iterable[str], dlvl: int | None) -> set[tuple[int, int]]:
    """Cells the ``dlvl D row Y: explored x=…`` lines say were walked on this level."""
    out: set[tuple[int, int]] = set()
    for line in lines:
        match = _ROW_RE.match(line)
        if match is not None and match.group(1) == level_word(dlvl):
            y = int(match.group(2))
            out |= {(x, y) for x in parse_ranges(match.group(3))}
    return out


def previous_position(view: PromptView) -> tuple[int, int] | None:
    """Where the agent stood before the last action, from the newest actions_log lines (the
    engine's log already holds the last action's line; the player's does not yet)."""
    block = view.find("TAIL", "actions_log")
    lines = list(block.content) if block is not None else []
    if view.written_by_engine("actions_log"):
        lines = lines[:-1]
    for line in reversed(lines):
        match = _AT_RE.search(line)
        if match is not None:
            return int(match.group(1)), int(match.group(2))
    return None


def row_writes(view: PromptView, obs: NLEObs) -> list[str]:
    """Add the cells the last action walked (a run's whole path) to their rows' ``explored``
    lines (keyed maps only)."""
    if obs.agent is None or not keyed_map(view):
        return []
    block = view.find("SEARCH", "dungeon_map", f"dlvl {level_word(obs.dlvl)} row")
    if block is None or block.error:
        return []
    walked = explored_rows(block.content, obs.dlvl)
    before = previous_position(view)
    path = far_path(before, obs.agent, view.previous_action) if before else [obs.agent]
    ops = []
    for y in sorted({cy for _, cy in path}):
        row = {cx for cx, cy in walked if cy == y}
        new = row | {cx for cx, cy in path if cy == y}
        if new != row:
            key = row_key(obs.dlvl, y)
            ops.append(op_text.upsert("dungeon_map", key, f"explored x={render_ranges(new)}"))
    return ops


def map_writes(view: PromptView, obs: NLEObs, step: int, locked_blocks: bool) -> list[str]:
    ops = row_writes(view, obs)
    known = map_lines(_content(view, "SEARCH", "dungeon_map", "stairs"))
    level = f" on dlvl {obs.dlvl}" if obs.dlvl is not None else ""
    for x, y in obs.find(">"):
        if "stairs" not in known.get((x, y), ""):
            ops.append(map_write(view, x, y, f"stairs down (>){level} [step {step}]"))
    ahead = blocked_ahead(view, obs, locked_blocks)
    if ahead is not None:
        (x, y), what = ahead
        ops.append(map_write(view, x, y, f"{BLOCKED} {what}{level} [step {step}]"))
    if obs.agent is not None and at_dead_end(obs):
        ends = map_lines(_content(view, "SEARCH", "dungeon_map", "dead end"))
        if obs.agent not in ends:
            ops.append(map_write(view, *obs.agent, f"dead end{level} [step {step}]"))
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
    """Changed ``letter: item`` lines: upserted in a keyed file, else appended (the newest
    line of a letter is the one that counts)."""
    block = view.find("READ", "inventory") or view.find("TAIL", "inventory")
    if block is None or block.error:
        return []
    held = {}
    for line in block.content:
        letter, sep, item = line.partition(":")
        if sep:
            held[letter.strip()] = item.strip()
    keyed = view.keyed("inventory")
    return [
        op_text.upsert("inventory", letter, item)
        if keyed
        else op_text.append("inventory", f"{letter}: {item}")
        for letter, item in obs.inventory.items()
        if held.get(letter) != item
    ]


def action_line(view: PromptView, obs: NLEObs, step: int) -> str:
    """``Step N action 'X': at (x,y); <first message line>`` for the action played at step N
    (seen now, at step N+1); the positions let PLAN tell where it has already walked."""
    first = obs.message.split("\n")[0].strip() or "nothing"
    if len(first) > MESSAGE_CHARS:
        first = first[: MESSAGE_CHARS - 1] + "…"
    where = f"at ({obs.agent[0]},{obs.agent[1]}); " if obs.agent is not None else ""
    return f"Step {step - 1} action '{view.previous_action or 'unknown'}': {where}{first}"


def logged_action(line: str) -> str | None:
    """The action of an actions_log line (``Step N action 'X': …`` or ``step N: X -> …``)."""
    match = _LOGGED_RE.match(line)
    if match is None:
        return None
    return (match.group(1) or match.group(2) or "").strip() or None


def far_path(
    start: tuple[int, int], end: tuple[int, int], action: str | None
) -> list[tuple[int, int]]:
    """The cells a ``far <direction>`` run from ``start`` to ``end`` passed (both included);
    just ``end`` when the run was not straight that way."""
    direction = (action or "").removeprefix("far ").strip()
    if not (action or "").startswith("far ") or direction not in DIRS:
        return [end]
    dx, dy = DIRS[direction]
    path, (x, y) = [start], start
    for _ in range(MAX_RUN):
        if (x, y) == end:
            return path
        x, y = x + dx, y + dy
        path.append((x, y))
    return [end]


def visited_positions(lines: Iterable[str]) -> set[tuple[int, int]]:
    """Where actions_log lines say the agent stood, with the cells its runs passed."""
    out: set[tuple[int, int]] = set()
    before: tuple[int, int] | None = None
    for line in lines:
        match = _AT_RE.search(line)
        if match is None:
            continue
        here = (int(match.group(1)), int(match.group(2)))
        out.update(far_path(before, here, logged_action(line)) if before else [here])
        before = here
    return out


def log_writes(view: PromptView, obs: NLEObs, step: int, locked_blocks: bool) -> list[str]:
    ops = []
    if view.has_file("dungeon_map"):
        ops += map_writes(view, obs, step, locked_blocks)
    if view.has_file("actions_log") and not view.written_by_engine("actions_log"):
        ops.append(op_text.append("actions_log", action_line(view, obs, step)))
    if view.files is not None and "monster_encounters" in view.files:
        ops += monster_writes(obs, step)
    if "You begin praying" in obs.message and view.has_file("strategy"):
        note = f"Prayed at step {step}; do not pray again before step {step + PRAY_GAP}."
        ops.append(op_text.append("strategy", note))
    if not view.written_by_engine("inventory"):
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
