"""A failing model must not look good: a dead endpoint's default actions are not results."""

from __future__ import annotations

import asyncio

import pyarrow.parquet as pq
import pytest

from automem_core.analysis.runs import load_runs
from automem_core.cli import main
from automem_core.llm.config import ModelConfig
from automem_core.run.config import RunConfig
from automem_core.run.runner import run
from automem_core.store.layout import Layout
from automem_core.store.reader import connect
from automem_core.testing.fake_game import SCAFFOLD_DIR
from automem_core.testing.local_server import LocalServer, Reply
from automem_core.testing.sample_store import play_fake_run


@pytest.mark.slow
def test_a_server_answering_500_makes_no_result_and_the_cli_says_so(tmp_path, capsys):
    """MazeWalk-9x9 seed 1 is solved by the default action alone: it must not count."""
    with LocalServer(lambda messages: Reply(status=500, text="down")) as server:
        url = server.start()
        code = main(
            [
                "run", "--game", "minihack", "--tasks", "MazeWalk-9x9", "--seeds", "1",
                "--base-url", url, "--model", "m", "--data", str(tmp_path), "--quiet",
                "--run-id", "dead",
            ]
        )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.strip().startswith("error: the model never answered in run dead")
    episode = (
        connect(tmp_path)
        .execute("SELECT status, failed_calls, llm_calls, failure_defaults FROM episodes")
        .fetchone()
    )
    assert episode[0] == "model_error" and episode[1] == episode[2] > 0
    steps = (
        connect(tmp_path)
        .execute("SELECT count(*) FILTER (WHERE action_source = 'failure'), count(*) FROM steps")
        .fetchone()
    )
    assert steps[0] == steps[1] == episode[3]  # every action was a default, none a choice
    assert main(["runs", "--data", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert "100.0" not in table and "no clean episodes" in table and "failed 1" in table
    assert load_runs(tmp_path).iloc[0]["clean"] == 0


def test_some_failed_calls_make_an_episode_degraded_not_clean(tmp_path):
    calls = {"n": 0}

    def flaky(messages):
        calls["n"] += 1
        return Reply(status=500, text="busy") if calls["n"] % 10 == 0 else "<|ACTION|>wait<|END|>"

    with LocalServer(flaky) as server:
        url = server.start()
        model = ModelConfig(base_url=url, model="m", max_retries=0, timeout_s=5)
        cfg = RunConfig(
            game="fake", tasks=("grid",), seeds=(0,), data=tmp_path, max_steps=40,
            scaffold=str(SCAFFOLD_DIR), model=model, model_error_threshold=0.5,
        )  # fmt: skip
        (episode,) = asyncio.run(run(cfg, progress=False)).episodes
    assert episode.status == "degraded" and 0 < episode.failed_calls < episode.llm_calls
    runs = load_runs(tmp_path)
    assert runs.iloc[0]["degraded"] == 1 and runs.iloc[0]["clean"] == 0


def test_the_cli_sets_the_share_of_failed_calls_that_makes_an_episode_a_model_error(tmp_path):
    calls = {"n": 0}

    def flaky(messages):
        calls["n"] += 1
        return Reply(status=500, text="busy") if calls["n"] % 10 == 0 else "<|ACTION|>wait<|END|>"

    statuses = {}
    with LocalServer(flaky) as server:
        config = tmp_path / "model.yaml"
        config.write_text(f"base_url: {server.start()}\nmodel: m\nmax_retries: 0\n")
        for run_id, share in (("lenient", "0.5"), ("strict", "0.01")):
            main(
                ["run", "--game", "fake", "--tasks", "grid", "--seeds", "0", "--max-steps", "30",
                 "--scaffold", str(SCAFFOLD_DIR), "--config", str(config),
                 "--data", str(tmp_path), "--quiet", "--run-id", run_id,
                 "--model-error-threshold", share]
            )  # fmt: skip
            statuses[run_id] = (
                connect(tmp_path)
                .execute("SELECT status FROM episodes WHERE run_id = ?", [run_id])
                .fetchone()[0]
            )
    assert statuses == {"lenient": "degraded", "strict": "model_error"}


def test_replaying_a_run_that_did_not_play_these_episodes_is_refused(tmp_path, capsys):
    play_fake_run(tmp_path, seeds=(0,), steps=3, run_id="src")
    base = ["run", "--game", "fake", "--data", str(tmp_path), "--replay-from", "src", "--quiet"]
    assert main([*base, "--tasks", "grid", "--seeds", "5"]) == 2
    assert "it did not play grid seed 5" in capsys.readouterr().err
    assert main([*base, "--tasks", "pixels", "--seeds", "0"]) == 2
    assert "it did not play pixels seed 0" in capsys.readouterr().err
    assert main(["run", "--game", "crafter", "--data", str(tmp_path), "--replay-from", "src"]) == 2
    assert "it played fake, not crafter" in capsys.readouterr().err


def test_replaying_another_observation_text_version_is_refused(tmp_path, capsys):
    play_fake_run(tmp_path, seeds=(0,), steps=3, run_id="src")
    path = Layout(tmp_path).run_file("src")
    table = pq.read_table(path)
    index = table.schema.get_field_index("text_format")
    pq.write_table(table.set_column(index, "text_format", [["0"]]), path)
    code = main(
        ["run", "--game", "fake", "--data", str(tmp_path), "--replay-from", "src", "--quiet"]
    )
    assert code == 2 and "observation text version 0" in capsys.readouterr().err
