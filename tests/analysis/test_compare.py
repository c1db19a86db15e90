"""Episodes side by side: what can be compared, and where their stories split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automem_core.analysis.compare import (
    CompareError,
    Lane,
    check_comparable,
    divergences,
    first_divergence,
    next_divergence,
    shown_step,
)


def lane(name: str, actions: str, seen: str) -> Lane:
    n = len(actions)
    return Lane(name, tuple(actions), tuple(seen), np.zeros(n), np.linspace(0, 1, n))


def test_the_first_divergence_is_the_first_differing_action_or_observation():
    a = lane("a", "nnnee", "ABCDE")
    b = lane("b", "nnnwe", "ABCDF")
    c = lane("c", "nnnee", "ABXDE")  # same actions, a different observation at step 2
    assert first_divergence([a, b]) == 3
    assert first_divergence([a, c]) == 2
    assert divergences([a, b]) == [3, 4]
    assert first_divergence([a, lane("a2", "nnnee", "ABCDE")]) is None


def test_the_next_divergence_is_the_next_different_action():
    a = lane("a", "nnnenne", "ABCDEFG")
    b = lane("b", "nnnwnnw", "ABCXYZW")
    assert next_divergence([a, b], 0) == 3  # before the split: the split
    assert next_divergence([a, b], 3) == 6  # after it: the next step they act differently
    assert next_divergence([a, b], 6) is None


def test_an_ended_episode_keeps_its_last_step_and_is_no_divergence_by_itself():
    short, long = lane("s", "nn", "AB"), lane("l", "nnnn", "ABCD")
    assert divergences([short, long]) == []
    assert shown_step(short, 3) == 1 and shown_step(long, 3) == 3


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("e1", "crafter", "default", 0)], "compare 2 to 4 episodes"),
        ([("e1", "crafter", "default", 0), ("e2", "crafter", "default", 1)], "seed 1"),
        ([(f"e{i}", "fake", "grid", 0) for i in range(5)], "got 5"),
    ],
)
def test_only_two_to_four_episodes_of_one_seed_compare(rows, message):
    frame = pd.DataFrame(rows, columns=["episode_id", "game", "task", "seed"])
    with pytest.raises(CompareError, match=message):
        check_comparable(frame)
