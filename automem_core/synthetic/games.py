"""What each synthetic game looks like to the scripted player: its memory files and actions."""

from __future__ import annotations

from dataclasses import dataclass


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

DEFAULT_TASKS = {
    "crafter": ("default",),
    "nethack": ("NetHackChallenge",),
    "minihack": ("MazeWalk-9x9",),
}
