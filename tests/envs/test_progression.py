import pytest

from automem_core.envs.progression import (
    CRAFTER_ACHIEVEMENTS,
    NETHACK_DLVL_VALUES,
    NETHACK_XP_VALUES,
    crafter_progression,
    minihack_progression,
    nethack_progression,
)


def test_crafter_progression_counts_unlocked_out_of_22():
    assert len(CRAFTER_ACHIEVEMENTS) == 22
    assert crafter_progression([]) == 0.0
    assert crafter_progression(["collect_wood", "place_table"]) == pytest.approx(2 / 22)
    assert crafter_progression(CRAFTER_ACHIEVEMENTS) == 1.0


def test_crafter_progression_ignores_duplicates_and_unknown_names():
    assert crafter_progression(["collect_wood", "collect_wood", "fly"]) == pytest.approx(1 / 22)


def test_minihack_progression_is_success():
    assert minihack_progression(True) == 1.0
    assert minihack_progression(False) == 0.0


def test_nethack_tables_cover_dlvl_2_to_50_and_xp_2_to_30():
    assert sorted(NETHACK_DLVL_VALUES) == list(range(2, 51))
    assert sorted(NETHACK_XP_VALUES) == list(range(2, 31))


@pytest.mark.parametrize(
    ("dlvl", "xp", "expected"),
    [
        (1, 1, 0.0),
        (2, 1, 0.01539),
        (1, 2, 0.01848),
        (5, 1, 0.02648),
        (20, 1, 0.37896),
        (21, 1, 0.39294),
        (50, 1, 0.80680),
        (1, 10, 0.17910),
        (1, 30, 0.78046),
        (3, 10, 0.17910),  # the larger of the two tables wins
        (12, 4, 0.20613),
    ],
)
def test_nethack_progression_table_values(dlvl, xp, expected):
    assert nethack_progression(dlvl, xp) == pytest.approx(expected)


def test_nethack_progression_beyond_tables_keeps_last_value():
    assert nethack_progression(60, 1) == pytest.approx(0.80680)
    assert nethack_progression(1, 99) == pytest.approx(0.78046)
    assert nethack_progression(0, 0) == 0.0


def test_nethack_progression_is_monotone_in_both_levels():
    values = [[nethack_progression(d, x) for x in range(1, 32)] for d in range(1, 52)]
    for row in values:
        assert row == sorted(row)
    for column in zip(*values, strict=True):
        assert list(column) == sorted(column)
