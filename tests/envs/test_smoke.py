"""Every game and task builds, resets and steps; Boxoban explains itself when levels are absent."""

import os
import random

import pytest

from automem_core.envs.base import EnvConfigError, Frame, Observation
from automem_core.envs.registry import games, make_env, tasks_of

PLAYABLE = [("crafter", "default"), ("nethack", "NetHackChallenge")] + [
    ("minihack", task) for task in tasks_of("minihack") if not task.startswith("Boxoban")
]


def test_registry_lists_the_three_games_and_their_tasks():
    assert {"crafter", "minihack", "nethack"} <= set(games())
    assert tasks_of("crafter") == ("default",)
    assert tasks_of("nethack") == ("NetHackChallenge",)
    assert set(tasks_of("minihack")) == {
        "MazeWalk-9x9",
        "MazeWalk-15x15",
        "Corridor-R3",
        "CorridorBattle-Dark",
        "Quest-Easy",
        "Quest-Medium",
        "Boxoban-Medium",
        "Boxoban-Hard",
    }


def check_frame(frame: Frame, game: str) -> None:
    if game == "crafter":
        assert frame.kind == "png" and frame.data.startswith(b"\x89PNG")
    else:
        assert frame.kind == "tty" and len(frame.data) == 2 * 24 * 80


@pytest.mark.slow
@pytest.mark.parametrize(("game", "task"), PLAYABLE)
def test_resets_and_steps_twenty_times(game, task):
    env = make_env(game, task)
    actions = env.actions()
    assert env.default_action in actions
    assert all(isinstance(d, str) and d for d in actions.values())
    obs = env.reset(0)
    assert isinstance(obs, Observation) and obs.text
    check_frame(obs.frame, game)
    rng = random.Random(0)
    names = list(actions)
    for _ in range(20):
        out = env.step(rng.choice(names))
        assert 0.0 <= out.progression <= 1.0
        check_frame(out.observation.frame, game)
        if out.done:
            env.reset(1)
    with pytest.raises(ValueError):
        env.step("definitely not an action")
    env.close()


@pytest.mark.slow
@pytest.mark.parametrize("task", ["Boxoban-Medium", "Boxoban-Hard"])
def test_boxoban_without_levels_says_how_to_fetch_them(task, monkeypatch, tmp_path):
    from minihack.envs import boxohack

    monkeypatch.setattr(boxohack, "LEVELS_PATH", str(tmp_path / "missing"))
    with pytest.raises(EnvConfigError) as caught:
        make_env("minihack", task)
    message = str(caught.value)
    assert "\n" not in message
    assert "-m minihack.scripts.download_boxoban_levels" in message


def write_levels(root) -> None:
    level = "; {}\n#######\n#@ $. #\n#     #\n#######\n\n"
    for folder in ("medium/train", "hard"):
        os.makedirs(root / folder)
        (root / folder / "000.txt").write_text("".join(level.format(i) for i in range(3)))


@pytest.mark.slow
def test_boxoban_with_levels_plays_and_reports_success(monkeypatch, tmp_path):
    from minihack.envs import boxohack

    write_levels(tmp_path)
    monkeypatch.setattr(boxohack, "LEVELS_PATH", str(tmp_path))
    env = make_env("minihack", "Boxoban-Medium")
    assert set(env.actions()) == {"north", "east", "south", "west"}
    first = env.reset(4).text
    assert env.reset(4).text == first
    out = env.step("east")
    while not out.done:
        out = env.step("east")
    assert out.info["end_reason"] == "task successful"
    assert out.progression == env.progression() == 1.0
    env.close()


@pytest.mark.slow
def test_minihack_stops_at_its_step_cap():
    env = make_env("minihack", "MazeWalk-9x9", max_steps=5)
    env.reset(0)
    outs = [env.step("wait" if "wait" in env.actions() else "north") for _ in range(5)]
    assert [o.done for o in outs] == [False] * 4 + [True]
    assert outs[-1].info["truncated"] is True and outs[-1].progression == 0.0
    with pytest.raises(RuntimeError):
        env.step("north")
    env.close()


@pytest.mark.slow
def test_crafter_stops_at_its_step_cap_and_counts_achievements():
    env = make_env("crafter", max_steps=10)
    env.reset(0)
    outs = [env.step("Noop") for _ in range(10)]
    assert outs[-1].done and outs[-1].info["truncated"] and not outs[-2].done
    assert outs[-1].observation.facts["step"] == 10
    assert outs[-1].progression == len(outs[-1].observation.facts["achievements"]) / 22
    env.close()


@pytest.mark.slow
def test_nethack_ends_after_150_steps_without_game_time():
    env = make_env("nethack")
    obs = env.reset(2)
    start = obs.facts["time"]
    outs = [env.step("esc") for _ in range(150)]
    assert all(o.observation.facts["time"] == start for o in outs)
    assert [o.done for o in outs].index(True) == 149
    assert outs[-1].info["end_reason"] == "no progress"
    env.close()


@pytest.mark.slow
def test_nethack_facts_follow_blstats_and_actions_include_letters():
    env = make_env("nethack")
    obs = env.reset(9)
    facts = obs.facts
    assert set(facts) == {
        *("pos", "cursor", "dlvl", "depth", "xp", "hp", "hp_max", "time", "message"),
        *("inventory", "surroundings"),  # what the inventory and map-analysis helpers read
    }
    assert all(line in obs.text for line in facts["inventory"])
    assert facts["pos"] == (facts["cursor"][0], facts["cursor"][1] - 1)  # map row = terminal - 1
    assert facts["dlvl"] == facts["depth"] == facts["xp"] == 1
    assert 0 < facts["hp"] <= facts["hp_max"]
    assert f"(x={facts['cursor'][0]}, y={facts['cursor'][1]})" in obs.text
    actions = env.actions()
    assert {"esc", "far east", "pickup", "kick", "y", "n", "a", "Z"} <= set(actions)
    assert env.default_action == "esc" and env.progression() == 0.0
    env.close()


@pytest.mark.slow
def test_minihack_facts_and_default_action():
    env = make_env("minihack", "Quest-Easy")
    obs = env.reset(1)
    assert env.default_action == "north"
    assert {"cursor", "dlvl", "depth", "xp", "hp", "time", "message"} <= set(obs.facts)
    assert "zap" in env.actions() and "f" in env.actions()
    maze = make_env("minihack", "MazeWalk-9x9")
    assert set(maze.actions()) == {
        "north",
        "east",
        "south",
        "west",
        "northeast",
        "southeast",
        "southwest",
        "northwest",
    }
    env.close()
    maze.close()


def test_make_env_rejects_unknown_games_and_tasks():
    with pytest.raises(EnvConfigError):
        make_env("pong")
    with pytest.raises(EnvConfigError):
        make_env("minihack", "MazeWalk-99x99")


def test_importing_the_package_does_not_import_the_games():
    import subprocess
    import sys

    code = (
        "import sys, automem_core.envs.registry as r; r.tasks_of('nethack'); "
        "print(sorted(m for m in ('nle', 'minihack', 'crafter') if m in sys.modules))"
    )
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    command = [sys.executable, "-c", code]
    out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=repo)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_minihack_charges_the_step_penalty_when_game_time_stands_still():
    env = make_env("minihack", "MazeWalk-9x9")
    time = env.reset(3).facts["time"]
    frozen = []
    for name in ["north", "east", "south", "west"] * 5:
        out = env.step(name)
        if out.observation.facts["time"] == time:
            frozen.append(out.reward)
        time = out.observation.facts["time"]
        if out.done:
            break
    env.close()
    assert frozen and all(r == pytest.approx(-0.01) for r in frozen)
