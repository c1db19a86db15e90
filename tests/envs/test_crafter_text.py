import re

import numpy as np
import pytest

from automem_core.envs.crafter_text import (
    DEAD_LINE,
    ITEM_NAMES,
    OFF_MAP_LINE,
    SLEEPING_LINE,
    describe_offset,
    local_view,
    render_crafter_text,
)

ID = {name: i for i, name in enumerate(ITEM_NAMES)}
VITALS = {"health": 5, "food": 9, "drink": 3, "energy": 9}
POS = (20, 30)


def synthetic_world() -> np.ndarray:
    """A 64×64 semantic map indexed [x, y]; the player stands at POS, the view's centre."""
    world = np.full((64, 64), ID["grass"], dtype=np.uint8)
    px, py = POS

    def put(dx: int, dy: int, item: str) -> None:
        world[px + dx, py + dy] = ID[item]

    put(0, 0, "player")
    put(-4, -3, "tree")  # 7 steps away: the farther tree
    put(-2, -2, "tree")  # 4 steps north-west: the nearest tree
    put(0, 2, "water")
    put(1, 0, "cow")
    put(4, 3, "stone")
    put(-1, 0, "sand")
    put(5, 0, "lava")  # outside the 9×7 view
    return world


def test_offsets_use_manhattan_distance_and_compound_directions():
    assert describe_offset(-2, -2) == "4 steps to your north-west"
    assert describe_offset(0, 2) == "2 steps to your south"
    assert describe_offset(1, 0) == "1 step to your east"
    assert describe_offset(-1, 0) == "1 step to your west"
    assert describe_offset(3, -1) == "4 steps to your north-east"
    assert describe_offset(4, 3) == "7 steps to your south-east"


def test_synthetic_view_renders_hand_checked_text():
    inventory = {**VITALS, "sapling": 0, "wood": 2, "wood_pickaxe": 1}
    text = render_crafter_text(synthetic_world(), POS, (1, 0), inventory)
    assert text == (
        "You see:\n"
        "- tree 4 steps to your north-west\n"
        "- grass 1 step to your north\n"  # every tile type is listed, ground included
        "- sand 1 step to your west\n"
        "- water 2 steps to your south\n"
        "- cow 1 step to your east\n"
        "- stone 7 steps to your south-east\n"
        "\n"
        "You face cow at your front.\n"
        "\n"
        "Your status:\n"
        "- health: 5/9\n"
        "- food: 9/9\n"
        "- drink: 3/9\n"
        "- energy: 9/9\n"
        "\n"
        "Your inventory:\n"
        "- wood: 2\n"
        "- wood_pickaxe: 1"
    )


def test_ground_ahead_is_named_and_empty_inventory_is_said():
    text = render_crafter_text(synthetic_world(), POS, (0, -1), dict(VITALS))
    assert "You face grass at your front." in text
    assert text.endswith("You have nothing in your inventory.")


def test_view_of_nothing_but_the_player():
    world = np.full((64, 64), ID["player"], dtype=np.uint8)
    text = render_crafter_text(world, POS, (0, 1), VITALS)
    assert text.startswith("You see nothing away from you.\n\nYou face player at your front.")


@pytest.mark.parametrize(
    ("flags", "line"),
    [
        ({"sleeping": True}, SLEEPING_LINE),
        ({"dead": True}, DEAD_LINE),
        ({"sleeping": True, "dead": True}, SLEEPING_LINE),  # killed in its sleep
    ],
)
def test_status_line_comes_first_with_three_blank_lines(flags, line):
    text = render_crafter_text(synthetic_world(), POS, (0, 1), VITALS, **flags)
    assert text.startswith(line + "\n\n\n\nYou see:")
    assert (
        SLEEPING_LINE == "You are sleeping, and will not be able take actions until energy is full."
    )


def test_view_is_cut_like_a_plain_slice_at_the_world_edge():
    world = np.arange(64 * 64, dtype=np.int32).reshape(64, 64)
    inside = local_view(world, (10, 20))
    assert inside.shape == (9, 7)
    assert inside[4, 3] == world[10, 20]
    assert inside[0, 0] == world[6, 17]
    assert local_view(world, (62, 40)).shape == (6, 7)  # cut short east
    assert local_view(world, (2, 40)).size == 0  # a slice from a negative start is empty


def test_view_past_the_west_edge_sees_nothing():
    world = np.full((64, 64), ID["grass"], dtype=np.uint8)
    world[1, 30] = ID["player"]
    text = render_crafter_text(world, (1, 30), (-1, 0), VITALS)
    assert text.startswith("You see nothing away from you.\n\nYou face nothing at your front.")


def test_player_missing_from_the_map_gives_balrogs_error_text():
    world = synthetic_world()
    text = render_crafter_text(world, (0, 0), (1, 0), VITALS)
    assert text.startswith(OFF_MAP_LINE + "\n\nYour status:\n")


@pytest.mark.slow
def test_real_crafter_text_matches_its_facts():
    from automem_core.envs.registry import make_env

    env = make_env("crafter")
    obs = env.reset(3)
    names = list(env.actions())
    rng = np.random.default_rng(5)
    for _ in range(150):
        out = env.step(names[rng.integers(len(names))])
        obs = out.observation
        if out.done:
            break
    status = dict(re.findall(r"^- (health|food|drink|energy): (\d)/9$", obs.text, re.M))
    assert {k: int(v) for k, v in status.items()} == obs.facts["status"]
    listed = dict(re.findall(r"^- (\w+): (\d+)$", obs.text, re.M))
    assert {k: int(v) for k, v in listed.items()} == obs.facts["inventory"]
    assert re.search(r"^You face \w+ at your front\.$", obs.text, re.M)
    assert obs.facts["step"] > 0
    env.close()
