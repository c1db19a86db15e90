"""Per-episode progression (0–1) for each game, as pure functions of what the episode reached."""

from __future__ import annotations

from collections.abc import Iterable

CRAFTER_ACHIEVEMENTS: tuple[str, ...] = (
    "collect_coal",
    "collect_diamond",
    "collect_drink",
    "collect_iron",
    "collect_sapling",
    "collect_stone",
    "collect_wood",
    "defeat_skeleton",
    "defeat_zombie",
    "eat_cow",
    "eat_plant",
    "make_iron_pickaxe",
    "make_iron_sword",
    "make_stone_pickaxe",
    "make_stone_sword",
    "make_wood_pickaxe",
    "make_wood_sword",
    "place_furnace",
    "place_plant",
    "place_stone",
    "place_table",
    "wake_up",
)

# How often a human who reached this dungeon depth (from 2) went on to win.
_DLVL_FROM_2: tuple[float, ...] = (
    0.01539,
    0.01754,
    0.02122,
    0.02648,
    0.03543,
    0.04846,
    0.06958,
    0.09771,
    0.12559,
    0.16127,
    0.20613,
    0.25660,
    0.29247,
    0.30881,
    0.32491,
    0.34008,
    0.35265,
    0.36549,
    0.37896,  # 2–20
    0.39294,
    0.40832,
    0.42584,
    0.44518,
    0.46638,
    0.50676,
    0.55436,
    0.60156,
    0.64650,
    0.69131,
    0.71011,
    0.71765,
    0.72321,
    0.72844,
    0.73278,
    0.73685,
    0.74215,
    0.74713,
    0.75373,
    0.76104,
    0.76741,
    0.77253,
    0.77716,
    0.78126,
    0.78590,
    0.78903,
    0.79297,
    0.79674,
    0.80185,
    0.80680,
)
# The same for experience level (from 2).
_XP_FROM_2: tuple[float, ...] = (
    0.01848,
    0.02081,
    0.02416,
    0.02911,
    0.03689,
    0.05076,
    0.07454,
    0.11705,
    0.17910,
    0.25480,
    0.33265,
    0.41443,
    0.49404,
    0.57788,
    0.62612,
    0.65628,
    0.68102,
    0.70153,
    0.71745,
    0.72870,
    0.73710,
    0.74434,
    0.75134,
    0.75855,
    0.76422,
    0.77034,
    0.77598,
    0.77833,
    0.78046,
)

NETHACK_DLVL_VALUES: dict[int, float] = {2 + i: v for i, v in enumerate(_DLVL_FROM_2)}
NETHACK_XP_VALUES: dict[int, float] = {2 + i: v for i, v in enumerate(_XP_FROM_2)}


def crafter_progression(unlocked: Iterable[str]) -> float:
    """Achievements unlocked at least once, out of Crafter's 22."""
    known = set(unlocked) & set(CRAFTER_ACHIEVEMENTS)
    return len(known) / len(CRAFTER_ACHIEVEMENTS)


def minihack_progression(success: bool) -> float:
    """1 if the episode ended in task success, else 0."""
    return 1.0 if success else 0.0


def _table_value(table: dict[int, float], level: int) -> float:
    if level < 2:
        return 0.0
    return table[min(level, max(table))]


def nethack_progression(dlvl_max: int, xp_max: int) -> float:
    """Table value of the deepest dungeon level and highest experience level reached.

    Level 1 (and anything below) is worth 0; levels past the end of a table keep its last value.
    Both tables increase, so the value at the maxima is the maximum over the episode.
    """
    return max(_table_value(NETHACK_DLVL_VALUES, dlvl_max), _table_value(NETHACK_XP_VALUES, xp_max))
