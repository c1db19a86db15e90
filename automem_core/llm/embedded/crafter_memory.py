"""What the Crafter player reads back from memory: where it is, which achievements it has, its
map notes, the last move, and crafting costs from the action list.

Where a status file exists it gives the exact position and the achievements. Without one the
position is the newest one in actions_log (reckoned by the player, or exact where the engine
writes that file), and the achievements are those crafting_progress says were ``achieved`` or
the engine's action log says were ``unlocked``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from automem_core.llm.embedded.crafter_track import last_track, move_of, parse_track
from automem_core.llm.embedded.crafter_view import Note, parse_listed, parse_note, parse_position
from automem_core.llm.embedded.prompt_view import PromptView

_ACHIEVED_RE = re.compile(r"\b(?:achieved:|unlocked)\s+([a-z_]+)")


@dataclass(frozen=True)
class CrafterMemory:
    """What the consultation turn brought back."""

    position: tuple[int, int] | None = None
    achievements: frozenset[str] = frozenset()
    notes: dict[str, Note] = field(default_factory=dict)


def furnace_cost(system: str) -> int:
    """Stone a furnace uses, read from the action list (crafter's rule table), else 1."""
    match = re.search(r"place furnace:[^\n]*?uses\s+(\d+)\s+stone", system, re.IGNORECASE)
    return int(match.group(1)) if match else 1


def trail_lines(view: PromptView) -> tuple[str, ...]:
    """The newest actions_log lines: a TAIL result, or the lines a helper shows in PLAN."""
    block = view.find("TAIL", "actions_log")
    if block is not None:
        return block.content
    return view.shown.get("actions_log", ())


def achievements_of(view: PromptView) -> frozenset[str]:
    status = view.find("READ", "status")
    if status is not None:
        return frozenset(parse_listed(status.content, "achievements"))
    found = set()
    for block in view.results:
        if block.file in ("crafting_progress", "actions_log"):
            found |= {m.group(1) for line in block.content if (m := _ACHIEVED_RE.search(line))}
    return frozenset(found)


def read_memory(view: PromptView) -> CrafterMemory:
    status = view.find("READ", "status")
    position = parse_position(status.content) if status is not None else None
    if position is None:
        track = last_track(trail_lines(view))
        position = track.pos if track is not None else None
    notes: dict[str, Note] = {}
    for block in view.results:
        if block.file == "map_notes" and block.kind in ("SEARCH", "READ", "TAIL"):
            for line in block.content:
                note = parse_note(line)
                if note is not None:
                    notes[note.kind] = note
    return CrafterMemory(position=position, achievements=achievements_of(view), notes=notes)


def last_move(view: PromptView) -> str | None:
    """The direction of the newest move in actions_log."""
    for line in reversed(trail_lines(view)):
        direction = move_of(parse_track(line).action)
        if direction is not None:
            return direction
    return None
