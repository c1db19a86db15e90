"""Run settings: tasks and seeds trimmed and deduplicated, named seed sets, one-line errors."""

from __future__ import annotations

import pytest

from automem_core.cli import main, parse_seeds
from automem_core.run.config import make_run_config


def test_overlapping_seeds_and_spaced_tasks_are_deduplicated_in_order(tmp_path):
    cfg = make_run_config(
        game="minihack", tasks="MazeWalk-9x9, Corridor-R3,MazeWalk-9x9", seeds=[3, 0, 3, 1],
        data=tmp_path,
    )  # fmt: skip
    assert cfg.tasks == ("MazeWalk-9x9", "Corridor-R3") and cfg.seeds == (3, 0, 1)
    assert parse_seeds("0-3,2-5") == [0, 1, 2, 3, 2, 3, 4, 5]
    seeds = parse_seeds("0-3,2-5")
    overlapping = make_run_config(game="g", tasks=["t"], seeds=seeds, data=tmp_path)
    assert overlapping.seeds == (0, 1, 2, 3, 4, 5)


@pytest.mark.parametrize(
    ("settings", "needle"),
    [
        ({"seeds": []}, "run setting seeds"),
        ({"tasks": " , "}, "run setting tasks"),
        ({"max_steps": 0}, "an episode needs at least 1 step"),
        ({"seed_set": "training"}, "run setting seed_set"),
        ({"concurrency": 0}, "run setting concurrency"),
    ],
)
def test_bad_settings_are_one_line_errors(tmp_path, settings, needle):
    base = {"game": "crafter", "tasks": ["default"], "seeds": [0], "data": tmp_path}
    with pytest.raises(ValueError) as err:
        make_run_config(**{**base, **settings})
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_zero_episodes_is_refused_in_one_line(tmp_path, capsys):
    code = main(["run", "--game", "crafter", "--episodes", "0", "--data", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.strip() == "error: --episodes 0: play at least 1 episode"


def test_a_run_records_its_seed_set(tmp_path):
    from automem_core.analysis.runs import load_runs
    from automem_core.testing.sample_store import play_fake_run

    play_fake_run(tmp_path, seeds=(5,), steps=3, seed_set="gating", run_id="g")
    assert load_runs(tmp_path).set_index("run").loc["g", "seed_set"] == "gating"
