"""The Crafter player's LOG phase: read its notes back (turn 0), then record (turn 1).

Files (each written only when the prompt's file index lists it): ``map_notes`` one keyed line
per kind of thing, ``<thing>: near (x,y) at step N``, or ``gone from (x,y)`` once the spot is in
view without it; ``actions_log`` ``step N: <action> -> <changes> [vitals and inventory]``, the
bracket being what the next step compares with; ``crafting_progress`` keyed by tool or station;
``survival_log`` when a vital is low or a hostile is in view, skipping repeats.
"""

from __future__ import annotations

from automem_core.llm.embedded import op_text
from automem_core.llm.embedded.crafter_view import (
    VITALS,
    CrafterObs,
    Note,
    describe_changes,
    parse_note,
    parse_position,
    parse_snapshot,
    render_note,
    render_snapshot,
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


def log_reads(view: PromptView) -> list[str]:
    """Turn 0: what the writes depend on."""
    wanted = [
        ("status", op_text.read("status")),
        ("map_notes", op_text.read("map_notes")),
        ("crafting_progress", op_text.read("crafting_progress")),
        ("actions_log", op_text.tail("actions_log", 1)),
        ("survival_log", op_text.tail("survival_log", 1)),
    ]
    return [op for file, op in wanted if view.has_file(file)]


def _block_lines(view: PromptView, kind: str, file: str) -> tuple[str, ...]:
    block = view.find(kind, file)
    return block.content if block is not None else ()


def in_view(note: Note, pos: tuple[int, int]) -> bool:
    """Whether the noted spot is well inside the 9×7 view (estimates are a few cells off)."""
    return abs(note.x - pos[0]) <= 3 and abs(note.y - pos[1]) <= 2


def map_note_writes(
    view: PromptView, obs: CrafterObs, step: int, pos: tuple[int, int]
) -> list[str]:
    """Upserts for things in view whose note is missing, far off or old; and for notes whose
    spot is in view but the thing is not (``gone from``)."""
    notes: dict[str, Note] = {}
    for line in _block_lines(view, "READ", "map_notes"):
        note = parse_note(line)
        if note is not None:
            notes[note.kind] = note
    ops = []
    for kind in NOTED:
        sighting, note = obs.seen.get(kind), notes.get(kind)
        if sighting is not None:
            ex, ey = sighting.estimate()
            x, y = pos[0] + ex, pos[1] + ey
            fresh = note is not None and not note.gone and note.step is not None
            if fresh and note is not None and note.step is not None:
                close = abs(note.x - x) + abs(note.y - y) < MOVED_ENOUGH
                if close and step - note.step < STALE_STEPS:
                    continue
            ops.append(op_text.upsert("map_notes", kind, render_note(x, y, step)))
        elif note is not None and not note.gone and in_view(note, pos):
            text = f"gone from ({note.x},{note.y}) at step {step}"
            ops.append(op_text.upsert("map_notes", kind, text))
    return ops


def progress_writes(
    view: PromptView, obs: CrafterObs, step: int, pos: tuple[int, int] | None
) -> list[str]:
    """New tools, and stations just placed (the previous action plus the inventory drop)."""
    keys = {
        line.split(":", 1)[0].strip() for line in _block_lines(view, "READ", "crafting_progress")
    }
    ops = []
    for tool in TOOLS:
        if obs.inventory.get(tool, 0) > 0 and tool not in keys:
            ops.append(op_text.upsert("crafting_progress", tool, f"made by step {step}"))
    placed = PLACED.get(view.previous_action or "")
    if placed is not None and placed in obs.seen and obs.seen[placed].distance <= 2:
        where = f" near ({pos[0]},{pos[1]})" if pos is not None else ""
        ops.append(op_text.upsert("crafting_progress", placed, f"placed{where} at step {step}"))
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
    last = _block_lines(view, "TAIL", "survival_log")
    if last and last[-1].split(":", 1)[-1].strip() == event:
        return []
    return [op_text.append("survival_log", f"step {step}: {event}")]


def action_write(view: PromptView, obs: CrafterObs, step: int) -> str:
    last = _block_lines(view, "TAIL", "actions_log")
    before = parse_snapshot(last[-1]) if last else None
    changes = describe_changes(before, obs)
    previous = view.previous_action or "unknown"
    return op_text.append(
        "actions_log", f"step {step}: {previous} -> {changes} {render_snapshot(obs)}"
    )


def log_writes(view: PromptView, obs: CrafterObs, step: int) -> list[str]:
    pos = parse_position(_block_lines(view, "READ", "status"))
    ops = []
    if view.has_file("actions_log"):
        ops.append(action_write(view, obs, step))
    if view.has_file("survival_log"):
        ops += survival_writes(view, obs, step)
    if view.has_file("crafting_progress"):
        ops += progress_writes(view, obs, step, pos)
    if view.has_file("map_notes") and pos is not None:
        ops += map_note_writes(view, obs, step, pos)
    return ops[:MAX_WRITES]


def log_reply(view: PromptView, obs: CrafterObs, step: int, turn: int = 0) -> str:
    """Turn 0: the reads; later turns: the writes and ``<|DONE|>``."""
    if turn == 0 and not view.consulted:
        reads = log_reads(view)
        if reads:
            return op_text.reply(reads)
    return op_text.reply(log_writes(view, obs, step), done=True)
