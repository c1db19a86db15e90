"""The helpers' pure functions: warnings, what the file-writing helpers write, prompt blocks."""

import pytest

from automem_core.scaffold import (
    ScaffoldError,
    load_scaffold,
    make_scaffold,
    resolve_scaffold,
    write_scaffold,
)
from automem_core.scaffold.helpers import (
    History,
    action_log_line,
    describe_outcome,
    oscillation_warning,
    plan_prune,
    render_injected,
    render_inventory,
    render_map_analysis,
    render_status,
    size_reminders,
    stuck_warning,
    unchanged_observation_notice,
)
from automem_core.scaffold.helpers.blocks import sector
from automem_core.scaffold.spec import MemoryFileSpec


def _history(observations, positions=None):
    h = History()
    for obs, pos in zip(observations, positions or [None] * len(observations), strict=True):
        h.record(obs, pos)
    return h


# --------------------------------------------------------------------------- warnings


def test_repeats_count_the_trailing_unchanged_observations():
    assert _history([]).repeats == 0
    assert _history(["a"]).repeats == 0
    assert _history(["a", "b"]).repeats == 0
    assert _history(["a", "b", "b"]).repeats == 1
    assert _history(["b", "b", "b", "b"]).repeats == 3


def test_unchanged_notice_warns_at_one_repeat_and_says_stuck_from_the_threshold():
    assert unchanged_observation_notice(0, 3, "east") is None
    once = unchanged_observation_notice(1, 3, "east")
    assert once is not None and "did not change after your last action ('east')" in once
    assert "STUCK" not in once and "times in a row" not in once
    twice = unchanged_observation_notice(2, 3, "east")
    assert twice is not None and "(2 times in a row)" in twice and "STUCK" not in twice
    stuck = unchanged_observation_notice(3, 3)
    assert stuck is not None and stuck.startswith("WARNING: STUCK") and "3 steps" in stuck


def test_stuck_needs_the_full_window_of_identical_observations():
    assert stuck_warning(_history(["a"] * 4), 5) is None
    assert "5 steps" in stuck_warning(_history(["a"] * 5), 5)
    assert stuck_warning(_history(["b"] + ["a"] * 4), 5) is None


def test_oscillation_between_two_places_is_detected_but_not_a_walk():
    ab = [(0, 0), (1, 0)] * 4
    assert oscillation_warning(_history(["x"] * 8, ab), 8) is not None
    walk = [(i, 0) for i in range(8)]
    assert oscillation_warning(_history(["x"] * 8, walk), 8) is None
    still = [(0, 0)] * 8
    assert oscillation_warning(_history(["x"] * 8, still), 8) is None


def test_size_reminder_only_for_capped_agent_files_past_the_threshold():
    specs = [
        MemoryFileSpec(name="notes", purpose="x", max_lines=10),
        MemoryFileSpec(name="status", purpose="x", max_lines=10, writer="helper"),
        MemoryFileSpec(name="strict", purpose="x", max_lines=10, prune="reject"),
        MemoryFileSpec(name="endless", purpose="x", prune="none"),
    ]
    index = [("notes", 8), ("status", 10), ("strict", 9), ("endless", 10**6), ("other", 99)]
    out = size_reminders(index, specs, 0.8)
    assert len(out) == 2
    assert "notes has 8/10" in out[0] and "oldest lines will be dropped" in out[0]
    assert "writes will fail" in out[1]


# --------------------------------------------------------------------------- written files


def test_status_file_for_each_game_kind():
    crafter = render_status(
        "crafter",
        7,
        {
            "pos": (3, 4),
            "status": {"health": 9, "food": 0},
            "inventory": {"wood": 2},
            "achievements": [],
        },
    )
    assert crafter.splitlines() == [
        "step: 7",
        "position: (3,4)",
        "status: health 9",
        "inventory: wood 2",
        "achievements: none yet",
    ]
    nle = render_status("nethack", 2, {"pos": (10, 5), "dlvl": 1, "hp": 12, "hp_max": 14})
    assert "position: (10,5)" in nle and "hp: 12/14" in nle


def test_inventory_file_from_counts_or_from_the_games_lines():
    assert render_inventory({"inventory": {"wood": 2, "stone": 0, "sapling": 1}}) == (
        "wood: 2\nsapling: 1"
    )
    nle = ("a: a +1 long sword (weapon in hand)", "b: 2 food rations")
    assert render_inventory({"inventory": nle}) == "\n".join(nle)
    assert render_inventory({"inventory": {}}) == "(nothing carried)"
    assert render_inventory({"pos": (1, 1)}) is None


def test_outcome_of_a_crafter_action_names_what_changed():
    before = {
        "pos": (3, 4),
        "status": {"health": 9, "drink": 5},
        "inventory": {"wood": 1},
        "achievements": ["collect_wood"],
    }
    after = {
        "pos": (3, 4),
        "status": {"health": 9, "drink": 6},
        "inventory": {"wood": 2},
        "achievements": ["collect_drink", "collect_wood"],
    }
    outcome = describe_outcome(before, after, unchanged=False)
    line = action_log_line(11, "Do", outcome)
    assert line == (
        "Step 11 action 'Do': stayed at (3,4); drink 5->6; wood 1->2; unlocked collect_drink"
    )
    assert not outcome.moved_only


def test_outcome_of_an_nle_move_and_of_a_bump():
    inv = ("a: a long sword",)
    before = {"pos": (5, 5), "hp": 12, "dlvl": 1, "inventory": inv, "message": ""}
    moved = describe_outcome(before, {**before, "pos": (6, 5)}, unchanged=False)
    assert moved.moved_only and moved.render() == "moved to (6,5)"
    hurt = {**before, "hp": 9, "message": "The jackal bites!", "inventory": (*inv, "b: a gem")}
    line = action_log_line(3, "far  east", describe_outcome(before, hurt, unchanged=False))
    assert line == (
        "Step 3 action 'far east': stayed at (5,5); hp 12->9; now b: a gem; \"The jackal bites!\""
    )
    same = describe_outcome(before, before, unchanged=True)
    assert same.render() == "nothing changed; stayed at (5,5)" and not same.moved_only


def test_prune_drops_the_oldest_lines_under_a_header_and_keeps_the_total():
    lines = [f"line {i}" for i in range(10)]
    assert plan_prune(lines, trigger=10, keep=4, step=5) is None
    first = plan_prune([*lines, "line 10"], trigger=10, keep=4, step=5)
    assert first is not None
    assert (first.count, first.header) == (8, "[pruned 8 oldest lines at step 5]")
    kept = [first.header, *[f"line {i}" for i in range(8, 11)]] + [f"new {i}" for i in range(8)]
    second = plan_prune(kept, trigger=10, keep=4, step=9)
    assert second is not None
    assert second.count == 1 + 8  # the old header goes with the dropped lines
    assert second.header == "[pruned 8 oldest lines at step 9; 16 in all]"


# --------------------------------------------------------------------------- prompt blocks


def _facts(cells, things=(), hp=(12, 12)):
    full = {d: ("floor", "room floor") for d in ("north", "northeast", "east", "southeast")}
    full |= {d: ("floor", "room floor") for d in ("south", "southwest", "west", "northwest")}
    full |= cells
    return {
        "pos": (10, 5),
        "hp": hp[0],
        "hp_max": hp[1],
        "surroundings": {"cells": full, "things": list(things)},
    }


def test_sector_names_the_nearest_of_eight_directions():
    assert [sector(0, -3), sector(4, -1), sector(3, -3), sector(-2, 5)] == [
        "north",
        "east",
        "northeast",
        "south",
    ]


def test_map_analysis_says_per_direction_what_a_step_would_do():
    facts = _facts(
        {
            "north": ("wall", "horizontal wall"),
            "east": ("monster", "jackal"),
            "northwest": ("open door", "vertical open door"),
            "west": ("closed door", "vertical closed door"),
            "south": ("trap", "arrow trap"),
            "southwest": ("dark", "dark area"),
        },
        things=[
            ("stairs down", "stairs down", 16, 5),
            ("monster", "newt", 10, 9),
            ("monster", "far away dragon", 40, 5),
        ],
        hp=(3, 12),
    )
    block = render_map_analysis(facts, reach=8).splitlines()
    assert block[0].startswith("Map analysis (you are at (10,5)")
    assert "- north: blocked (wall)" in block
    east = "- east: monster: jackal (moving there attacks it); further: stairs down 6 steps"
    assert east in block
    assert "- northwest: blocked (vertical open door: doors cannot be entered diagonally)" in block
    assert "- west: closed door (vertical closed door: open or kick it)" in block
    assert "- south: can move, but danger: arrow trap; further: newt 4 steps" in block
    assert "- southwest: blocked (solid rock or unexplored)" in block
    assert "- southeast: can move (room floor)" in block
    assert "dragon" not in "\n".join(block)  # beyond reach
    assert block[-2] == "- danger: jackal adjacent east; arrow trap adjacent south; low HP (3/12)"
    assert block[-1] == "- stairs down: stairs down at (16,5)"


def test_map_analysis_without_facts_says_so():
    assert "not available" in render_map_analysis({"pos": (1, 1)}, reach=8)


def test_injected_blocks_have_titles_and_show_empty_files():
    text = render_injected([("Contents of strategy", "go down"), ("Last 2 lines of log", "")])
    assert text == "\nContents of strategy:\ngo down\n\nLast 2 lines of log:\n(empty)\n"


# --------------------------------------------------------------------------- validation


def _doc(game="nethack", **helpers):
    doc = resolve_scaffold(f"{game}-v0", game).canonical()
    doc["helpers"].update(helpers)
    return doc


@pytest.mark.parametrize(
    ("helpers", "needle"),
    [
        ({"action_log": {"enabled": True, "file": "nowhere"}}, "helpers.action_log.file"),
        ({"inventory_file": {"enabled": True}}, "declare it with writer: helper"),
        ({"pruning": {"enabled": True}}, "helpers.pruning.files is empty"),
        (
            {
                "pruning": {
                    "enabled": True,
                    "files": ["strategy"],
                    "keep_lines": 9,
                    "trigger_lines": 9,
                }
            },
            "keep_lines (9) must be below trigger_lines (9)",
        ),
        ({"plan_tail": {"file": "ghost"}}, "helpers.plan_tail.file 'ghost'"),
        ({"goals_file": {"file": "ghost"}}, "helpers.goals_file.file 'ghost'"),
    ],
)
def test_helper_settings_that_cannot_work_are_refused_naming_the_field(helpers, needle):
    with pytest.raises(ScaffoldError, match="helpers"):
        make_scaffold(_doc(**helpers))
    with pytest.raises(ScaffoldError) as err:
        make_scaffold(_doc(**helpers))
    assert needle in str(err.value)


def test_prompt_placeholders_the_helpers_need_are_checked():
    doc = _doc()
    doc["prompts"] = {k: v.replace("$map_analysis", "") for k, v in doc["prompts"].items()}
    with pytest.raises(ScaffoldError, match=r"no prompt has a \$map_analysis placeholder"):
        make_scaffold(doc)
    doc = _doc(plan_tail={"file": "actions_log", "lines": 5})
    doc["prompts"]["plan"] = doc["prompts"]["plan"].replace("$injected", "")
    with pytest.raises(ScaffoldError, match=r"no \$injected placeholder"):
        make_scaffold(doc)


def test_a_line_cap_with_prune_none_is_refused():
    doc = _doc()
    doc["files"][2]["max_lines"] = 50
    with pytest.raises(ScaffoldError, match="prune 'none' means no line cap"):
        make_scaffold(doc)


def test_every_helper_can_be_switched_on_in_one_valid_document(tmp_path):
    doc = _doc(
        action_log={"enabled": True, "file": "actions_log", "skip_routine_moves": True},
        plan_tail={"file": "actions_log", "lines": 15},
        goals_file={"file": "strategy"},
        pruning={"enabled": True, "files": ["actions_log", "dungeon_map"], "trigger_lines": 400},
        inventory_file={"enabled": True, "file": "inventory"},
    )
    doc["files"][4]["writer"] = "helper"  # the inventory is now the helper's
    sc = make_scaffold(doc)
    assert sc.spec.helpers.pruning.keep_lines == 200
    assert make_scaffold(sc.canonical()).version == sc.version  # the canonical form round-trips
    assert load_scaffold(write_scaffold(sc, tmp_path / "sc")) == sc  # and so does the folder
