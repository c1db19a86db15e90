import math

import pytest

from automem_core.analysis.summary import by_task, game_mean, summarise


def test_summary_is_mean_and_standard_error_times_100():
    s = summarise([0.0, 1.0, 1.0, 0.0])
    assert s.mean == pytest.approx(50.0)
    # sample sd of (0,100,100,0) is 57.735; / sqrt(4)
    assert s.stderr == pytest.approx(57.735027 / 2, rel=1e-5)
    assert s.n == 4


def test_single_and_empty():
    assert summarise([0.25]).stderr == 0.0
    assert math.isnan(summarise([]).mean)


def test_game_is_mean_of_task_means_not_of_episodes():
    tasks = by_task([("a", 1.0), ("a", 1.0), ("a", 1.0), ("b", 0.0)])
    assert game_mean(tasks).mean == pytest.approx(50.0)  # episode mean would be 75
