import numpy as np
import pytest

from automem_core.envs import nle_text
from automem_core.envs.nle_text import (
    compass_direction,
    describe_cursor,
    describe_inventory,
    describe_offset,
    describe_surroundings,
    distance_bucket,
    has_more,
    join_messages,
    pluralize,
    read_message,
    render_map,
    render_nle_text,
)

nh = pytest.importorskip("nle.nethack")


def cmap(index: int) -> int:
    return nh.GLYPH_CMAP_OFF + index


def monster(name: str) -> int:
    names = [nh.permonst(i).mname for i in range(nh.NUMMONS)]
    return nh.GLYPH_MON_OFF + names.index(name)


STONE, HWALL, FLOOR, DOWNSTAIR = cmap(0), cmap(2), cmap(19), cmap(24)


class Screen:
    """A synthetic 21×79 map with NLE-shaped glyphs and screen descriptions."""

    def __init__(self) -> None:
        self.glyphs = np.full((21, 79), STONE, dtype=np.int16)
        self.descriptions = np.zeros((21, 79, 80), dtype=np.uint8)

    def put(self, x: int, y: int, glyph: int, name: str = "") -> None:
        self.glyphs[y, x] = glyph
        self.descriptions[y, x] = 0
        self.descriptions[y, x, : len(name)] = np.frombuffer(name.encode(), dtype=np.uint8)


def tty(*lines: str) -> np.ndarray:
    chars = np.full((24, 80), ord(" "), dtype=np.uint8)
    for row, line in enumerate(lines):
        chars[row, : len(line)] = np.frombuffer(line.encode(), dtype=np.uint8)
    return chars


BUCKETS = [(1, "adjacent"), (2, "very near"), (3, "near"), (5, "near"), (6, "far"), (19, "far")]


@pytest.mark.parametrize(("steps", "bucket"), [*BUCKETS, (20, "very far"), (70, "very far")])
def test_distance_buckets(steps, bucket):
    assert distance_bucket(steps) == bucket


@pytest.mark.parametrize(
    ("dx", "dy", "direction"),
    [
        (1, 0, "east"),
        (0, 4, "north"),
        (0, -5, "south"),
        (-7, 0, "west"),
        (2, 2, "northeast"),
        (-1, -1, "southwest"),
        (3, 1, "eastnortheast"),
        (1, 3, "northnortheast"),
        (5, -1, "eastsoutheast"),
        (1, -2, "southsoutheast"),
        (-1, -3, "southsouthwest"),
        (-3, -1, "westsouthwest"),
        (-4, 2, "westnorthwest"),
        (-1, 9, "northnorthwest"),
    ],
)
def test_sixteen_wind_directions(dx, dy, direction):
    assert compass_direction(dx, dy) == direction


def test_offsets_count_king_moves():
    assert describe_offset(3, 1) == ("near", "eastnortheast")
    assert describe_offset(-2, -2) == ("very near", "southwest")
    assert describe_offset(0, 1) == ("adjacent", "north")


def test_plurals():
    assert pluralize("newt") == "newts"
    assert pluralize("wall") == "walls"
    assert pluralize("fox") == "foxes"
    assert pluralize("dwarf") == "dwarves"
    assert pluralize("giant fly") == "giant flies"
    assert pluralize("iron bars") == "iron bars"
    assert pluralize("molten lava") == "areas of molten lava"
    assert pluralize("scroll labeled FOO") == "scrolls labeled FOO"


def corridor_screen() -> Screen:
    """Player at (10, 10) in a cross of floor, a wall 3 east, a jackal 2 east, stairs 4 south."""
    screen = Screen()
    for x, y in [(9, 10), (11, 10), (12, 10), (10, 9), (10, 11)]:
        screen.put(x, y, FLOOR, "floor of a room")
    screen.put(10, 10, monster("human"), "human valkyrie called Agent")
    screen.put(12, 10, monster("jackal"), "jackal")
    screen.put(13, 10, HWALL, "wall")
    screen.put(10, 14, DOWNSTAIR, "staircase down")
    return screen


def test_surroundings_hand_checked_ordering_merging_and_blocking():
    screen = corridor_screen()
    text = describe_surroundings(screen.glyphs, screen.descriptions, 10, 10)
    assert text == (
        "wall near east\n"
        "staircase down near south\n"
        "dark area very near north, south, and west\n"
        "jackal very near east\n"
        "dark area adjacent northeast, southeast, southwest, and northwest"
    )


def test_surroundings_plural_for_repeats_in_one_direction():
    screen = Screen()
    screen.put(10, 10, monster("human"), "human valkyrie called Agent")
    for x, y in [(10, 11), (9, 10), (11, 10), (10, 9), (9, 9), (11, 9), (9, 11), (11, 11)]:
        screen.put(x, y, FLOOR, "floor of a room")  # open ground: no dark area adjacent
    for x, y in [(10, 6), (10, 7), (13, 7)]:
        screen.put(x, y, monster("newt"), "newt")
    screen.put(70, 20, FLOOR, "floor of a room")  # floor is never listed
    lines = describe_surroundings(screen.glyphs, screen.descriptions, 10, 10).splitlines()
    assert not any("floor" in line for line in lines)
    assert "newt near northeast" in lines
    assert "newts near north" in lines
    assert lines.index("newt near northeast") < lines.index("newts near north")


def test_far_things_come_first_and_articles_are_dropped():
    screen = corridor_screen()
    screen.put(60, 2, nh.GLYPH_OBJ_OFF + 1, "an arrow")
    first = describe_surroundings(screen.glyphs, screen.descriptions, 10, 10).splitlines()[0]
    assert first == "arrow very far eastnortheast"


def test_empty_description_falls_back_to_glyph_name():
    screen = corridor_screen()
    screen.put(13, 10, HWALL, "")
    text = describe_surroundings(screen.glyphs, screen.descriptions, 10, 10)
    assert "wall near east" in text


def test_cursor_on_the_agent_and_elsewhere():
    screen = corridor_screen()
    here = describe_cursor(screen.glyphs, screen.descriptions, 10, 10, (11, 10))
    assert here == "Yourself a human valkyrie called Agent\n(x=10, y=11)"
    there = describe_cursor(screen.glyphs, screen.descriptions, 10, 10, (11, 12))
    assert there == "very near east jackal\n(x=12, y=11)"
    top = describe_cursor(screen.glyphs, screen.descriptions, 10, 10, (0, 36))
    assert top == "(x=36, y=0)"


def test_inventory_lines_stop_at_first_empty_letter():
    letters = np.zeros(55, dtype=np.uint8)
    strs = np.zeros((55, 80), dtype=np.uint8)
    for i, (letter, item) in enumerate(
        [("a", "a blessed +0 katana (weapon in hand)"), ("b", "27 +0 ya (in quiver)")]
    ):
        letters[i] = ord(letter)
        strs[i, : len(item)] = np.frombuffer(item.encode(), dtype=np.uint8)
    strs[3, :5] = np.frombuffer(b"stale", dtype=np.uint8)
    assert describe_inventory(letters, strs) == (
        "a: a blessed +0 katana (weapon in hand)\nb: 27 +0 ya (in quiver)"
    )
    assert describe_inventory(np.zeros(55, dtype=np.uint8), strs) == ""


def test_message_is_the_top_line_when_no_pager_shows():
    screen = tty("  You see here a scroll.   ", "", "     ---", "     |.@|")
    assert read_message(screen) == "You see here a scroll."
    assert not has_more(screen)
    assert read_message(tty("", "x")) == ""


def test_message_with_pager_reads_the_window_down_to_it():
    window = " " * 40
    screen = tty(
        window + "Things that are here:",
        window + "a horn",
        window + "a forked wand",
        window + "--More--",
        "    |.@.|    some map",
    )
    assert has_more(screen)
    assert read_message(screen) == "Things that are here:\na horn\na forked wand\n--More--"


def test_more_chain_is_joined_without_prompts():
    pages = ["You hit the jackal!--More--", "The jackal bites!--More--", "", "You kill it!"]
    assert join_messages(pages) == "You hit the jackal!\nThe jackal bites!\nYou kill it!"
    assert join_messages(["Hello.--More--", ""]) == "Hello."


def test_map_is_terminal_rows_1_to_23_full_width():
    screen = tty("message", "row one", *[""] * 21, "Dlvl:1 $:0 HP:12(12)")
    rendered = render_map(screen).split("\n")
    assert len(rendered) == 23
    assert all(len(row) == 80 for row in rendered)
    assert rendered[0].rstrip() == "row one"
    assert rendered[-1].startswith("Dlvl:1")


def test_full_text_has_the_five_sections_in_order():
    screen = corridor_screen()
    chars = tty("Hello.", *[""] * 23)
    text = render_nle_text(
        message="Hello.",
        glyphs=screen.glyphs,
        descriptions=screen.descriptions,
        player=(10, 10),
        tty_chars=chars,
        tty_cursor=(11, 10),
        inv_letters=np.zeros(55, dtype=np.uint8),
        inv_strs=np.zeros((55, 80), dtype=np.uint8),
    )
    heads = ["message:\n", "\n\nlanguage observation:\n", "\n\ncursor:\n", "\n\nmap:\n"]
    positions = [text.index(head) for head in [*heads, "\n\ninventory:\n"]]
    assert positions == sorted(positions)
    assert text.startswith("message:\nHello.\n\nlanguage observation:\nwall near east\n")
    assert "\n\ncursor:\nYourself a human valkyrie called Agent\n(x=10, y=11)\n\nmap:\n" in text


def test_glyph_tables_classify_map_symbols():
    tables = nle_text.glyph_tables()
    assert tables.kind[FLOOR] == nle_text.IGNORED
    assert tables.kind[HWALL] == nle_text.FEATURE and tables.blocks[HWALL]
    assert tables.kind[DOWNSTAIR] == nle_text.THING and not tables.blocks[DOWNSTAIR]
    assert tables.kind[monster("jackal")] == nle_text.THING
    assert tables.fallback[STONE] == "dark area"
