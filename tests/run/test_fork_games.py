"""Forks of real games (Crafter, MiniHack, NetHack) played by the embedded players: a fork with
no edit replays the parent's remaining steps exactly; a wrong logged action stops the fork at
the step its observation first differs; each kind of edit changes memory as it says."""

from __future__ import annotations

import asyncio
import json
import uuid

import jsonpatch
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from automem_core.envs.registry import make_env
from automem_core.memory import snapshot
from automem_core.memory.state import MemoryState, Mutation, apply_mutation
from automem_core.run.config import RunConfig
from automem_core.run.fork import load_parent
from automem_core.run.fork_edit import NO_EDIT, alternative, drop, patch
from automem_core.run.fork_memory import fork_memory
from automem_core.run.fork_play import fork_episode
from automem_core.run.fork_replay import read_logged_steps, replay_to
from automem_core.run.runner import run
from automem_core.scaffold import load_version
from automem_core.store.catalog import locate_episode
from automem_core.store.memory_at import decode_mutations, decode_state, memory_at
from automem_core.store.reader import connect

pytestmark = pytest.mark.slow
GAMES = {  # game: (task, default action, steps)
    "crafter": ("default", "Noop", 40),
    "minihack": ("MazeWalk-9x9", "north", 40),
    "nethack": ("NetHackChallenge", "esc", 40),
}
FORK_AT = 15
OPPOSITE = {"north": "south", "south": "north", "east": "west", "west": "east"}


def play(root, game: str, run_id: str) -> str:
    task, _default, steps = GAMES[game]
    cfg = RunConfig(game=game, tasks=(task,), seeds=(0,), data=root, max_steps=steps,
                    run_id=run_id, concurrency=1)  # fmt: skip
    asyncio.run(run(cfg, progress=False))
    return f"{run_id}.{task}.s0"


@pytest.fixture(scope="module", params=sorted(GAMES))
def parent(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(request.param)
    return request.param, root, play(root, request.param, "p")


def _rows(con, table, columns, episode, since=0):
    order = "seq" if table == "memory_ops" else "step, phase, turn" if table == "turns" else "step"
    return con.execute(
        f"SELECT {columns} FROM {table} WHERE episode_id = ? AND step >= ? ORDER BY {order}",
        [episode, since],
    ).fetchall()


def test_fork_without_edit_reproduces_the_parent_exactly(parent):
    game, root, episode = parent
    result, (job,) = asyncio.run(fork_episode(root, load_parent(root, episode), FORK_AT))
    assert not result.failed and result.rows[0].status == "ok"
    con = connect(root)
    for table, columns in (
        ("steps", "step, observation, action, reward, done, progression, warnings"),
        ("turns", "step, phase, turn, completion"),
        ("memory_ops", "step, phase, turn, kind, file, args, result, mutations_json"),
    ):
        forked = _rows(con, table, columns, job.fork_id)
        assert forked and forked == _rows(con, table, columns, episode, FORK_AT), (game, table)
    last = FORK_AT + result.rows[0].steps - 1
    assert memory_at(root, job.fork_id, last) == memory_at(root, episode, last)
    (progression,) = con.execute(
        "SELECT progression FROM episodes WHERE episode_id = ?", [episode]
    ).fetchone()
    assert result.rows[0].progression == progression


def _plant(root, episode: str, default: str) -> int:
    """Change one logged action that changed the game to another; the step it is at."""
    found = locate_episode(root, episode)
    table = pq.read_table(found.files["steps"]).sort_by("step")
    obs, actions = table["observation"].to_pylist(), table["action"].to_pylist()
    for k in range(5, FORK_AT - 1):
        words = actions[k].lower().split()
        other = " ".join(OPPOSITE.get(w, w) for w in words) if words else default
        other = other if other != actions[k].lower() else default
        other = other.title() if actions[k][0].isupper() else other
        if obs[k + 1] != obs[k] and other != actions[k]:
            actions[k] = other
            column = table.schema.get_field_index("action")
            pq.write_table(
                table.set_column(column, "action", pa.array(actions)), found.files["steps"]
            )
            return k
    raise AssertionError("no step to plant a wrong action at")


def test_a_wrong_logged_action_stops_the_fork_at_the_next_step(tmp_path, parent):
    game, _root, _episode = parent
    episode = play(tmp_path, game, "q")
    k = _plant(tmp_path, episode, GAMES[game][1])
    result, _ = asyncio.run(fork_episode(tmp_path, load_parent(tmp_path, episode), FORK_AT))
    ((_, message),) = result.failed
    assert message.startswith(f"fork stopped at step {k + 1}: the replayed observation after "
                              f"replaying step {k}'s logged action")  # fmt: skip
    assert "\n" not in message and not result.rows


def test_a_replay_leaves_out_only_what_it_does_not_check(parent):
    """Observations before T - 1 may lack the frame and (NLE) the facts beyond the position;
    T - 1's facts and T's observation are whole: the same as a game played without replaying."""
    game, root, episode = parent
    found = load_parent(root, episode)
    logged = read_logged_steps(found.found, FORK_AT)
    env = make_env(game, GAMES[game][0], int(found.run["max_steps"]))
    brief = []
    step = env.step

    def watched(action):
        outcome = step(action)
        brief.append(not outcome.observation.frame.data)
        return outcome

    env.step = watched
    replayed = replay_to(env, 0, logged, FORK_AT)
    whole = make_env(game, GAMES[game][0], int(found.run["max_steps"]))
    observations = [whole.reset(0)]
    for row in logged[:FORK_AT]:
        observations.append(whole.step(str(row["action"])).observation)
    assert brief[: FORK_AT - 2] == [True] * (FORK_AT - 2) and brief[-2:] == [False, False]
    assert not env.replaying and replayed.observation == observations[FORK_AT]
    assert replayed.last_facts == observations[FORK_AT - 1].facts
    assert [pos for _, pos in replayed.seen] == [o.facts["pos"] for o in observations[:FORK_AT]]
    env.close()
    whole.close()


def _log_from_scratch(root, episode, upto: int) -> tuple[MemoryState, list[dict]]:
    """The initial files and every memory op before ``upto`` (the whole log, no keyframe)."""
    con = connect(root)
    (files,) = con.execute(
        "SELECT files_json FROM memory_snapshots WHERE episode_id = ? AND step = -1", [episode]
    ).fetchone()
    ops = con.execute(
        "SELECT step, seq, phase, turn, mutations_json FROM memory_ops WHERE episode_id = ? "
        "AND step < ? ORDER BY seq", [episode, upto]
    ).df().to_dict("records")  # fmt: skip
    return decode_state(files), ops


def _a_writing_log_turn(ops: list[dict]) -> tuple[int, int, list[Mutation]]:
    for op in ops:
        muts = decode_mutations(op["mutations_json"])
        if op["phase"] == "log" and op["step"] >= 3 and any(m.kind == "append" for m in muts):
            return int(op["step"]), int(op["turn"]), muts
    raise AssertionError("no LOG turn appended anything")


def _expected(state, ops, step, turn, instead: list[Mutation]) -> dict[str, str]:
    done = False
    for op in ops:
        mine = op["step"] == step and op["phase"] == "log" and op["turn"] == turn
        if mine and not done:
            for m in instead:
                apply_mutation(state, m, step)
            done = True
        if not mine:
            for m in decode_mutations(op["mutations_json"]):
                apply_mutation(state, m, int(op["step"]))
    return snapshot(state)


def test_each_edit_kind_changes_memory_exactly_as_stated(parent):
    _, root, episode = parent
    p = load_parent(root, episode)
    scaffold = load_version(root, p.version)
    state, ops = _log_from_scratch(root, episode, FORK_AT)
    step, turn, _ = _a_writing_log_turn(ops)
    decision = f"{episode}:{step}:log:{turn}"

    dropped = snapshot(fork_memory(p.found, FORK_AT, drop(decision), scaffold))
    assert dropped == _expected(decision_state(state), ops, step, turn, [])
    assert dropped != snapshot(fork_memory(p.found, FORK_AT, NO_EDIT, scaffold))

    line = f"an alternative line {uuid.uuid4().hex[:6]}"
    answer = f"<|APPEND|>strategy|{line}<|END|>\n<|DONE|>"
    swapped = snapshot(fork_memory(p.found, FORK_AT, alternative(decision, "a" * 32, answer),
                                   scaffold))  # fmt: skip
    instead = [Mutation("append", "strategy", text=line)]
    assert swapped == _expected(decision_state(state), ops, step, turn, instead)
    assert line in swapped["strategy"]

    kept = fork_memory(p.found, FORK_AT, NO_EDIT, scaffold)
    target = next(f for f in sorted(kept) if kept[f].lines)
    edit = [{"op": "replace", "path": "/0", "value": "edited first line"},
            {"op": "add", "path": "/-", "value": "added last line"}]  # fmt: skip
    patched = fork_memory(p.found, FORK_AT, patch(target, edit), scaffold)
    assert patched[target].lines == jsonpatch.apply_patch(kept[target].lines, edit)
    assert {f: patched[f].lines for f in patched if f != target} == {
        f: kept[f].lines for f in kept if f != target
    }
    result, (job,) = asyncio.run(fork_episode(root, p, FORK_AT, patch(target, edit), horizon=3))
    assert memory_at(root, job.fork_id, FORK_AT - 1) == snapshot(patched)
    assert json.loads(str(result.rows[0].fork_edit_json))["file"] == target


def decision_state(state: MemoryState) -> MemoryState:
    return {name: type(f)(list(f.lines), list(f.origins)) for name, f in state.items()}


def test_crafter_forks_of_one_parent_replay_from_the_last_checkpoint_exactly(tmp_path):
    from automem_core.envs.base import copy_game
    from automem_core.envs.registry import make_env
    from automem_core.run.fork import ForkSetup, parent_models, plan_forks
    from automem_core.run.fork_play import run_forks
    from automem_core.run.fork_replay import read_logged_steps, replay_to

    episode = play(tmp_path, "crafter", "c")
    parent = load_parent(tmp_path, episode)
    logged = read_logged_steps(parent.found, 30)
    env = make_env("crafter", "default", 40)
    at_10 = replay_to(env, 0, logged, 10)
    copied = copy_game(env)
    assert copied is not None and copied is not env
    from_checkpoint = replay_to(copied, 0, logged, 30, at_10)
    from_seed = replay_to(make_env("crafter", "default", 40), 0, logged, 30)
    assert from_checkpoint.observation.text == from_seed.observation.text
    assert from_checkpoint.seen == from_seed.seen and len(from_seed.seen) == 30

    model, action = parent_models(parent)
    base = ForkSetup("", "crafter", load_version(tmp_path, parent.version), model, action)
    groups, settings = [], ""
    for step in (10, 25):  # the second replays from the first one's checkpoint
        setup, jobs, settings = plan_forks(parent, step, NO_EDIT, 8, 1, "two", base)
        groups.append(jobs)
    result = asyncio.run(run_forks(tmp_path, setup, groups, settings, progress=False))
    assert not result.failed and len(result.rows) == 2
    con = connect(tmp_path)
    for jobs in groups:
        (job,) = jobs
        forked = _rows(con, "steps", "step, observation, action, reward", job.fork_id)
        parent_rows = _rows(con, "steps", "step, observation, action, reward", episode, job.step)
        assert forked == parent_rows[: len(forked)] and len(forked) == 8
