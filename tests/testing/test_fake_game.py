"""The fake game and the sample stores the dashboard tests and benchmarks stand on."""

from __future__ import annotations

import pytest

from automem_core.envs.registry import make_env, plugin_modules, tasks_of
from automem_core.store.reader import connect
from automem_core.testing.fake_game import FakeGameCrash
from automem_core.testing.sample_store import clone_episodes, describe, play_fake_run


def play(task: str, seed: int, actions: list[str]) -> list[str]:
    env = make_env("fake", task, 50)
    texts = [env.reset(seed).text]
    texts += [env.step(a).observation.text for a in actions]
    return texts


def test_same_seed_same_actions_same_game_and_frames_of_both_kinds():
    actions = ["east", "north", "pick up", "west", "south"] * 4
    assert play("grid", 4, actions) == play("grid", 4, actions)
    assert play("grid", 4, actions) != play("grid", 5, actions)
    assert make_env("fake", "grid").reset(0).frame.kind == "tty"
    assert make_env("fake", "pixels").reset(0).frame.data[:4] == b"\x89PNG"
    assert tasks_of("fake") == ("grid", "pixels", "crash")
    assert plugin_modules("fake") == ("automem_core.testing.fake_game",)
    assert plugin_modules("crafter") == ()


def test_crash_task_fails_halfway():
    env = make_env("fake", "crash", 10)
    env.reset(0)
    for _ in range(4):
        env.step("wait")
    with pytest.raises(FakeGameCrash):
        env.step("wait")


def test_fake_runs_exercise_every_statistic(tmp_path):
    run_id = play_fake_run(tmp_path, seeds=(0,), steps=60)
    con = connect(tmp_path)
    kinds = dict(con.execute("SELECT kind, count(*) FROM memory_ops GROUP BY kind").fetchall())
    assert {"APPEND", "SEARCH", "TAIL", "READ", "UPSERT", "WRITE"} <= set(kinds)
    invalid = con.execute("SELECT count(*) FROM steps WHERE NOT action_valid").fetchone()[0]
    reward = con.execute("SELECT sum(total_reward) FROM episodes").fetchone()[0]
    assert invalid >= 3 and reward > 0 and run_id.startswith("fake-fake-v0-")


def test_clones_keep_rows_under_new_ids(tmp_path):
    play_fake_run(tmp_path, seeds=(0,), steps=12, run_id="src")
    made = clone_episodes(tmp_path, "src.grid.s0", "big", 3)
    assert made == ["big.grid.s1000", "big.grid.s1001", "big.grid.s1002"]
    assert describe(tmp_path) == {"runs": 2, "episodes": 4, "steps": 48}
    con = connect(tmp_path)
    per_episode = con.execute(
        "SELECT count(DISTINCT n) FROM (SELECT episode_id, count(*) n FROM memory_ops GROUP BY 1)"
    ).fetchone()
    assert per_episode == (1,)


def test_a_cloned_run_reads_like_its_source_under_new_ids(tmp_path):
    from automem_core.analysis.diagnostics import episode_diagnostics
    from automem_core.testing.sample_store import clone_run

    play_fake_run(tmp_path, seeds=(0, 1), steps=9, run_id="src")
    assert clone_run(tmp_path, "src", "copy") == 2
    con = connect(tmp_path)
    diag = episode_diagnostics(con).set_index("episode_id")
    a = diag.loc[["src.grid.s0", "src.grid.s1"]].drop(columns="run_id").to_numpy()
    b = diag.loc[["copy.grid.s0", "copy.grid.s1"]].drop(columns="run_id").to_numpy()
    assert (a == b).all()
    assert con.execute("SELECT count(*) FROM steps WHERE episode_id LIKE 'copy.%'").fetchone() == (
        18,
    )
    assert describe(tmp_path) == {"runs": 2, "episodes": 4, "steps": 36}
