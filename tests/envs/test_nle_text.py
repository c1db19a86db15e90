import numpy as np
import pytest

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


def test_plurals_follow_the_wrappers_rules():
    assert pluralize("newt") == "newts"
    assert pluralize("horizontal wall") == "horizontal walls"
    assert pluralize("fox") == "foxes"
    assert pluralize("dwarf") == "dwarves"
    assert pluralize("giant fly") == "giant flies"
    assert pluralize("iron bars") == "iron bars"
    assert pluralize("lava") == "area of lava"
    assert pluralize("scroll labeled FOO") == "scrolls labeled FOO"
    assert pluralize("witch") == "witchs"  # the wrapper never adds "es" after "ch"
    assert pluralize("gas spore") == "gas spores"


def corridor_screen() -> np.ndarray:
    """Player at (10, 10) in a cross of floor, a wall 3 east, a jackal 2 east, stairs 4 south."""
    glyphs = np.full((21, 79), STONE, dtype=np.int16)
    for x, y in [(9, 10), (11, 10), (12, 10), (10, 9), (10, 11)]:
        glyphs[y, x] = FLOOR
    glyphs[10, 10] = monster("valkyrie")
    glyphs[10, 12] = monster("jackal")
    glyphs[10, 13] = HWALL
    glyphs[14, 10] = DOWNSTAIR
    return glyphs


def test_surroundings_hand_checked_ordering_merging_and_blocking():
    assert describe_surroundings(corridor_screen(), 10, 10) == (
        "horizontal wall near east\n"
        "stairs down near south\n"
        "dark area very near north, south, and west\n"
        "jackal very near east\n"
        "dark area adjacent northeast, southeast, southwest, and northwest"
    )


def test_surroundings_plural_for_repeats_in_one_direction():
    glyphs = np.full((21, 79), FLOOR, dtype=np.int16)
    glyphs[10, 10] = monster("valkyrie")
    for x, y in [(10, 6), (10, 7), (13, 7)]:
        glyphs[y, x] = monster("newt")
    glyphs[2, 70] = cmap(34)  # lava, listed from anywhere on the map
    glyphs[3, 70] = cmap(34)
    lines = describe_surroundings(glyphs, 10, 10).splitlines()
    assert lines == [
        "area of lava very far eastnortheast",
        "newt near northeast",
        "newts near north",
    ]


def test_looks_stop_at_walls_but_not_at_doorways():
    glyphs = np.full((21, 79), FLOOR, dtype=np.int16)
    glyphs[10, 12] = cmap(12)  # doorway
    glyphs[10, 14] = cmap(1)  # vertical wall
    glyphs[10, 16] = cmap(42)  # an arrow trap behind the wall: not seen
    glyphs[5, 10] = cmap(15)  # a vertical closed door, listed from anywhere
    lines = describe_surroundings(glyphs, 10, 10).splitlines()
    assert lines == [
        "vertical closed door near north",
        "vertical wall near east",
        "doorway very near east",
    ]


def test_objects_have_their_generic_names():
    glyphs = np.full((21, 79), FLOOR, dtype=np.int16)
    gold = next(i for i in range(nh.NUM_OBJECTS) if nh.objdescr.from_idx(i).oc_name == "gold piece")
    glyphs[10, 11] = nh.GLYPH_OBJ_OFF + gold
    glyphs[10, 9] = nh.GLYPH_PET_OFF + monster("little dog")
    glyphs[9, 10] = nh.GLYPH_INVIS_OFF
    assert describe_surroundings(glyphs, 10, 10).splitlines() == [
        "invisible creature adjacent north",
        "gold piece adjacent east",
        "tame little dog adjacent west",
    ]


def test_cursor_on_the_agent_elsewhere_and_off_the_map():
    glyphs = corridor_screen()
    assert describe_cursor(glyphs, 10, 10, (11, 10)) == "Yourself a valkyrie\n(x=10, y=11)"
    assert describe_cursor(glyphs, 10, 10, (11, 12)) == "very near east jackal\n(x=12, y=11)"
    assert describe_cursor(glyphs, 10, 10, (11, 13)) == "near east \n(x=13, y=11)"  # no name
    assert describe_cursor(glyphs, 10, 10, (0, 36)) == "\n(x=36, y=0)"
    assert describe_cursor(glyphs, 10, 10, (23, 5)) == "\n(x=5, y=23)"


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
    assert read_message(tty("", "")) == ""
    assert read_message(tty(" " * 79 + "x")) == ""  # the wrapper's trim drops a lone last char


def test_message_with_pager_reads_the_window_without_blank_rows():
    window = " " * 40
    screen = tty(
        window + "Things that are here:",
        window + "a horn",
        "",
        window + "a forked wand",
        window + "--More--",
        "    |.@.|    some map",
    )
    assert has_more(screen)
    assert read_message(screen) == "Things that are here:\na horn\na forked wand\n--More--"
    paged = tty(" Weapons", " a - a +1 long sword", " (1 of 2)", "later")
    assert read_message(paged) == "Weapons\na - a +1 long sword\n(1 of 2)"


def test_game_over_screen_is_read_down_to_two_blank_rows():
    screen = tty(
        "Goodbye agent the Valkyrie...",
        " No  Points     Name",
        "  1      12     agent-Val-Hum-Fem-Neu died.",
        "",
        "",
        "not read",
    )
    assert read_message(screen) == (
        "Goodbye agent the Valkyrie...\n"
        "No  Points     Name\n"
        "1      12     agent-Val-Hum-Fem-Neu died.\n"
    )


def test_more_chain_turns_prompts_into_line_breaks():
    pages = ["You hit the jackal!--More--", "The jackal bites!--More--", "You kill it!"]
    assert join_messages(pages) == "You hit the jackal!\nThe jackal bites!\nYou kill it!"
    assert join_messages(["Hello.--More--", ""]) == "Hello.\n"
    assert join_messages(["Hello."]) == "Hello."


def test_map_is_terminal_rows_1_to_23_full_width():
    screen = tty("message", "row one", *[""] * 21, "Dlvl:1 $:0 HP:12(12)")
    rendered = render_map(screen).split("\n")
    assert len(rendered) == 23
    assert all(len(row) == 80 for row in rendered)
    assert rendered[0].rstrip() == "row one"
    assert rendered[-1].startswith("Dlvl:1")


def test_full_text_has_the_five_sections_in_order():
    chars = tty("Hello.", *[""] * 23)
    text = render_nle_text(
        message="Hello.",
        glyphs=corridor_screen(),
        player=(10, 10),
        tty_chars=chars,
        tty_cursor=(11, 10),
        inventory=describe_inventory(np.zeros(55, dtype=np.uint8), np.zeros((55, 80), np.uint8)),
    )
    heads = ["message:\n", "\n\nlanguage observation:\n", "\n\ncursor:\n", "\n\nmap:\n"]
    positions = [text.index(head) for head in [*heads, "\n\ninventory:\n"]]
    assert positions == sorted(positions)
    assert text.startswith("message:\nHello.\n\nlanguage observation:\nhorizontal wall near east\n")
    assert "\n\ncursor:\nYourself a valkyrie\n(x=10, y=11)\n\nmap:\n" in text
    assert text.endswith("\n\ninventory:\n")
