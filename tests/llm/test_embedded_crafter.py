"""The Crafter player on hand-written prompts in the engine's formats."""

import asyncio

from automem_core.llm.base import TurnRequest
from automem_core.llm.embedded import EmbeddedClient
from automem_core.llm.embedded.crafter_view import near_lava, parse_crafter_observation
from automem_core.memory import parse_completion
from automem_core.scaffold import resolve_scaffold
from automem_core.scaffold.prompts import render_system

ACTIONS = {
    "Noop": "do nothing",
    "Move West": "move west on flat ground",
    "Move East": "move east on flat ground",
    "Move North": "move north on flat ground",
    "Move South": "move south on flat ground",
    "Do": "interact with what you face",
    "Sleep": "sleep when energy is below maximum",
    "Place Stone": "place a stone in front of you (uses 1 stone)",
    "Place Table": "place a table in front of you (uses 2 wood)",
    "Place Furnace": "place a furnace in front of you (uses 1 stone)",
    "Make Wood Pickaxe": "craft a wood pickaxe next to a table (uses 1 wood)",
}
# The system messages the player reads the scaffold's files and ops from.
SYSTEM = render_system(resolve_scaffold("crafter-keyed-status", "crafter"), ACTIONS)
SYSTEM_V0 = render_system(resolve_scaffold("crafter-v0", "crafter"), ACTIONS)
FILES = """- map_notes (1 lines)
- crafting_progress (0 lines)
- survival_log (0 lines)
- actions_log (3 lines)
- strategy (3 lines)
- status (5 lines)"""
FILES_V0 = FILES.replace("\n- status (5 lines)", "")


def observation(seen=(), facing="nothing", vitals=None, inventory=None):
    vit = {"health": 9, "food": 9, "drink": 9, "energy": 9} | (vitals or {})
    parts = ["You see:\n" + "\n".join(f"- {s}" for s in seen) if seen else "You see nothing."]
    parts.append(f"You face {facing} at your front.")
    parts.append("Your status:\n" + "\n".join(f"- {k}: {v}/9" for k, v in vit.items()))
    inv = inventory or {}
    parts.append(
        "Your inventory:\n" + "\n".join(f"- {k}: {n}" for k, n in inv.items())
        if inv
        else "You have nothing in your inventory."
    )
    return "\n\n".join(parts)


def plan_prompt(step, obs, files=FILES):
    return (
        f"[PLAN phase] Step {step}.\n\nObservation:\n{obs}\n\nMemory files:\n{files}\n\n"
        "Contents of strategy:\nDrink at water.\n\n"
        "Consult your memory if useful, then commit one action with <|ACTION|>action name<|END|>."
    )


def log_prompt(step, previous, obs, files=FILES):
    return (
        f"[LOG phase] Step {step}.\nPrevious action: {previous}\n\nObservation:\n{obs}\n\n"
        f"Memory files:\n{files}\n\nRecord what is worth remembering, then write <|DONE|>."
    )


def ask(phase, step, *users, replies=(), system=SYSTEM):
    msgs = [{"role": "system", "content": system}, {"role": "user", "content": users[0]}]
    for reply, user in zip(replies, users[1:], strict=True):
        msgs += [{"role": "assistant", "content": reply}, {"role": "user", "content": user}]
    request = TurnRequest(msgs, "crafter", phase, step, len(users) - 1)
    completion = asyncio.run(EmbeddedClient("crafter").complete(request))
    assert completion.error is None
    return completion.text, parse_completion(completion.text)


def test_plan_walks_to_visible_water_when_thirsty():
    obs = observation(
        ["tree 2 steps to your west", "water 3 steps to your north"], "nothing", {"drink": 3}
    )
    _, parsed = ask("plan", 10, plan_prompt(10, obs))
    assert parsed.action == "Move North"
    assert not parsed.ops


def test_plan_drinks_when_facing_water_and_thirsty():
    obs = observation(["water 1 step to your north"], "water", {"drink": 3})
    assert ask("plan", 10, plan_prompt(10, obs))[1].action == "Do"


def test_plan_hits_the_tree_it_faces_when_short_of_wood():
    obs = observation(["tree 1 step to your east"], "tree", inventory={"wood": 1})
    assert ask("plan", 4, plan_prompt(4, obs))[1].action == "Do"


def test_plan_places_a_table_with_enough_wood_only():
    rich = observation(["tree 3 steps to your east"], "nothing", inventory={"wood": 4})
    assert ask("plan", 9, plan_prompt(9, rich))[1].action == "Place Table"
    poor = observation(["tree 3 steps to your east"], "nothing", inventory={"wood": 1})
    assert ask("plan", 9, plan_prompt(9, poor))[1].action != "Place Table"


def test_plan_makes_a_pickaxe_next_to_a_table():
    obs = observation(["table 1 step to your south"], "table", inventory={"wood": 2})
    assert ask("plan", 12, plan_prompt(12, obs))[1].action == "Make Wood Pickaxe"


def test_plan_searches_memory_for_water_then_walks_to_the_remembered_spot():
    obs = observation(["tree 2 steps to your west"], "nothing", {"drink": 2})
    first, parsed = ask("plan", 40, plan_prompt(40, obs))
    assert parsed.action is None
    calls = {(op.kind, op.args) for op in parsed.ops}
    assert ("SEARCH", ("map_notes", "water")) in calls
    assert ("READ", ("status",)) in calls
    results = (
        "── READ status ──\nstep: 40\nposition: (10,10)\nachievements: collect_wood\n\n"
        "── TAIL actions_log (last 3) ──\nstep 40: Move West -> nothing [drink 2]\n\n"
        "── SEARCH map_notes for 'water' ──\nwater: near (10,22) at step 12\n\n"
        "Consult more if needed, then commit one action with <|ACTION|>action name<|END|>."
    )
    _, parsed = ask("plan", 40, plan_prompt(40, obs), results, replies=[first])
    assert parsed.action == "Move South"
    west = results.replace("near (10,22)", "near (-5,10)")
    assert ask("plan", 40, plan_prompt(40, obs), west, replies=[first])[1].action == "Move West"


def test_log_reads_its_files_then_records_sightings_and_the_outcome():
    obs = observation(
        ["water 3 steps to your north", "cow 2 steps to your east"],
        "nothing",
        {"drink": 3},
        {"wood": 2},
    )
    first, parsed = ask("log", 5, log_prompt(5, "Do", obs))
    assert not parsed.done
    assert {(op.kind, op.args[0]) for op in parsed.ops} >= {
        ("READ", "status"),
        ("READ", "map_notes"),
    }
    results = (
        "── READ status ──\nstep: 5\nposition: (10,10)\n\n"
        "── READ map_notes ──\ncow: near (30,30) at step 1\n\n"
        "── READ crafting_progress ──\n[FILE IS EMPTY]\n\n"
        "── TAIL actions_log (last 1) ──\n"
        "Step 3 action 'Move West': nothing; at (11,10) facing west grass "
        "[health 9, food 9, drink 3, energy 9, wood 1]\n\n"
        "── TAIL survival_log (last 1) ──\n[FILE IS EMPTY]\n\n"
        "Continue recording, or write <|DONE|> when finished."
    )
    _, parsed = ask("log", 5, log_prompt(5, "Do", obs), results, replies=[first])
    assert parsed.done and parsed.action is None
    ops = {(op.kind, op.args) for op in parsed.ops}
    assert ("UPSERT", ("map_notes", "water", "near (10,7) at step 5")) in ops
    assert ("UPSERT", ("map_notes", "cow", "near (12,10) at step 5")) in ops
    logged = [
        op.args[1] for op in parsed.ops if op.kind == "APPEND" and op.args[0] == "actions_log"
    ]
    assert len(logged) == 1 and logged[0].startswith("Step 4 action 'Do': wood 1->2; at (10,10)")
    assert any(op.args[0] == "survival_log" and "drink 3/9" in op.args[1] for op in parsed.ops)


def test_log_marks_a_note_gone_when_its_spot_is_in_view_without_it():
    obs = observation(["tree 2 steps to your west"])
    results = (
        "── READ status ──\nposition: (10,10)\n\n"
        "── READ map_notes ──\ncow: near (11,10) at step 3\n\nContinue recording."
    )
    _, parsed = ask(
        "log", 9, log_prompt(9, "Noop", obs), results, replies=["<|READ|>status<|END|>"]
    )
    assert ("UPSERT", ("map_notes", "cow", "gone from (11,10) at step 9")) in {
        (op.kind, op.args) for op in parsed.ops
    }


def test_log_writes_only_files_the_index_lists():
    obs = observation(["zombie 2 steps to your north"], vitals={"health": 2})
    prompt = log_prompt(3, "Noop", obs).replace("- survival_log (0 lines)\n", "")
    _, parsed = ask("log", 3, prompt, "── READ status ──\nposition: (1,1)", replies=["x"])
    assert parsed.done
    assert all(op.args[0] != "survival_log" for op in parsed.ops)


def test_action_turn_of_a_split_setup_commits_an_action_from_the_consultation():
    obs = observation(["tree 2 steps to your west"], "nothing", {"drink": 2})
    user = (
        f"[ACTION] Step 40.\n\nObservation:\n{obs}\n\nWhat your memory says:\n"
        "── READ status ──\nposition: (10,10)\n\n"
        "── SEARCH map_notes for 'water' ──\nwater: near (10,2) at step 12\n\n"
        "Choose one game action and answer with <|ACTION|>action name<|END|>."
    )
    _, parsed = ask("action", 40, user)
    assert parsed.action == "Move North" and not parsed.ops


def test_lava_next_door_blocks_only_neighbours_not_known_to_be_something_else():
    seen = ["lava 1 step to your west", "path 1 step to your north", "grass 1 step to your east"]
    obs = parse_crafter_observation(observation(seen, "path"))
    assert near_lava(obs, "west")
    assert near_lava(obs, "south")  # a second lava there would be listed after the first
    assert not near_lava(obs, "north")
    assert not near_lava(obs, "east")


# --------------------------------------------------------------------------- on plain v0 files

SNAP = "[health 9, food 5, drink 9, energy 9, wood 1]"


def v0_log(step, previous, obs, results):
    prompt = log_prompt(step, previous, obs, FILES_V0)
    first, parsed = ask("log", step, prompt, system=SYSTEM_V0)
    assert not parsed.done
    _, parsed = ask("log", step, prompt, results, replies=[first], system=SYSTEM_V0)
    assert parsed.done
    return first, parsed


def test_v0_log_reads_the_newest_notes_and_appends_instead_of_upserting():
    obs = observation(["water 3 steps to your north"], "grass", inventory={"wood": 1})
    results = (
        "── TAIL map_notes (last 60) ──\nwater: near (0,0) at step 1\n\n"
        "── TAIL actions_log (last 1) ──\n"
        f"Step 4 action 'Move East': nothing; at (5,5) facing east grass {SNAP}\n\n"
        "Continue recording."
    )
    first, parsed = v0_log(6, "Move West", obs, results)
    reads = {(op.kind, op.args[0]) for op in parse_completion(first).ops}
    assert ("TAIL", "map_notes") in reads and ("READ", "status") not in reads
    ops = {(op.kind, op.args) for op in parsed.ops}
    assert not any(kind == "UPSERT" for kind, _ in ops)
    # no status file: it stepped west from (5,5), so the water 3 north is near (4,2)
    assert ("APPEND", ("map_notes", "water: near (4,2) at step 6")) in ops
    logged = [args[1] for kind, args in ops if kind == "APPEND" and args[0] == "actions_log"]
    assert logged[0].startswith("Step 5 action 'Move West': ")
    assert "at (4,5) facing west grass" in logged[0]


def test_v0_reckoning_does_not_count_a_step_into_what_blocked_it():
    obs = observation(["tree 1 step to your west"], "tree", inventory={"wood": 1})
    results = (
        "── TAIL actions_log (last 1) ──\n"
        f"Step 4 action 'Move West': nothing; at (5,5) facing west tree; blocked west {SNAP}"
    )
    _, parsed = v0_log(6, "Move West", obs, results)
    logged = [op.args[1] for op in parsed.ops if op.args[0] == "actions_log"]
    assert "at (5,5) facing west tree" in logged[0]


def test_v0_log_infers_an_achievement_once_from_its_own_trail():
    obs = observation([], "grass", vitals={"food": 6}, inventory={"wood": 1})
    trail = f"Step 4 action 'Move North': nothing; at (5,5) facing north cow {SNAP}"
    progress = "── READ crafting_progress ──\n[FILE IS EMPTY]"
    results = f"{progress}\n\n── TAIL actions_log (last 1) ──\n{trail}"
    _, parsed = v0_log(6, "Do", obs, results)
    assert ("APPEND", ("crafting_progress", "achieved: eat_cow at step 6")) in {
        (op.kind, op.args) for op in parsed.ops
    }
    known = results.replace("[FILE IS EMPTY]", "achieved: eat_cow at step 2")
    _, parsed = v0_log(6, "Do", obs, known)
    assert not any("eat_cow" in op.args[-1] for op in parsed.ops if op.args[0] != "actions_log")


def test_v0_plan_finds_its_position_and_achievements_in_its_own_logs():
    obs = observation(["tree 2 steps to your west"], "nothing", {"drink": 2})
    prompt = plan_prompt(40, obs, FILES_V0)
    first, parsed = ask("plan", 40, prompt, system=SYSTEM_V0)
    calls = {(op.kind, op.args) for op in parsed.ops}
    assert ("SEARCH", ("crafting_progress", "achieved")) in calls
    assert ("SEARCH", ("map_notes", "water")) in calls
    assert not any(args == ("status",) for _, args in calls)
    results = (
        "── TAIL actions_log (last 3) ──\n"
        f"Step 39 action 'Move West': nothing; at (10,10) facing west grass {SNAP}\n\n"
        "── SEARCH crafting_progress for 'achieved' ──\nachieved: collect_drink at step 3\n\n"
        "── SEARCH map_notes for 'water' ──\nwater: near (10,22) at step 12\n\n"
        "Consult more if needed, then commit one action with <|ACTION|>action name<|END|>."
    )
    _, parsed = ask("plan", 40, prompt, results, replies=[first], system=SYSTEM_V0)
    assert parsed.action == "Move South"


def test_plan_walks_back_to_the_remembered_table_to_place_a_furnace():
    inv = {"wood": 1, "stone": 5, "wood_pickaxe": 1, "stone_pickaxe": 1, "stone_sword": 1}
    obs = observation(["grass 1 step to your west"], "grass", inventory=inv)
    first, parsed = ask("plan", 80, plan_prompt(80, obs))
    assert ("SEARCH", ("map_notes", "table")) in {(op.kind, op.args) for op in parsed.ops}
    results = (
        "── READ status ──\nposition: (20,20)\nachievements: place_table, place_stone\n\n"
        "── SEARCH map_notes for 'table' ──\ntable: near (20,5) at step 30\n\n"
        "Consult more if needed, then commit one action with <|ACTION|>action name<|END|>."
    )
    _, parsed = ask("plan", 80, plan_prompt(80, obs), results, replies=[first])
    assert parsed.action == "Move North"
    placed = results.replace("place_table", "place_table, place_furnace")
    _, parsed = ask("plan", 80, plan_prompt(80, obs), placed, replies=[first])
    assert parsed.action != "Move North"  # nothing left to build there
