"""Runner behaviour: dead endpoints, failing episodes, worker processes, replay."""

import asyncio
import socket

import pytest

import automem_core.run.play as play_mod
from automem_core.cli import main
from automem_core.envs.registry import make_env
from automem_core.run.config import RunConfig
from automem_core.run.runner import run
from automem_core.store.reader import connect


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _actions(data, run_id):
    con = connect(data)
    return con.execute(
        "SELECT split_part(episode_id, '.', -1) AS seed, step, action FROM steps "
        "WHERE starts_with(episode_id, ?) ORDER BY seed, step",
        [run_id + "."],
    ).fetchall()


def test_dead_endpoint_fails_the_run_at_once_in_one_line(tmp_path, capsys):
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    code = main(
        [
            "run",
            "--game",
            "minihack",
            "--tasks",
            "Corridor-R3",
            "--base-url",
            url,
            "--model",
            "m",
            "--data",
            str(tmp_path),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith(f"error: cannot reach {url}") and "--base-url" in err
    assert "\n" not in err and "Traceback" not in err


class FlakyEnv:
    """A real game that breaks at step 5 of seed 1, as a crashing adapter would."""

    def __init__(self, inner):
        self.inner = inner
        self.seed = None
        self.n = 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def reset(self, seed):
        self.seed, self.n = seed, 0
        return self.inner.reset(seed)

    def step(self, action):
        self.n += 1
        if self.seed == 1 and self.n == 5:
            raise RuntimeError("the game crashed")
        return self.inner.step(action)


@pytest.mark.slow
def test_a_failing_episode_is_recorded_and_the_run_goes_on(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(play_mod, "make_env", lambda *a: FlakyEnv(make_env(*a)))
    cfg = RunConfig(
        game="minihack",
        tasks=["MazeWalk-15x15"],
        seeds=[0, 1, 2],
        data=tmp_path,
        max_steps=12,
        concurrency=3,
    )
    result = asyncio.run(run(cfg, progress=False))
    by_seed = {e.seed: e for e in result.episodes}
    assert by_seed[1].status == "error" and "the game crashed" in by_seed[1].error
    assert by_seed[1].steps == 4  # the steps before the crash are kept
    assert by_seed[0].status == by_seed[2].status == "ok"
    con = connect(tmp_path)
    assert con.execute("SELECT count(*) FROM episodes").fetchone() == (3,)
    # the failed episode is retried by the next run of the same command
    monkeypatch.undo()
    again = asyncio.run(run(cfg, progress=False))
    assert [e.seed for e in again.episodes] == [1] and again.episodes[0].status == "ok"


@pytest.mark.slow
def test_worker_processes_play_the_same_episodes_as_one_process(tmp_path):
    base = dict(game="minihack", tasks=["MazeWalk-15x15"], seeds=[0, 1, 2, 3], max_steps=15)
    one = asyncio.run(run(RunConfig(data=tmp_path / "a", **base), progress=False))
    two = asyncio.run(
        run(RunConfig(data=tmp_path / "b", workers=2, concurrency=4, **base), progress=False)
    )
    assert len(two.episodes) == 4 and all(e.status == "ok" for e in two.episodes)
    assert _actions(tmp_path / "a", one.run_id) == _actions(tmp_path / "b", two.run_id)


@pytest.mark.slow
def test_replay_reproduces_a_recorded_run_step_for_step(tmp_path):
    base = dict(game="crafter", tasks=["default"], seeds=[0], data=tmp_path, max_steps=30)
    recorded = asyncio.run(run(RunConfig(**base), progress=False))
    replayed = asyncio.run(run(RunConfig(replay_from=recorded.run_id, **base), progress=False))
    assert replayed.run_id != recorded.run_id
    assert replayed.episodes[0].memory_client == f"replay:{recorded.run_id}"
    assert _actions(tmp_path, recorded.run_id) == _actions(tmp_path, replayed.run_id)
    con = connect(tmp_path)
    errors = con.execute("SELECT count(*) FROM turns WHERE error IS NOT NULL").fetchone()[0]
    assert errors == 0


def test_a_run_id_is_locked_while_a_process_writes_it(tmp_path):
    from automem_core.run.record import run_lock
    from automem_core.store.layout import Layout, StoreError

    layout = Layout(tmp_path)
    with (
        run_lock(layout, "r1"),
        pytest.raises(StoreError, match="another process"),
        run_lock(layout, "r1"),
    ):
        pass
    with run_lock(layout, "r1"):  # released when the holder is done
        pass


@pytest.mark.slow
def test_resuming_a_run_id_with_other_settings_is_refused(tmp_path):
    from automem_core.store.layout import StoreError

    base = dict(game="minihack", tasks=["MazeWalk-9x9"], data=tmp_path, run_id="fixed")
    asyncio.run(run(RunConfig(seeds=[0], max_steps=5, **base), progress=False))
    with pytest.raises(StoreError, match="other settings"):
        asyncio.run(run(RunConfig(seeds=[0, 1], max_steps=9, **base), progress=False))
    again = asyncio.run(run(RunConfig(seeds=[0], max_steps=5, **base), progress=False))
    assert again.skipped == 1


@pytest.mark.slow
def test_live_run_row_has_a_heartbeat(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    import automem_core.run.record as record_mod
    from automem_core.store.layout import Layout

    monkeypatch.setattr(record_mod, "HEARTBEAT_S", 0.05)
    seen = []

    def watch(row):
        seen.append(pq.read_table(Layout(tmp_path).run_file(row.run_id)).to_pylist()[0])

    cfg = RunConfig(
        game="crafter", tasks=["default"], seeds=[0, 1], data=tmp_path, max_steps=40, concurrency=1
    )
    result = asyncio.run(run(cfg, progress=False, on_episode=watch))
    assert seen[0]["status"] == "running"
    assert seen[0]["updated_at"] > seen[0]["created_at"]  # rewritten while episodes ran
    final = pq.read_table(Layout(tmp_path).run_file(result.run_id)).to_pylist()[0]
    assert final["status"] == "finished" and final["created_at"] == seen[0]["created_at"]


@pytest.mark.slow
def test_an_endpoint_that_keeps_failing_ends_the_episode_as_a_model_error(tmp_path):
    from automem_core.llm.config import ModelConfig
    from automem_core.testing.local_server import LocalServer, Reply

    with LocalServer(lambda messages: Reply(status=500, text="down")) as server:
        url = server.start()
        model = ModelConfig(base_url=url, model="m", max_retries=0, timeout_s=2)
        cfg = RunConfig(
            game="minihack",
            tasks=["MazeWalk-15x15"],
            seeds=[0, 1],
            data=tmp_path,
            model=model,
            max_steps=50,
        )
        result = asyncio.run(run(cfg, progress=False))
    assert [e.status for e in result.episodes] == ["model_error", "model_error"]
    assert all("model calls in a row failed" in e.error for e in result.episodes)
    assert all(e.steps < 10 for e in result.episodes)  # stopped early, not after 50 steps
    assert all(e.failed_calls == e.llm_calls > 0 for e in result.episodes)
    con = connect(tmp_path)
    count = "SELECT count(*) FROM episodes WHERE status = 'model_error'"
    assert con.execute(count).fetchone() == (2,)


@pytest.mark.parametrize("damage", ["delete", "truncate"])
def test_an_episode_with_a_missing_or_unreadable_table_is_played_again(tmp_path, damage):
    from automem_core.testing.sample_store import play_fake_run

    play_fake_run(tmp_path, seeds=(0, 1), steps=4, run_id="r")
    (victim,) = (tmp_path / "runs" / "r" / "parts").glob("*/turns.parquet")  # compacted
    if damage == "delete":
        victim.unlink()
    else:
        victim.write_bytes(b"PAR1 not really")
    assert len(connect(tmp_path).execute("SELECT * FROM turns").fetchall()) == 0
    play_fake_run(tmp_path, seeds=(0, 1), steps=4, run_id="r")  # plays both again
    con = connect(tmp_path)
    assert con.execute("SELECT count(*) FROM turns WHERE episode_id = 'r.grid.s1'").fetchone()[0]
    assert con.execute("SELECT count(*) FROM episodes").fetchone() == (2,)
    assert con.execute("SELECT count(DISTINCT episode_id) FROM steps").fetchone() == (2,)
