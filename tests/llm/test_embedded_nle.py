"""The NetHack / MiniHack player on hand-written observations in the engine's text format."""

import asyncio

from automem_core.llm.base import TurnRequest
from automem_core.llm.embedded import EmbeddedClient
from automem_core.memory import parse_completion
from automem_core.scaffold import resolve_scaffold
from automem_core.scaffold.prompts import render_system

MOVES = ["north", "east", "south", "west", "northeast", "southeast", "southwest", "northwest"]
ACTIONS = {a: f"do {a}" for a in [*MOVES, "down", "search", "esc", "kick", "pray", "y"]}
# The system messages the player reads the scaffold's files and ops from.
SYSTEM = render_system(resolve_scaffold("nethack-keyed-status", "nethack"), ACTIONS)
SYSTEM_V0 = render_system(resolve_scaffold("nethack-v0", "nethack"), ACTIONS)
NETHACK_FILES = ["dungeon_map", "monster_encounters", "inventory", "actions_log", "strategy"]
DELTAS = {
    "north": (0, -1),
    "east": (1, 0),
    "south": (0, 1),
    "west": (-1, 0),
    "northeast": (1, -1),
    "southeast": (1, 1),
    "southwest": (-1, 1),
    "northwest": (-1, -1),
}
STATUS_LINES = [
    "Agent the Stripling            St:18/02 Dx:13 Co:16 In:9 Wi:9 Ch:7 Neutral S:0",
    "Dlvl:1 $:0 HP:16(16) Pw:2(2) AC:6 Xp:1/0",
]


def screen(rows: dict[int, str]) -> list[str]:
    """23 terminal rows below the message line: 21 map rows, then the status lines."""
    grid = [" " * 79] * 21
    for y, text in rows.items():
        grid[y] = text.ljust(79)
    return grid + STATUS_LINES


def observation(rows, agent, language=(), message="", inventory="a: a +1 long sword"):
    x, y = agent
    assert rows[y][x] == "@"
    return "\n\n".join(
        [
            f"message:\n{message}",
            "language observation:\n" + "\n".join(language),
            f"cursor:\nYourself a valkyrie\n(x={x}, y={y + 1})",
            "map:\n" + "\n".join(screen(rows)),
            f"inventory:\n{inventory}",
        ]
    )


def prompt(phase, step, obs, files=NETHACK_FILES, previous="east"):
    index = "\n".join(f"- {f} (3 lines)" for f in files)
    if phase == "log":
        head = f"[LOG phase] Step {step}.\nPrevious action: {previous}\n\n"
        tail = "Record what is worth remembering about what just happened, then write <|DONE|>."
    else:
        head = f"[PLAN phase] Step {step}.\n\n"
        tail = "Consult your memory if useful, then commit one action with <|ACTION|>name<|END|>."
    return f"{head}Observation:\n{obs}\n\nMemory files:\n{index}\n\n{tail}"


def ask(game, phase, step, *users, replies=(), system=SYSTEM):
    msgs = [{"role": "system", "content": system}, {"role": "user", "content": users[0]}]
    for reply, user in zip(replies, users[1:], strict=True):
        msgs += [{"role": "assistant", "content": reply}, {"role": "user", "content": user}]
    request = TurnRequest(msgs, game, phase, step, len(users) - 1)
    completion = asyncio.run(EmbeddedClient(game).complete(request))
    assert completion.error is None
    return completion.text, parse_completion(completion.text)


ROOM = {
    3: "          -----------",
    4: "          |.........|",
    5: "          |..@...>..|",
    6: "          |.........|",
    7: "          -----------",
}


def test_plan_walks_east_to_stairs_in_view():
    obs = observation(ROOM, (13, 5), ["stairs down near east"])
    _, parsed = ask("minihack", "plan", 3, prompt("plan", 3, obs))
    assert parsed.action == "east" and not parsed.ops


def test_plan_goes_round_a_wall_to_the_stairs():
    rows = dict(ROOM)
    rows[4] = "          |....|....|"
    rows[5] = "          |..@.|..>.|"
    pos, goal = (13, 5), (18, 5)
    for step in range(12):
        grid = {y: r.replace("@", ".") for y, r in rows.items()}
        if pos == goal:
            break
        line = grid[pos[1]]
        grid[pos[1]] = line[: pos[0]] + "@" + line[pos[0] + 1 :]
        _, parsed = ask("minihack", "plan", step, prompt("plan", step, observation(grid, pos)))
        dx, dy = DELTAS[parsed.action]
        target = (pos[0] + dx, pos[1] + dy)
        assert grid[target[1]][target[0]] in ".>", f"walked into {grid[target[1]][target[0]]!r}"
        pos = target
    assert pos == goal


def test_plan_goes_down_where_memory_says_the_stairs_are():
    rows = dict(ROOM)
    rows[5] = "          |..@......|"
    obs = observation(rows, (13, 5))
    first, parsed = ask("nethack", "plan", 30, prompt("plan", 30, obs))
    assert parsed.action is None
    assert ("SEARCH", ("dungeon_map", "stairs")) in {(op.kind, op.args) for op in parsed.ops}
    results = (
        "── SEARCH dungeon_map for 'stairs' ──\n(13,5): stairs down (>) on dlvl 1 [step 12]\n\n"
        "── TAIL actions_log (last 50) ──\nStep 29 action 'west': at (13,5); nothing\n\n"
        "Consult more if needed, then commit one action with <|ACTION|>action name<|END|>."
    )
    _, parsed = ask("nethack", "plan", 30, prompt("plan", 30, obs), results, replies=[first])
    assert parsed.action == "down"
    elsewhere = results.replace("(13,5): stairs", "(18,5): stairs")
    _, parsed = ask("nethack", "plan", 30, prompt("plan", 30, obs), elsewhere, replies=[first])
    assert parsed.action == "east"
    other_level = results.replace("dlvl 1", "dlvl 2")
    _, parsed = ask("nethack", "plan", 30, prompt("plan", 30, obs), other_level, replies=[first])
    assert parsed.action != "down"


def test_plan_goes_down_when_the_game_says_stairs_are_here():
    obs = observation({5: "   @   "}, (3, 5), message="There is a staircase down here.")
    assert ask("nethack", "plan", 2, prompt("plan", 2, obs))[1].action == "down"


def test_plan_searches_memory_when_no_stairs_in_view():
    rows = dict(ROOM)
    rows[5] = "          |..@......|"
    _, parsed = ask("minihack", "plan", 4, prompt("plan", 4, observation(rows, (13, 5))))
    assert parsed.action is None
    calls = {(op.kind, op.args) for op in parsed.ops}
    assert ("SEARCH", ("dungeon_map", "stairs")) in calls
    assert any(kind == "TAIL" and args[0] == "actions_log" for kind, args in calls)


def test_log_records_stairs_with_upsert_map_once():
    obs = observation(ROOM, (13, 5))
    first, parsed = ask("minihack", "log", 6, prompt("log", 6, obs))
    assert ("SEARCH", ("dungeon_map", "stairs")) in {(op.kind, op.args) for op in parsed.ops}
    unknown = "── SEARCH dungeon_map for 'stairs' ──\n[No lines matching 'stairs']"
    _, parsed = ask("minihack", "log", 6, prompt("log", 6, obs), unknown, replies=[first])
    assert parsed.done
    maps = [op.args for op in parsed.ops if op.kind == "UPSERT_MAP"]
    assert maps == [("17,5", "stairs down (>) on dlvl 1 [step 6]")]
    logged = [
        op.args[1] for op in parsed.ops if op.kind == "APPEND" and op.args[0] == "actions_log"
    ]
    assert logged == ["Step 5 action 'east': at (13,5); nothing"]
    known = "── SEARCH dungeon_map for 'stairs' ──\n(17,5): stairs down (>) on dlvl 1 [step 2]"
    _, parsed = ask("minihack", "log", 6, prompt("log", 6, obs), known, replies=[first])
    assert not [op for op in parsed.ops if op.kind == "UPSERT_MAP"]


def test_log_notes_adjacent_monsters_only_where_the_file_exists():
    rows = {5: "   .@d.   "}
    obs = observation(rows, (4, 5), ["jackal adjacent east"], message="The jackal bites!")
    _, parsed = ask("nethack", "log", 8, prompt("log", 8, obs), "x", replies=["y"])
    notes = [op.args[1] for op in parsed.ops if op.args[0] == "monster_encounters"]
    assert notes == ["step 8: jackal adjacent east; The jackal bites!"]
    without = prompt("log", 8, obs, files=["dungeon_map", "actions_log"])
    _, parsed = ask("minihack", "log", 8, without, "x", replies=["y"])
    assert all(op.args[0] != "monster_encounters" for op in parsed.ops)


def test_plan_attacks_an_adjacent_hostile_but_not_a_pet():
    hostile = observation({5: "   .@d.   "}, (4, 5), ["jackal adjacent east"])
    assert ask("nethack", "plan", 8, prompt("plan", 8, hostile))[1].action == "east"
    pet = observation({5: "   .@f.   "}, (4, 5), ["tame kitten adjacent east"])
    assert ask("nethack", "plan", 8, prompt("plan", 8, pet))[1].action != "east"


def test_nethack_answers_a_question_with_esc():
    obs = observation(ROOM, (13, 5), message="Really attack the watchman? [yn] (n)")
    assert ask("nethack", "plan", 5, prompt("plan", 5, obs))[1].action == "esc"


def test_explorer_leaves_a_dead_end_room_through_its_doorway():
    rows = {
        3: "          -----",
        4: "          |...|",
        5: "          |.@..",
        6: "          |...|",
        7: "          -----",
    }
    obs = observation(rows, (12, 5))
    results = "── TAIL actions_log (last 50) ──\nStep 8 action 'west': at (13,5); nothing"
    _, parsed = ask("minihack", "plan", 9, prompt("plan", 9, obs), results, replies=["x"])
    assert parsed.action == "east"  # towards the doorway at (14,5), the only way on


# --------------------------------------------------------------------------- plain v0 vs keyed map


def test_v0_log_appends_the_stairs_line_instead_of_upserting():
    obs = observation(ROOM, (13, 5))
    first, parsed = ask("minihack", "log", 6, prompt("log", 6, obs), system=SYSTEM_V0)
    reads = {(op.kind, op.args) for op in parsed.ops}
    assert ("SEARCH", ("dungeon_map", "stairs")) in reads
    assert not any("row" in args[-1] for _, args in reads)  # no row summaries without UPSERT
    unknown = "── SEARCH dungeon_map for 'stairs' ──\n[No lines matching 'stairs']"
    user = prompt("log", 6, obs)
    _, parsed = ask("minihack", "log", 6, user, unknown, replies=[first], system=SYSTEM_V0)
    writes = {(op.kind, op.args) for op in parsed.ops}
    assert ("APPEND", ("dungeon_map", "(17,5): stairs down (>) on dlvl 1 [step 6]")) in writes
    assert not any(kind.startswith("UPSERT") for kind, _ in writes)


def test_keyed_log_keeps_the_explored_cells_of_each_row_current():
    obs = observation(ROOM, (13, 5))
    first, parsed = ask("minihack", "log", 6, prompt("log", 6, obs))
    assert ("SEARCH", ("dungeon_map", "dlvl 1 row")) in {(op.kind, op.args) for op in parsed.ops}
    rows = "── SEARCH dungeon_map for 'dlvl 1 row' ──\ndlvl 1 row 5: explored x=10-11\n"
    _, parsed = ask("minihack", "log", 6, prompt("log", 6, obs), rows, replies=[first])
    upserts = [op.args for op in parsed.ops if op.kind == "UPSERT"]
    assert ("dungeon_map", "dlvl 1 row 5", "explored x=10-11,13") in upserts


def test_keyed_log_marks_the_whole_path_of_a_run():
    obs = observation(ROOM, (13, 5))
    user = prompt("log", 6, obs, previous="far east")
    first, parsed = ask("minihack", "log", 6, user)
    assert ("TAIL", ("actions_log", "2")) in {(op.kind, op.args) for op in parsed.ops}
    results = (
        "── SEARCH dungeon_map for 'dlvl 1 row' ──\n[No lines matching 'dlvl 1 row']\n\n"
        "── TAIL actions_log (last 2) ──\nStep 4 action 'west': at (10,5); nothing"
    )
    _, parsed = ask("minihack", "log", 6, user, results, replies=[first])
    upserts = [op.args for op in parsed.ops if op.kind == "UPSERT"]
    assert upserts == [("dungeon_map", "dlvl 1 row 5", "explored x=10-13")]


CORRIDOR = {5: "   ###########   "}


def test_keyed_plan_explores_away_from_the_rows_it_already_walked():
    obs = observation({5: CORRIDOR[5][:8] + "@" + CORRIDOR[5][9:]}, (8, 5))
    plan = prompt("plan", 20, obs)
    first, parsed = ask("minihack", "plan", 20, plan)
    assert ("SEARCH", ("dungeon_map", "dlvl 1 row")) in {(op.kind, op.args) for op in parsed.ops}
    tail = "── TAIL actions_log (last 50) ──\nStep 19 action 'west': at (8,5); nothing\n\n"
    _, parsed = ask("minihack", "plan", 20, plan, tail, replies=[first])
    unknown = parsed.action
    walked_that_way = "3-8" if unknown == "west" else "8-13"
    header = "── SEARCH dungeon_map for 'dlvl 1 row' ──"
    rows = f"{header}\ndlvl 1 row 5: explored x={walked_that_way}\n\n"
    _, parsed = ask("minihack", "plan", 20, plan, tail + rows, replies=[first])
    assert {unknown, parsed.action} == {"east", "west"}  # it turns to the end not yet walked


def test_v0_plan_reads_its_trail_but_no_row_summaries():
    obs = observation({5: CORRIDOR[5][:8] + "@" + CORRIDOR[5][9:]}, (8, 5))
    _, parsed = ask("minihack", "plan", 20, prompt("plan", 20, obs), system=SYSTEM_V0)
    calls = {(op.kind, op.args) for op in parsed.ops}
    assert ("TAIL", ("actions_log", "50")) in calls
    assert not any("row" in args[-1] for _, args in calls)


def test_plan_skips_the_tail_when_a_helper_shows_enough_of_the_trail():
    obs = observation({5: CORRIDOR[5][:8] + "@" + CORRIDOR[5][9:]}, (8, 5))
    shown = "\n".join(f"Step {i} action 'east': moved to (8,5)" for i in range(60))
    user = prompt("plan", 20, obs).replace(
        "\n\nConsult", f"\n\nLast 60 lines of actions_log:\n{shown}\n\nConsult"
    )
    _, parsed = ask("minihack", "plan", 20, user, system=SYSTEM_V0)
    assert not any(op.kind == "TAIL" for op in parsed.ops)
