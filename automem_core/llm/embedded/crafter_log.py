"""The Crafter player's LOG phase: read its notes back (turn 0), then record (turn 1).

It writes what the scaffold offers, as the system message describes it: keyed files
(``map_notes``, ``crafting_progress``) get UPSERTs, plain files get APPENDs of the same
lines, which then grow, so reading them back means TAIL or SEARCH (a whole READ would come
back cut). ``map_notes``: ``<thing>: near (x,y) at step N``, or ``gone from (x,y)`` once the
spot is in view without it. ``actions_log``: the trail line of ``crafter_track``, unless the
engine writes that file itself (the action-log helper). ``crafting_progress``: tools made,
stations placed and, where no status file lists them, ``achieved: <name>`` lines.
``survival_log``: a vital running low or a hostile in view, skipping repeats.
"""

from __future__ import annotations

from automem_core.llm.embedded import op_text
from automem_core.llm.embedded.crafter_track import (
    Track,
    facing_dir,
    infer_achievements,
    last_track,
    reckon,
    render_track,
)
from automem_core.llm.embedded.crafter_view import (
    VITALS,
    CrafterObs,
    Note,
    describe_changes,
    parse_note,
    parse_position,
    render_note,
)
from automem_core.llm.embedded.prompt_view import PromptView

NOTED: tuple[str, ...] = (
    "water",
    "tree",
    "stone",
    "coal",
    "iron",
    "diamond",
    "table",
    "furnace",
    "cow",
    "lava",
)
HOSTILE = ("zombie", "skeleton")
TOOLS = ("wood_pickaxe", "stone_pickaxe", "iron_pickaxe", "wood_sword", "stone_sword", "iron_sword")
PLACED = {"Place Table": "table", "Place Furnace": "furnace", "Place Plant": "plant"}
MAX_WRITES = 14  # stays under the default per-turn op cap
MOVED_ENOUGH = 4  # a note is rewritten when the sighting is this far from it
STALE_STEPS = 100
NOTES_TAIL = 60  # newest map_notes lines read back when the file is not keyed
ACHIEVED = "achieved"


def notes_read(view: PromptView) -> str:
    """A keyed map_notes holds one line per thing: READ it. A plain one only grows: its
    newest lines are what matters, and a READ would come back cut after its oldest."""
    if view.keyed("map_notes"):
        return op_text.read("map_notes")
    return op_text.tail("map_notes", NOTES_TAIL)


def log_reads(view: PromptView) -> list[str]:
    """Turn 0: what the writes depend on."""
    wanted = [
        ("status", op_text.read("status")),
        ("map_notes", notes_read(view)),
        ("crafting_progress", op_text.read("crafting_progress")),
        ("actions_log", op_text.tail("actions_log", 1)),
        ("survival_log", op_text.tail("survival_log", 1)),
    ]
    return [op for file, op in wanted if view.has_file(file)]


def _block_lines(view: PromptView, file: str, *kinds: str) -> tuple[str, ...]:
    for kind in kinds or ("READ", "TAIL", "SEARCH"):
        block = view.find(kind, file)
        if block is not None:
            return block.content
    return ()


def write_line(view: PromptView, file: str, key: str, text: str) -> str:
    """``key: text`` as an UPSERT in a keyed file, else appended."""
    if view.keyed(file):
        return op_text.upsert(file, key, text)
    return op_text.append(file, f"{key}: {text}")


def in_view(note: Note, pos: tuple[int, int]) -> bool:
    """Whether the noted spot is well inside the 9×7 view (estimates are a few cells off)."""
    return abs(note.x - pos[0]) <= 3 and abs(note.y - pos[1]) <= 2


def map_note_writes(
    view: PromptView, obs: CrafterObs, step: int, pos: tuple[int, int]
) -> list[str]:
    """Notes for things in view whose note is missing, far off or old; and for notes whose
    spot is in view but the thing is not (``gone from``)."""
    notes: dict[str, Note] = {}
    for line in _block_lines(view, "map_notes"):
        note = parse_note(line)
        if note is not None:
            notes[note.kind] = note  # the newest line of a kind wins
    ops = []
    for kind in NOTED:
        sighting, note = obs.seen.get(kind), notes.get(kind)
        if sighting is not None:
            ex, ey = sighting.estimate()
            x, y = pos[0] + ex, pos[1] + ey
            if note is not None and not note.gone and note.step is not None:
                close = abs(note.x - x) + abs(note.y - y) < MOVED_ENOUGH
                if close and step - note.step < STALE_STEPS:
                    continue
            ops.append(write_line(view, "map_notes", kind, render_note(x, y, step)))
        elif note is not None and not note.gone and in_view(note, pos):
            text = f"gone from ({note.x},{note.y}) at step {step}"
            ops.append(write_line(view, "map_notes", kind, text))
    return ops


def progress_writes(
    view: PromptView,
    obs: CrafterObs,
    step: int,
    pos: tuple[int, int] | None,
    achieved: list[str],
) -> list[str]:
    """New tools, stations just placed (the previous action plus the inventory drop) and the
    achievements the last action unlocked, each once."""
    lines = _block_lines(view, "crafting_progress", "READ")
    keys = {line.split(":", 1)[0].strip() for line in lines}
    done = {line.split(":", 1)[1].split()[0] for line in lines if line.startswith(ACHIEVED)}
    ops = []
    for tool in TOOLS:
        if obs.inventory.get(tool, 0) > 0 and tool not in keys:
            ops.append(write_line(view, "crafting_progress", tool, f"made by step {step}"))
    placed = PLACED.get(view.previous_action or "")
    if placed is not None and placed in obs.seen and obs.seen[placed].distance <= 2:
        where = f" near ({pos[0]},{pos[1]})" if pos is not None else ""
        ops.append(write_line(view, "crafting_progress", placed, f"placed{where} at step {step}"))
    for name in achieved:
        if name not in done:
            ops.append(op_text.append("crafting_progress", f"{ACHIEVED}: {name} at step {step}"))
    return ops


def survival_event(obs: CrafterObs) -> str:
    parts = [f"{v} {obs.vital(v)}/9 low" for v in VITALS if obs.vital(v) < 4]
    for kind in HOSTILE:
        s = obs.seen.get(kind)
        if s is not None:
            parts.append(f"{kind} {s.distance} steps to the {'-'.join(s.directions)}")
    return "; ".join(parts)


def survival_writes(view: PromptView, obs: CrafterObs, step: int) -> list[str]:
    event = survival_event(obs)
    if not event:
        return []
    last = _block_lines(view, "survival_log", "TAIL")
    if last and last[-1].split(":", 1)[-1].strip() == event:
        return []
    return [op_text.append("survival_log", f"Step {step}: {event}")]


def where_now(view: PromptView, prev: Track | None, obs: CrafterObs) -> tuple[int, int]:
    """The status file's position; else the engine's action log (exact); else reckoned."""
    status = parse_position(_block_lines(view, "status", "READ"))
    if status is not None:
        return status
    if view.written_by_engine("actions_log") and prev is not None and prev.pos is not None:
        return prev.pos
    return reckon(prev, view.previous_action, obs)


def log_writes(view: PromptView, obs: CrafterObs, step: int) -> list[str]:
    prev = last_track(_block_lines(view, "actions_log", "TAIL"))
    pos = where_now(view, prev, obs)
    action = view.previous_action or "unknown"
    ops = []
    if view.has_file("actions_log") and not view.written_by_engine("actions_log"):
        changes = describe_changes(prev.snapshot if prev else None, obs)
        direction = facing_dir(prev, action)
        line = render_track(step - 1, action, changes, pos, direction, obs)
        ops.append(op_text.append("actions_log", line))
    if view.has_file("survival_log"):
        ops += survival_writes(view, obs, step)
    if view.has_file("crafting_progress"):
        no_status = not view.has_file("status")
        achieved = infer_achievements(prev, action, obs) if no_status else []
        ops += progress_writes(view, obs, step, pos, achieved)
    if view.has_file("map_notes"):
        ops += map_note_writes(view, obs, step, pos)
    return ops[:MAX_WRITES]


def log_reply(view: PromptView, obs: CrafterObs, step: int, turn: int = 0) -> str:
    """Turn 0: the reads; later turns: the writes and ``<|DONE|>``."""
    if turn == 0 and not view.consulted:
        reads = log_reads(view)
        if reads:
            return op_text.reply(reads)
    return op_text.reply(log_writes(view, obs, step), done=True)
