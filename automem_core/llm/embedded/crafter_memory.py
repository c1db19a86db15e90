"""What the Crafter player reads back from memory: the status file, its map notes, the last
move in actions_log, and crafting costs from the action list."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from automem_core.llm.embedded.crafter_view import Note, parse_listed, parse_note, parse_position
from automem_core.llm.embedded.prompt_view import PromptView


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


def read_memory(view: PromptView) -> CrafterMemory:
    status = view.find("READ", "status")
    lines = status.content if status is not None else ()
    notes: dict[str, Note] = {}
    for block in view.results:
        if block.file == "map_notes" and block.kind in ("SEARCH", "READ", "TAIL"):
            for line in block.content:
                note = parse_note(line)
                if note is not None:
                    notes[note.kind] = note
    return CrafterMemory(
        position=parse_position(lines),
        achievements=frozenset(parse_listed(lines, "achievements")),
        notes=notes,
    )


def last_move(view: PromptView) -> str | None:
    """The direction of the newest move in actions_log (``step N: Move West -> …``)."""
    block = view.find("TAIL", "actions_log")
    for line in reversed(block.content if block else ()):
        act = line.split("->", 1)[0].partition(":")[2].strip()
        if act.startswith("Move "):
            return act.removeprefix("Move ").lower()
    return None
