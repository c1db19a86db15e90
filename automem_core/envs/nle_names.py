"""Names of NetHack glyphs as BALROG's language wrapper (``nle_language_obsv``) gives them.

Two tables per glyph, built once from ``nle.nethack``'s static game data:

- the *screen* name: monsters, objects (their generic, unidentified appearance), statues and
  the map features listed from the whole map (stairs, closed doors, fountains, …); empty for
  everything else;
- the *look* name: the map features found only by looking along the 8 directions from the
  agent (walls, doorways, open doors, traps, dark area, …); empty for everything else.

The wrapper's own wording is kept (``horizontal wall``, ``northeast room corner``, ``stairs
down``, ``alter``), since agents are compared on exactly these words.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

# The wrapper's names of NetHack 3.6's map symbols, by ``cmap`` index.
CMAP_NAMES: tuple[str, ...] = (
    "dark area",
    "vertical wall",
    "horizontal wall",
    "northwest room corner",
    "northeast room corner",
    "southwest corner",
    "southeast corner",
    "cross wall",
    "t up wall",
    "t down wall",
    "t west wall",
    "t east wall",
    "doorway",
    "vertical open door",
    "horizontal open door",
    "vertical closed door",
    "horizontal closed door",
    "bars",
    "tree",
    "room floor",
    "dark room floor",
    "corridor floor",
    "lit corridor floor",
    "stairs up",
    "stairs down",
    "ladder up",
    "ladder down",
    "alter",
    "grave",
    "throne",
    "sink",
    "fountain",
    "pool",
    "ice",
    "lava",
    "vertical lowered drawbridge",
    "horizontal lowered drawbridge",
    "vertical raised drawbridge",
    "horizontal raised drawbridge",
    "air floor",
    "cloud floor",
    "water floor",
    "arrow trap",
    "dart trap",
    "falling rock trap",
    "squeaky board",
    "bear trap",
    "land mine",
    "rolling boulder trap",
    "sleeping gas trap",
    "rust trap",
    "fire trap",
    "pit",
    "spiked pit",
    "hole",
    "trap door",
    "teleportation trap",
    "level teleporter",
    "magic portal",
    "web",
    "statue trap",
    "magic trap",
    "anti magic trap",
    "polymorph trap",
    "vibrating square",
    "vertical beam",
    "horizontal beam",
    "left slant beam",
    "right slant beam",
    "dig beam",
    "flash beam",
    "boom left",
    "boom right",
    "shield 1",
    "shield 2",
    "shield 3",
    "shield 4",
    "poison cloud",
    "valid position",
    "swallow top left",
    "swallow top center",
    "swallow top right",
    "swallow middle left",
    "swallow middle right",
    "swallow bottom left",
    "swallow bottom center",
    "swallow bottom right",
)
FLOORS = frozenset({"room floor", "dark room floor", "corridor floor", "lit corridor floor"})
# Map features listed from the whole map, like monsters and objects.
SCREEN_FEATURES = frozenset(
    {
        "horizontal closed door",
        "vertical closed door",
        "bars",
        "tree",
        "stairs up",
        "stairs down",
        "ladder up",
        "ladder down",
        "alter",
        "grave",
        "throne",
        "sink",
        "fountain",
        "pool",
        "ice",
        "lava",
        "vertical raised drawbridge",
        "horizontal raised drawbridge",
    }
)
# Looking along a direction stops at these: the dark area and the walls (the first twelve map
# symbols), closed doors and raised drawbridges.
BLOCKING = frozenset(CMAP_NAMES[:12]) | {
    "horizontal closed door",
    "vertical closed door",
    "horizontal raised drawbridge",
    "vertical raised drawbridge",
}
WARNING_NAMES: tuple[str, ...] = tuple(
    f"unknown creature causing you {feeling}"
    for feeling in ("worry", "concern", "anxiety", "disquiet", "alarm", "dread")
)
SWALLOW_NAMES: tuple[str, ...] = tuple(
    f"swallow {part}"
    for part in (
        "top left",
        "top center",
        "top right",
        "middle left",
        "middle right",
        "bottom left",
        "bottom center",
        "bottom right",
    )
)
ZAP_NAMES: tuple[str, ...] = (
    "horizontal zap beam",
    "vertical zap beam",
    "left slant zap beam",
    "right slant zap beam",
)
EXPLOSION_NAMES: tuple[str, ...] = tuple(
    f"explosion {row} {col}"
    for row in ("top", "middle", "bottom")
    for col in ("left", "center", "right")
)


@dataclass(frozen=True)
class GlyphNames:
    screen: tuple[str, ...]  # listed from the whole map; "" for none
    look: tuple[str, ...]  # listed along the 8 looks; "" for none
    blocks: tuple[bool, ...]  # a look stops at this glyph


def cmap_names(name: str) -> tuple[str, str]:
    """``(screen, look)`` names of one map symbol."""
    if name in FLOORS:
        return "", ""
    return (name, "") if name in SCREEN_FEATURES else ("", name)


def object_name(oc_class: int, name: str, descr: str, nh: Any) -> str:
    """An object's generic name by its class: the appearance for potions, rings, wands, …"""
    by_name = (nh.ILLOBJ_CLASS, nh.WEAPON_CLASS, nh.COIN_CLASS, nh.ROCK_CLASS)
    if oc_class in (*by_name, nh.BALL_CLASS, nh.CHAIN_CLASS):
        return name
    if oc_class in (nh.ARMOR_CLASS, nh.TOOL_CLASS):
        return descr or name
    suffixed = {
        nh.RING_CLASS: " ring",
        nh.POTION_CLASS: " potion",
        nh.SPBOOK_CLASS: " spellbook",
        nh.WAND_CLASS: " wand",
    }
    if oc_class in suffixed:
        return descr + suffixed[oc_class]
    if oc_class == nh.AMULET_CLASS:
        return descr if "Amulet" in descr else descr + " amulet"
    if oc_class == nh.FOOD_CLASS:
        return name + descr
    if oc_class == nh.SCROLL_CLASS:
        return "scroll labeled " + descr
    if oc_class == nh.GEM_CLASS:
        return name if descr in name else f"{descr} {name}"
    if oc_class == nh.VENOM_CLASS:
        return "splash of " + name
    return ""


def _screen_name(nh: Any, glyph: int) -> str:
    def monster(offset: int) -> str:
        return str(nh.permonst(glyph - offset).mname)

    ranges = (
        (nh.GLYPH_STATUE_OFF, lambda i: monster(nh.GLYPH_STATUE_OFF) + " statue"),
        (nh.GLYPH_WARNING_OFF, lambda i: WARNING_NAMES[i]),
        (nh.GLYPH_SWALLOW_OFF, lambda i: SWALLOW_NAMES[i % len(SWALLOW_NAMES)]),
        (nh.GLYPH_ZAP_OFF, lambda i: ZAP_NAMES[i % len(ZAP_NAMES)]),
        (nh.GLYPH_EXPLODE_OFF, lambda i: EXPLOSION_NAMES[i % len(EXPLOSION_NAMES)]),
        (nh.GLYPH_CMAP_OFF, lambda i: cmap_names(CMAP_NAMES[i])[0]),
        (nh.GLYPH_OBJ_OFF, lambda i: _object(nh, i)),
        (nh.GLYPH_RIDDEN_OFF, lambda i: "ridden " + monster(nh.GLYPH_RIDDEN_OFF)),
        (nh.GLYPH_BODY_OFF, lambda i: monster(nh.GLYPH_BODY_OFF) + " corpse"),
        (nh.GLYPH_DETECT_OFF, lambda i: "detected " + monster(nh.GLYPH_DETECT_OFF)),
        (nh.GLYPH_INVIS_OFF, lambda i: "invisible creature"),
        (nh.GLYPH_PET_OFF, lambda i: "tame " + monster(nh.GLYPH_PET_OFF)),
        (nh.GLYPH_MON_OFF, lambda i: monster(nh.GLYPH_MON_OFF)),
    )
    for start, name in ranges:
        if glyph >= start:
            return str(name(glyph - start))
    return ""


def _object(nh: Any, index: int) -> str:
    descr = nh.objdescr.from_idx(index)
    return object_name(
        ord(nh.objclass(index).oc_class), descr.oc_name or "", descr.oc_descr or "", nh
    )


@functools.cache
def glyph_names() -> GlyphNames:
    """Both name tables for every glyph (imports ``nle.nethack`` on first use)."""
    from nle import nethack as nh

    screen = [_screen_name(nh, glyph) for glyph in range(nh.MAX_GLYPH)]
    look = [""] * nh.MAX_GLYPH
    for glyph in range(nh.GLYPH_CMAP_OFF, nh.GLYPH_EXPLODE_OFF):
        look[glyph] = cmap_names(CMAP_NAMES[glyph - nh.GLYPH_CMAP_OFF])[1]
    blocks = tuple(name in BLOCKING for name in look)
    return GlyphNames(tuple(screen), tuple(look), blocks)
