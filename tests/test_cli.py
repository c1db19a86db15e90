import os

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
    # minihack-v0 has no status file: the memory at step 3 is the agent's own log so far
    assert "── actions_log ──" in memory and "Step 2 action '" in memory
    assert "Step 3 action" not in memory  # step 3's action is logged at step 4


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


def test_data_that_is_a_file_or_read_only_is_one_line(tmp_path, capsys):
    a_file = tmp_path / "f"
    a_file.write_text("x")
    assert main(["runs", "--data", str(a_file)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: --data {a_file} is a file, not a folder; give the data folder"
    )
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        assert main(["run", "--game", "crafter", "--data", str(locked)]) == 2
        assert "is not writable" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize(
    "url", ["http://user:secret@localhost:8000/v1", "localhost:8000/v1", "ftp://x/v1"]
)
def test_bad_base_urls_are_one_line_without_a_pydantic_dump(tmp_path, capsys, url):
    code = main(
        ["run", "--game", "crafter", "--base-url", url, "--model", "m", "--data", str(tmp_path)]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "base_url" in err
    assert "validation error" not in err and "secret" not in err


def test_memory_step_out_of_range_is_one_line(tmp_path, capsys):
    from automem_core.testing.sample_store import play_fake_run

    play_fake_run(tmp_path, seeds=(0,), steps=5, run_id="m")
    for step in ("5", "-2"):
        assert main(["memory", "m.grid.s0", step, "--data", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert err.strip() == (
            f"error: step {step} is out of range: episode m.grid.s0 has steps 0–4 "
            "(-1 is the memory it started with)"
        )
    assert main(["memory", "m.grid.s0", "-1", "--data", str(tmp_path)]) == 0


def test_runs_into_a_closed_pipe_exits_quietly(tmp_path):
    import subprocess
    import sys

    from automem_core.testing.sample_store import play_fake_run

    for i in range(3):
        play_fake_run(tmp_path, seeds=(i,), steps=3, run_id=f"r{i}")
    code = "import sys; from automem_core.cli import main; sys.exit(main(sys.argv[1:]))"
    shell = f"{sys.executable} -c '{code}' runs --data {tmp_path} | head -1"
    out = subprocess.run(shell, shell=True, capture_output=True, text=True, timeout=120)
    assert out.stdout.startswith("r0") and "Traceback" not in out.stderr
    assert "BrokenPipe" not in out.stderr


@pytest.mark.slow
def test_the_demo_leaves_both_loops_something_to_show(tmp_path, capsys):
    from automem_core.analysis.decision_table import load_decisions
    from automem_core.review.optimize import load_state
    from automem_core.review.proposals import load_proposals

    assert main(["demo", "--max-steps", "20", "--data", str(tmp_path), "--quiet"]) == 0
    proposals = load_proposals(tmp_path).set_index("proposal_id")
    states = sorted(proposals["event"])
    assert states[-1] == "proposed" and states[0] in ("accepted", "declined")
    waiting = proposals.index[proposals["event"] == "proposed"][0]
    assert load_state(tmp_path, "demo-crafter").pending == waiting  # gated with the loop's seeds
    assert len(load_decisions(tmp_path)) > 20
    assert "waits for your decision" in capsys.readouterr().out
