"""Forks on the fake game: the game rebuilt from the log, the memory rebuilt with each kind of
edit, the fork recorded as an episode of a fork run, resumed and bounded like a run."""

from __future__ import annotations

import asyncio
import json
import uuid

import jsonpatch
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from automem_core.cli import main
from automem_core.memory import snapshot
from automem_core.run.fork import ForkError, load_parent, resolve_edit
from automem_core.run.fork_edit import (
    NO_EDIT,
    ForkEditError,
    alternative,
    drop,
    parse_edit,
    patch,
    render_edit,
    to_json,
)
from automem_core.run.fork_memory import fork_memory
from automem_core.run.fork_play import ForkBudget, fork_episode, run_forks
from automem_core.run.fork_replay import ForkMismatchError
from automem_core.scaffold import load_version
from automem_core.store.catalog import locate_episode
from automem_core.store.layout import StoreError
from automem_core.store.memory_at import memory_at, memory_state_at
from automem_core.store.reader import connect
from automem_core.store.record_rows import AlternativeRow
from automem_core.store.records import append_records
from automem_core.store.schema import utc_now
from automem_core.testing import fake_game  # noqa: F401  (registers the game)
from automem_core.testing.sample_store import play_fake_run

PARENT = "p.grid.s0"
STEPS = 40


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("forks")
    play_fake_run(root, seeds=(0,), steps=STEPS, run_id="p")
    return root


def fork(root, step, edit=NO_EDIT, **kw):
    result, jobs = asyncio.run(fork_episode(root, load_parent(root, PARENT), step, edit, **kw))
    return result, jobs


def rows(root, table, episode, columns, since=0):
    order = "seq" if table == "memory_ops" else "step"
    con = connect(root)
    return con.execute(
        f"SELECT {columns} FROM {table} WHERE episode_id = ? AND step >= ? ORDER BY {order}",
        [episode, since],
    ).fetchall()


def test_fork_without_edit_replays_the_parents_remaining_steps_exactly(store):
    result, (job,) = fork(store, 12)
    assert not result.failed and len(result.rows) == 1
    row = result.rows[0]
    assert (row.parent_episode_id, row.fork_step, row.steps) == (PARENT, 12, STEPS - 12)
    assert parse_edit(row.fork_edit_json) == NO_EDIT
    for table, columns in (
        ("steps", "step, observation, action, action_source, reward, done, progression"),
        ("turns", "step, phase, turn, completion, messages_json"),
        ("memory_ops", "step, phase, turn, kind, file, args, ok, result, mutations_json"),
    ):
        mine = rows(store, table, job.fork_id, columns)
        assert mine and mine == rows(store, table, PARENT, columns, since=12), table
    for step in (11, 12, 25, STEPS - 1):  # memory at the start (11) and along the fork
        assert memory_at(store, job.fork_id, step) == memory_at(store, PARENT, step)
    parent = load_parent(store, PARENT)
    assert row.progression == parent.episode["progression"]


def test_a_fork_is_an_episode_of_a_fork_run_with_its_parent_and_step(store):
    _, (job,) = fork(store, 5, horizon=7, run_id="fork-five")
    con = connect(store)
    run = con.execute(
        "SELECT game, tasks, seeds, seed_set, max_steps, episodes_planned, status FROM runs "
        "WHERE run_id = 'fork-five'"
    ).fetchone()
    assert run == ("fake", ["grid"], [0], None, 7, 1, "finished")
    episode = con.execute(
        "SELECT parent_episode_id, fork_step, steps, fork_edit_json FROM episodes "
        "WHERE run_id = 'fork-five'"
    ).fetchone()
    assert episode[:3] == (PARENT, 5, 7) and json.loads(episode[3]) == {"kind": "none"}
    assert [s for (s,) in con.execute(
        "SELECT step FROM frames WHERE episode_id = ? ORDER BY step", [job.fork_id]
    ).fetchall()] == list(range(5, 12))  # fmt: skip
    with pytest.raises(StoreError, match=r"steps 5–11 \(4 is the memory it started with\)"):
        memory_state_at(store, job.fork_id, 3)


def test_forking_again_with_the_same_settings_resumes_and_skips_finished_forks(store):
    first, _ = fork(store, 20, horizon=3, samples=2)
    again, _ = fork(store, 20, horizon=3, samples=2)
    assert len(first.rows) == 2 and again.rows == [] and again.skipped == 2
    assert again.run_id == first.run_id


def test_drop_leaves_the_decisions_lines_out_and_everything_else_as_logged(store):
    # The LOG turn of step 2 appends the script line to `notes`; nothing rewrites it later.
    decision = f"{PARENT}:2:log:0"
    parent = load_parent(store, PARENT)
    scaffold = load_version(store, parent.version)
    before = snapshot(fork_memory(parent.found, 10, NO_EDIT, scaffold))
    after = snapshot(fork_memory(parent.found, 10, drop(decision), scaffold))
    changed = {f for f in before if before[f] != after.get(f)}
    assert changed == {"notes", "actions_log"}
    assert "<script>alert(1)</script>" in before["notes"]
    assert after["notes"] == before["notes"].replace("<script>alert(1)</script>\n", "")
    dropped_log = [line for line in before["actions_log"].split("\n") if line.startswith("Step 2 ")]
    assert len(dropped_log) == 1 and dropped_log[0] not in after["actions_log"]
    assert after["actions_log"].split("\n") == [
        line for line in before["actions_log"].split("\n") if line != dropped_log[0]
    ]
    result, (job,) = fork(store, 10, drop(decision), horizon=3)
    assert memory_at(store, job.fork_id, 9) == after  # the fork starts with it
    assert render_edit(parse_edit(result.rows[0].fork_edit_json)).startswith(
        "dropped the LOG turn 0 of step 2"
    )


def test_alternative_runs_the_resampled_answers_ops_in_the_decisions_place(store):
    decision = f"{PARENT}:3:log:0"
    answer = "<|APPEND|>notes|gold is worth more than walls<|END|>\n<|DONE|>"
    alt_id = uuid.uuid4().hex
    row = AlternativeRow(alt_id, decision, "scripted", 0, answer, "{}", 1, 1, 0.0, utc_now())
    append_records(store, "alternatives", [row])
    edit = resolve_edit(store, f"alternative={alt_id}")
    assert edit == alternative(decision, alt_id, answer)
    parent = load_parent(store, PARENT)
    scaffold = load_version(store, parent.version)
    kept = fork_memory(parent.found, 8, NO_EDIT, scaffold)
    swapped = fork_memory(parent.found, 8, edit, scaffold)
    assert "**bold**" in snapshot(kept)["notes"]  # step 3's own line …
    assert "**bold**" not in snapshot(swapped)["notes"]  # … is gone, the answer's is there
    line = "gold is worth more than walls"
    assert swapped["notes"].lines == [line if x == "**bold**" else x for x in kept["notes"].lines]
    assert swapped["notes"].origins == kept["notes"].origins  # written at step 3 as well
    result, _ = fork(store, 8, edit, horizon=2)
    assert parse_edit(result.rows[0].fork_edit_json).alternative_id == alt_id


def test_patch_changes_one_file_as_the_json_patch_says(store):
    parent = load_parent(store, PARENT)
    scaffold = load_version(store, parent.version)
    kept = fork_memory(parent.found, 15, NO_EDIT, scaffold)
    ops = [{"op": "remove", "path": "/0"}, {"op": "add", "path": "/-", "value": "north is safe"}]
    edited = fork_memory(parent.found, 15, patch("notes", ops), scaffold)
    assert edited["notes"].lines == jsonpatch.apply_patch(kept["notes"].lines, ops)
    assert edited["notes"].origins == [*kept["notes"].origins[1:], 14]
    assert {f: edited[f].lines for f in edited if f != "notes"} == {
        f: kept[f].lines for f in kept if f != "notes"
    }
    assert render_edit(patch("notes", ops)) == (
        'patched notes: remove line 0; add "north is safe" at the end'
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (drop(f"{PARENT}:4:plan:0"), "PLAN consultation: it only reads memory"),
        (drop(f"{PARENT}:12:log:0"), "not before the fork step 12; fork at step 13"),
        (drop(f"{PARENT}:5:log:7"), "has no LOG turn 7 at step 5"),
        (drop("other.grid.s0:5:log:0"), "belongs to episode other.grid.s0"),
        (patch("nothing", [{"op": "remove", "path": "/0"}]), "no memory file 'nothing'"),
        (patch("plan", [{"op": "remove", "path": "/9"}]), "does not apply to plan"),
        (patch("plan", [{"op": "replace", "path": "/0", "value": 3}]), "list of text lines"),
    ],
)
def test_edits_that_cannot_be_made_are_refused_in_one_line(store, edit, message):
    parent = load_parent(store, PARENT)
    with pytest.raises(ForkEditError, match=message) as err:
        fork_memory(parent.found, 12, edit, load_version(store, parent.version))
    assert "\n" not in str(err.value)


def test_edit_flags_and_values_round_trip_through_json(store):
    ops = [{"op": "add", "path": "/-", "value": "x"}]
    for edit in (NO_EDIT, drop(f"{PARENT}:2:log:0"), patch("notes", ops)):
        assert parse_edit(to_json(edit)) == edit
    assert resolve_edit(store, f"patch=notes:{json.dumps(ops)}") == patch("notes", ops)
    for bad in ("drop", "swap=x", "patch=notes", "drop=not-an-id", "patch=notes:{oops"):
        with pytest.raises(ForkEditError):
            resolve_edit(store, bad)
    with pytest.raises(ForkEditError, match="no alternative"):
        resolve_edit(store, "alternative=" + "0" * 32)


def planted(tmp_path, wrong_step: int, action: str) -> str:
    """A copy of a parent whose logged action at ``wrong_step`` was changed to ``action``."""
    play_fake_run(tmp_path, seeds=(0,), steps=30, run_id="q")
    found = locate_episode(tmp_path, "q.grid.s0")
    table = pq.read_table(found.files["steps"])
    actions = table["action"].to_pylist()
    assert actions[wrong_step] != action
    actions[wrong_step] = action
    index = table.schema.get_field_index("action")
    pq.write_table(table.set_column(index, "action", pa.array(actions)), found.files["steps"])
    return "q.grid.s0"


def test_a_wrong_logged_action_stops_the_fork_at_that_step_in_one_line(tmp_path):
    episode = planted(tmp_path, 6, "wait")
    parent = load_parent(tmp_path, episode)
    result, _ = asyncio.run(fork_episode(tmp_path, parent, 20))
    ((_fork_id, message),) = result.failed
    assert message.startswith("fork stopped at step 7: the replayed observation after replaying "
                              "step 6's logged action 'wait' differs")  # fmt: skip
    assert "\n" not in message and result.rows == []
    assert connect(tmp_path).execute(
        f"SELECT count(*) FROM episodes WHERE run_id = '{result.run_id}'"
    ).fetchone() == (0,)
    with pytest.raises(ForkMismatchError):  # raised as such when played directly
        from automem_core.envs.registry import make_env
        from automem_core.run.fork_replay import read_logged_steps, replay_to

        replay_to(make_env("fake", "grid", 30), 0, read_logged_steps(parent.found, 20), 20)


def test_forking_before_the_planted_step_still_works(tmp_path):
    episode = planted(tmp_path, 6, "wait")
    result, _ = asyncio.run(fork_episode(tmp_path, load_parent(tmp_path, episode), 5, horizon=2))
    assert not result.failed and result.rows[0].status == "ok"


def test_cli_fork_prints_one_line_for_a_mismatch_and_a_bad_step(tmp_path, capsys):
    episode = planted(tmp_path, 6, "wait")
    assert main(["fork", episode, "--step", "12", "--data", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: fork stopped at step 7") and "\n" not in err
    assert main(["fork", episode, "--step", "99", "--data", str(tmp_path), "--quiet"]) == 2
    assert capsys.readouterr().err.strip() == ("error: --step 99: episode q.grid.s0 has steps 0–29")


def test_cli_fork_with_a_patch_edit_end_to_end(store, capsys):
    ops = json.dumps([{"op": "add", "path": "/-", "value": "remember the east wall"}])
    code = main(["fork", PARENT, "--step", "30", "--edit", f"patch=plan:{ops}", "--samples", "2",
                 "--data", str(store), "--quiet"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "2 forks of p.grid.s0 at step 30 played" in out
    assert 'edit: patched plan: add "remember the east wall" at the end' in out
    assert out.count(": ok, 10 steps, progression") == 2
    con = connect(store)
    forks = con.execute(
        "SELECT episode_id FROM episodes WHERE parent_episode_id = ? AND fork_step = 30 AND "
        "fork_edit_json LIKE '%east wall%'", [PARENT]
    ).fetchall()  # fmt: skip
    assert len(forks) == 2
    assert memory_at(store, forks[0][0], 29)["plan"].endswith("remember the east wall")


def test_fork_of_a_fork_and_of_an_unknown_episode_are_refused(store):
    _, (job,) = fork(store, 33, horizon=2)
    with pytest.raises(ForkError, match="is itself a fork"):
        asyncio.run(fork_episode(store, load_parent(store, job.fork_id), 34))
    with pytest.raises(StoreError, match="not in"):
        load_parent(store, "nope.grid.s0")


def test_a_budget_of_episodes_stops_before_a_group_that_would_pass_it(store):
    parent = load_parent(store, PARENT)
    from automem_core.run.fork import ForkSetup, parent_models, plan_forks

    model, _ = parent_models(parent)
    base = ForkSetup("", "fake", load_version(store, parent.version), model)
    groups, settings = [], ""
    for step in (2, 4, 6):
        setup, jobs, settings = plan_forks(parent, step, NO_EDIT, 2, 2, "budgeted", base)
        groups.append(jobs)
    result = asyncio.run(
        run_forks(store, setup, groups, settings, progress=False, budget=ForkBudget(episodes=5))
    )
    assert len(result.rows) == 4 and result.stopped and "budget of 5 episodes" in result.stopped
