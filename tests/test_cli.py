import pytest

from automem_core.cli import main, parse_seeds


def test_parse_seeds_ranges_and_lists():
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("1,5,7-8") == [1, 5, 7, 8]
    with pytest.raises(ValueError, match="--seeds"):
        parse_seeds("a-b")


def test_help_works_for_every_command(capsys):
    for cmd in ("run", "demo", "runs", "episodes", "memory"):
        with pytest.raises(SystemExit) as exit_:
            main([cmd, "--help"])
        assert exit_.value.code == 0
        assert "--data" in capsys.readouterr().out


def test_expected_errors_are_one_line_without_traceback(tmp_path, capsys):
    code = main(["run", "--game", "crafter", "--scaffold", "nope", "--data", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: scaffold 'nope' not found") and "Traceback" not in err
    code = main(["run", "--game", "minihack", "--tasks", "Nope", "--data", str(tmp_path)])
    assert code == 2 and "unknown task 'Nope'" in capsys.readouterr().err


def test_runs_on_empty_store_says_what_to_run(tmp_path, capsys):
    assert main(["runs", "--data", str(tmp_path)]) == 0
    assert "automem demo" in capsys.readouterr().out


@pytest.mark.slow
def test_demo_like_run_then_runs_episodes_and_memory_commands(tmp_path, capsys):
    args = ["--data", str(tmp_path), "--quiet"]
    assert (
        main(
            [
                "run",
                "--game",
                "minihack",
                "--tasks",
                "MazeWalk-9x9",
                "--seeds",
                "0-1",
                "--max-steps",
                "10",
                "--run-id",
                "cli",
                *args,
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "run cli: 2 episodes played, 0 already finished, 0 not clean" in out
    assert main(["runs", "--data", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert "cli  [finished]" in table and "MazeWalk-9x9" in table and "± " in table
    assert main(["episodes", "--run", "cli", "--data", str(tmp_path)]) == 0
    assert "cli.MazeWalk-9x9.s1" in capsys.readouterr().out
    assert main(["memory", "cli.MazeWalk-9x9.s0", "3", "--data", str(tmp_path)]) == 0
    memory = capsys.readouterr().out
    assert "── status ──" in memory and "step: 3" in memory


def test_action_model_inherits_the_memory_endpoint(monkeypatch):
    from automem_core import cli

    seen = {}

    def fake_run(args):
        seen["args"] = args
        return 0

    captured = {}

    async def capture(cfg, progress=True, on_episode=None):
        captured["cfg"] = cfg
        raise SystemExit(0)

    monkeypatch.setattr("automem_core.run.runner.run", capture)
    with pytest.raises(SystemExit):
        cli.main(
            [
                "run",
                "--game",
                "crafter",
                "--base-url",
                "http://localhost:9/v1",
                "--model",
                "memory-model",
                "--action-model",
                "base-model",
            ]
        )
    action = captured["cfg"].action_model
    assert action.model == "base-model"
    assert action.base_url == "http://localhost:9/v1"  # not api.openai.com
    assert captured["cfg"].model.model == "memory-model"


@pytest.mark.parametrize("bad", ["5-3", "-1", "2-x"])
def test_seed_ranges_must_be_valid(bad):
    with pytest.raises(ValueError, match="--seeds"):
        parse_seeds(bad)


def test_zero_steps_is_refused(tmp_path, capsys):
    code = main(["run", "--game", "crafter", "--max-steps", "0", "--data", str(tmp_path)])
    assert code == 2 and "at least 1 step" in capsys.readouterr().err
