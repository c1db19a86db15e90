from automem_core.envs.nle_env import NAMED_ACTIONS, build_actions, derive_seeds


def test_named_actions_are_unique_and_described():
    names = [name for name, _, _ in NAMED_ACTIONS]
    assert len(names) == len(set(names))
    assert all(description for _, _, description in NAMED_ACTIONS)


def test_actions_map_to_the_index_of_their_key_in_the_env_action_set():
    keys = [ord("k"), ord("l"), 27, ord("a"), ord(",")]
    index, described = build_actions(keys, ["north", "east", "esc", "pickup", "zap"], letters=False)
    assert index == {"north": 0, "east": 1, "esc": 2, "pickup": 4}
    assert set(described) == set(index)  # zap is not in this action set


def test_letters_reuse_the_key_of_their_command():
    keys = [ord("k"), ord("a"), ord("y"), ord("n")]
    index, described = build_actions(keys, ["north", "apply"], letters=True)
    assert index["a"] == index["apply"] == 1
    assert index["k"] == index["north"] == 0
    assert {"y", "n"} <= set(index) and "b" not in index
    assert "yes" in described["y"] and "no" in described["n"]


def test_seeds_are_deterministic_distinct_and_accept_any_int():
    assert derive_seeds(7) == derive_seeds(7)
    assert derive_seeds(7) != derive_seeds(8)
    core, disp = derive_seeds(-3)
    assert 0 <= core < 2**63 and 0 <= disp < 2**63
