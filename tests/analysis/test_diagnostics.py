"""Diagnostics on an episode played by the real agent loop with a scripted model whose every
memory decision is known, so each number has one right answer."""

from __future__ import annotations

import asyncio

import pytest

from automem_core.agent.episode import EpisodeSpec, run_episode
from automem_core.agent.step import AgentSetup
from automem_core.analysis.diagnostics import (
    episode_diagnostics,
    episode_summaries,
    file_growth,
    ops_by_kind,
    run_diagnostics,
)
from automem_core.analysis.reports import render_diagnostics
from automem_core.scaffold import load_scaffold
from automem_core.store.layout import Layout
from automem_core.store.reader import connect
from automem_core.store.writer import EpisodeWriter
from automem_core.testing.fake_game import SCAFFOLD_DIR, FakeGame
from automem_core.testing.scripted import ScriptedClient

LOG = {
    1: "<|APPEND|>notes|alpha<|END|><|DONE|>",
    2: "<|APPEND|>notes|alpha<|END|><|DONE|>",  # the same line again: redundant
    3: "<|APPEND|>notes|beta<|END|><|DONE|>",  # never read afterwards
}
PLAN = {
    0: ["<|ACTION|>wait<|END|>"],
    1: ["<|ACTION|>wait<|END|>"],
    2: ["<|SEARCH|>notes|alpha<|END|>", "<|ACTION|>fly<|END|>"],  # reads both alphas; invalid
    3: ["<|SEARCH|>notes|zzz<|END|>", "<|ACTION|>wait<|END|>"],  # an empty search
    4: ["<|ACTION|>east<|END|>"],
    5: ["<|ACTION|>west<|END|>"],
}


def answer(request) -> str:
    if request.phase == "log":
        return LOG.get(request.step, "<|DONE|>")
    return PLAN[request.step][request.turn]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("diag")
    scaffold = load_scaffold(SCAFFOLD_DIR)
    env = FakeGame("grid", max_steps=6)
    client = ScriptedClient(answer)
    setup = AgentSetup("fake", scaffold, client, None, env.actions(), env.default_action)
    writer = EpisodeWriter(Layout(root), "r", "r.grid.s3")
    spec = EpisodeSpec("r.grid.s3", "r", "fake", "grid", 3, 6)
    row = asyncio.run(run_episode(env, setup, writer, spec))
    writer.commit(row)
    return root


def test_episode_diagnostics_have_the_known_answers(store):
    d = episode_diagnostics(connect(store)).iloc[0].to_dict()
    assert d == {
        "episode_id": "r.grid.s3",
        "run_id": "r",
        "steps": 6,
        "invalid_actions": 1,  # step 2 asked to fly
        "unchanged_observations": 1,  # step 2 saw what step 1 saw
        "longest_zero_reward_streak": 6,
        "oscillations": 1,  # step 4 saw step 2's view again after the notice of step 3
        "empty_searches": 1,
        "redundant_writes": 1,
        "writes_never_read": 1,  # beta
        "writes_checked": 3,
        "agent_ops": 5,  # helper writes of the status file are not the agent's
    }


def test_ops_by_kind_and_file_growth(store):
    con = connect(store)
    kinds = ops_by_kind(episode_summaries(con)).set_index("kind")
    assert kinds.loc["APPEND", "n"] == 3 and kinds.loc["SEARCH", "n"] == 2
    assert kinds.loc["SEARCH", "per_step"] == pytest.approx(2 / 6, abs=1e-3)
    notes = file_growth(episode_summaries(con)).set_index("file").loc["notes"]
    assert (notes["lines at start"], notes["lines at end"], notes["per 100"]) == (0, 3, 50)


def test_run_diagnostics_sum_episodes_and_the_cli_prints_them(store):
    run = run_diagnostics(episode_summaries(connect(store))).iloc[0]
    assert (run["run"], run["redundant_writes"], run["never read %"]) == ("r", 1, 33.3)
    text = render_diagnostics(store, "r")
    assert "redundant_writes             1" in text and "file notes" in text
    assert "0 -> 3 lines (+50 per 100 steps)" in text


def test_a_run_filter_keeps_other_runs_out(store):
    assert episode_diagnostics(connect(store), "other").empty
    assert "no episodes in run 'other'" in render_diagnostics(store, "other")


def test_the_summary_the_writer_keeps_equals_the_sql_diagnostics(tmp_path):
    """Every episode row carries its summary; the SQL over the op log must agree with it."""
    from automem_core.testing.sample_store import play_fake_run

    play_fake_run(tmp_path, tasks=("grid", "pixels"), seeds=(0, 1, 2), steps=70, run_id="s")
    con = connect(tmp_path)
    sql = episode_diagnostics(con).set_index("episode_id")
    columns = [c for c in sql.columns if c not in ("run_id", "steps", "invalid_actions")]
    kept = con.execute(f"SELECT episode_id, {', '.join(columns)} FROM episodes").df()
    kept = kept.set_index("episode_id").loc[sql.index]
    assert (kept[columns].to_numpy() == sql[columns].to_numpy()).all()
    assert sql["redundant_writes"].sum() > 0 and sql["writes_never_read"].sum() > 0
    growth = file_growth(episode_summaries(con)).set_index(["run", "file"])
    assert growth.loc[("s", "map"), "lines at end"] > 0
    last = con.execute(
        "SELECT count(*) FROM memory_snapshots WHERE step = 69 AND files_json LIKE '%actions_log%'"
    ).fetchone()
    assert last == (6,)  # every episode keeps its memory at the end as a keyframe


def test_batches_and_runs_give_the_same_numbers_as_one_query(tmp_path):
    from automem_core.analysis.diagnostics import store_diagnostics
    from automem_core.testing.sample_store import play_fake_run

    play_fake_run(tmp_path, seeds=(0, 1, 2), steps=30, run_id="a")
    play_fake_run(tmp_path, seeds=(3, 4), steps=30, run_id="b")
    whole = episode_diagnostics(connect(tmp_path), batch=1000)
    assert episode_diagnostics(connect(tmp_path), batch=2).equals(whole)
    per_run = store_diagnostics(tmp_path).sort_values("episode_id", ignore_index=True)
    assert per_run.equals(whole) and len(whole) == 5
