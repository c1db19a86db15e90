import re

import numpy as np
import pytest

from automem_core.envs.crafter_text import (
    DEAD_LINE,
    ITEM_NAMES,
    SLEEPING_LINE,
    describe_offset,
    local_view,
    render_crafter_text,
)

ID = {name: i for i, name in enumerate(ITEM_NAMES)}
VITALS = {"health": 5, "food": 9, "drink": 3, "energy": 9}


def synthetic_view() -> np.ndarray:
    """9×7 view indexed [x, y]; the player stands at the centre (4, 3)."""
    view = np.full((9, 7), ID["grass"], dtype=np.uint8)
    view[4, 3] = ID["player"]
    view[0, 0] = ID["tree"]  # 7 steps away: the farther tree
    view[2, 1] = ID["tree"]  # 4 steps north-west: the nearest tree
    view[4, 5] = ID["water"]
    view[5, 3] = ID["cow"]
    view[8, 6] = ID["stone"]
    view[3, 3] = ID["sand"]  # ground is never listed
    return view


def test_offsets_use_manhattan_distance_and_compound_directions():
    assert describe_offset(-2, -2) == "4 steps to your north-west"
    assert describe_offset(0, 2) == "2 steps to your south"
    assert describe_offset(1, 0) == "1 step to your east"
    assert describe_offset(-1, 0) == "1 step to your west"
    assert describe_offset(3, -1) == "4 steps to your north-east"
    assert describe_offset(4, 3) == "7 steps to your south-east"


def test_synthetic_view_renders_hand_checked_text():
    inventory = {**VITALS, "sapling": 0, "wood": 2, "wood_pickaxe": 1}
    text = render_crafter_text(synthetic_view(), (1, 0), inventory)
    assert text == (
        "You see:\n"
        "- tree 4 steps to your north-west\n"
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


def test_ground_ahead_is_nothing_and_empty_inventory_is_said():
    text = render_crafter_text(synthetic_view(), (-1, 0), dict(VITALS))
    assert "You face nothing at your front." in text
    assert text.endswith("You have nothing in your inventory.")


def test_empty_view_says_nothing_is_seen():
    view = np.full((9, 7), ID["grass"], dtype=np.uint8)
    view[4, 3] = ID["player"]
    assert render_crafter_text(view, (0, 1), VITALS).startswith("You see nothing away from you.")


@pytest.mark.parametrize(
    ("flags", "line"), [({"sleeping": True}, SLEEPING_LINE), ({"dead": True}, DEAD_LINE)]
)
def test_status_line_comes_first_when_sleeping_or_dead(flags, line):
    text = render_crafter_text(synthetic_view(), (0, 1), VITALS, **flags)
    assert text.startswith(line + "\n\nYou see:")


def test_local_view_centres_on_player_and_pads_outside_the_world():
    semantic = np.arange(64 * 64, dtype=np.int32).reshape(64, 64)
    inside = local_view(semantic, (10, 20))
    assert inside.shape == (9, 7)
    assert inside[4, 3] == semantic[10, 20]
    assert inside[0, 0] == semantic[6, 17]
    corner = local_view(semantic, (0, 63))
    assert corner[4, 3] == semantic[0, 63]
    assert (corner[:4] == 0).all() and (corner[:, 4:] == 0).all()
    assert corner[5, 2] == semantic[1, 62]


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
