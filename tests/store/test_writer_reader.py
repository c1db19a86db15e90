import random
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from automem_core.memory import FileState, MemoryState, Mutation, apply_mutation, snapshot
from automem_core.store.layout import Layout, StoreError, check_id
from automem_core.store.memory_at import (
    INITIAL_STEP,
    encode_mutations,
    encode_state,
    memory_at,
    memory_state_at,
)
from automem_core.store.reader import connect, episode_dir, finished_episodes
from automem_core.store.schema import (
    SCHEMA_VERSION,
    EpisodeRow,
    MemoryOpRow,
    MemorySnapshotRow,
    StepRow,
)
from automem_core.store.writer import EpisodeWriter


def _episode(eid: str, status: str = "ok", steps: int = 0) -> EpisodeRow:
    return EpisodeRow(
        episode_id=eid,
        run_id="r1",
        game="crafter",
        task="default",
        seed=0,
        scaffold_id="crafter-v0",
        scaffold_hash="h",
        memory_client="embedded:crafter",
        action_client="embedded:crafter",
        status=status,
        end_reason="done",
        error=None,
        steps=steps,
        total_reward=1.0,
        progression=0.5,
        invalid_actions=0,
        tokens_in=1,
        tokens_out=1,
        llm_calls=1,
        failed_calls=0,
        failure_defaults=0,
        retries=0,
        wall_s=0.1,
        started_at="t",
        finished_at="t",
        parent_episode_id=None,
        fork_step=None,
    )


def _step(eid: str, step: int) -> StepRow:
    return StepRow(
        episode_id=eid,
        step=step,
        observation=f"obs {step}",
        action="Noop",
        raw_action=None,
        action_valid=True,
        action_source="model",
        reward=0.0,
        done=False,
        progression=0.0,
        warnings=[],
        n_log_turns=1,
        n_plan_turns=1,
        n_ops=0,
        n_writes=0,
        tokens_in=0,
        tokens_out=0,
        llm_ms=0.0,
        env_ms=0.1,
    )


def test_episode_is_invisible_until_commit_then_readable(tmp_path):
    layout = Layout(tmp_path)
    w = EpisodeWriter(layout, "r1", "r1.default.s0", flush_rows=10)
    for i in range(35):  # several row groups flushed before the commit
        w.add("steps", _step("r1.default.s0", i))
    con = connect(tmp_path)
    assert con.execute("SELECT count(*) FROM steps").fetchone() == (0,)
    assert finished_episodes(layout, "r1") == {}
    w.commit(_episode("r1.default.s0", steps=35))
    con = connect(tmp_path)
    assert con.execute("SELECT count(*), max(step) FROM steps").fetchone() == (35, 34)
    assert finished_episodes(layout, "r1") == {"r1.default.s0": "ok"}
    path = episode_dir(tmp_path, "r1.default.s0") / "steps.parquet"
    meta = pq.read_schema(path).metadata
    assert meta[b"automem.schema_version"] == str(SCHEMA_VERSION).encode()


def test_recommit_replaces_a_failed_attempt(tmp_path):
    layout = Layout(tmp_path)
    w = EpisodeWriter(layout, "r1", "e1")
    w.commit(_episode("e1", status="error"))
    w = EpisodeWriter(layout, "r1", "e1")
    w.add("steps", _step("e1", 0))
    w.commit(_episode("e1", steps=1))
    con = connect(tmp_path)
    assert con.execute("SELECT status FROM episodes").fetchall() == [("ok",)]


def test_corrupt_file_is_skipped_not_fatal(tmp_path, caplog):
    layout = Layout(tmp_path)
    for eid in ("e1", "e2"):
        w = EpisodeWriter(layout, "r1", eid)
        w.add("steps", _step(eid, 0))
        w.commit(_episode(eid, steps=1))
    bad = episode_dir(tmp_path, "e2") / "steps.parquet"
    bad.write_bytes(bad.read_bytes()[:20])
    con = connect(tmp_path)
    assert con.execute("SELECT episode_id FROM steps").fetchall() == [("e1",)]
    assert (
        "left out" in caplog.text and "delete it or re-run" in caplog.text and "e2" in caplog.text
    )


def test_empty_store_has_typed_empty_views(tmp_path):
    con = connect(tmp_path)
    assert con.execute("SELECT count(*) FROM turns").fetchone() == (0,)
    cols = [r[0] for r in con.execute("DESCRIBE memory_ops").fetchall()]
    assert "mutations_json" in cols


@pytest.mark.parametrize("bad", ["../x", "a/b", "/abs", "", ".hidden", "x" * 300])
def test_ids_that_are_not_safe_folder_names_are_refused(bad):
    with pytest.raises(StoreError, match="invalid"):
        check_id(bad, "run id")


def test_unknown_episode_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="automem episodes"):
        episode_dir(tmp_path, "missing")


def _random_mutation(rng: random.Random, step: int) -> Mutation:
    name = rng.choice(["notes", "map", "log"])
    kind = rng.choice(["append", "append", "upsert", "write", "prune", "replace", "create"])
    text = f"line {step} {rng.randint(0, 9)}"
    if kind == "upsert":
        return Mutation(kind="upsert", file=name, key=f"k{rng.randint(0, 3)}", text=text)
    if kind == "prune":
        return Mutation(kind="prune", file=name, count=rng.randint(1, 2))
    if kind == "replace":
        return Mutation(kind="replace", file=name, old=str(rng.randint(0, 9)), text="X")
    return Mutation(kind=kind, file=name, text=text)


def test_memory_at_equals_live_state_at_every_step(tmp_path):
    rng = random.Random(7)
    layout = Layout(tmp_path)
    w = EpisodeWriter(layout, "r1", "e1")
    state: MemoryState = {"notes": FileState(["seed"], [INITIAL_STEP])}
    w.add("memory_snapshots", MemorySnapshotRow("e1", INITIAL_STEP, encode_state(state)))
    truth: dict[int, dict[str, str]] = {}
    seq = 0
    every = 25
    for step in range(120):
        for _ in range(rng.randint(0, 3)):
            m = _random_mutation(rng, step)
            apply_mutation(state, m, step)
            seq += 1
            w.add(
                "memory_ops",
                MemoryOpRow(
                    episode_id="e1",
                    step=step,
                    seq=seq,
                    phase="log",
                    turn=0,
                    kind=m.kind.upper(),
                    file=m.file,
                    args=[],
                    ok=True,
                    result="",
                    hits=0,
                    error=None,
                    mutations_json=encode_mutations([m]),
                ),
            )
        if (step + 1) % every == 0:
            w.add("memory_snapshots", MemorySnapshotRow("e1", step, encode_state(state)))
        truth[step] = snapshot(state)
    w.commit(_episode("e1", steps=120))
    for step in [0, 1, 24, 25, 26, 49, 77, 119]:
        assert memory_at(tmp_path, "e1", step) == truth[step], step
    assert memory_at(tmp_path, "e1", INITIAL_STEP) == {"notes": "seed"}
    # origins survive keyframes: every line's origin is a step at or before the asked step
    rebuilt = memory_state_at(tmp_path, "e1", 60)
    assert all(o <= 60 for f in rebuilt.values() for o in f.origins)


def test_readers_never_see_an_episode_still_being_written(tmp_path: Path):
    from automem_core.store.catalog import scan_run

    layout = Layout(tmp_path)
    w = EpisodeWriter(layout, "r1", "e1")
    w.add("steps", _step("e1", 0))
    assert scan_run(layout.run_dir("r1")).episodes() == []
    assert connect(tmp_path).execute("SELECT count(*) FROM steps").fetchone() == (0,)
    w.commit(_episode("e1", steps=1))
    assert scan_run(layout.run_dir("r1")).episodes() == ["e1"]


def test_episode_with_a_corrupt_table_counts_as_not_finished(tmp_path):
    layout = Layout(tmp_path)
    w = EpisodeWriter(layout, "r1", "e1")
    w.add("steps", _step("e1", 0))
    w.commit(_episode("e1", steps=1))
    assert finished_episodes(layout, "r1") == {"e1": "ok"}
    steps = episode_dir(tmp_path, "e1") / "steps.parquet"
    steps.write_bytes(steps.read_bytes()[:30])
    assert finished_episodes(layout, "r1") == {}


def test_files_from_a_newer_schema_are_left_out(tmp_path, caplog):
    from automem_core.store.reader import store_problems
    from automem_core.store.schema import METADATA_KEY

    layout = Layout(tmp_path)
    for eid in ("e1", "e2"):
        w = EpisodeWriter(layout, "r1", eid)
        w.add("steps", _step(eid, 0))
        w.commit(_episode(eid, steps=1))
    path = layout.episode_dir("r1", "e2") / "steps.parquet"
    table = pq.read_table(path)
    pq.write_table(table.replace_schema_metadata({METADATA_KEY: b"999"}), path)
    con = connect(tmp_path)
    assert con.execute("SELECT episode_id FROM steps").fetchall() == [("e1",)]
    (problem,) = store_problems(tmp_path)
    assert problem.path == str(path) and problem.episodes == ("e2",)
    assert "newer AutoMem" in problem.reason and "newer AutoMem" in caplog.text


def test_two_processes_placing_one_episode_at_once_both_succeed_and_one_whole_folder_stays(
    tmp_path: Path,
) -> None:
    """A run publishing an episode and its mirror pulling it from the store rename a folder of
    their own to the same place; neither may fail, and the place holds one of them whole."""
    import threading

    from automem_core.store.layout import replace_folder

    final = tmp_path / "episodes" / "e1"
    errors: list[BaseException] = []

    def place(who: int) -> None:
        for i in range(200):
            new = tmp_path / "episodes" / f".pull-{who}-{i}"
            new.mkdir(parents=True)
            (new / "a.parquet").write_text(f"{who}-{i}")
            (new / "b.parquet").write_text(f"{who}-{i}")
            try:
                replace_folder(new, final)
            except BaseException as exc:  # collected for the assertion
                errors.append(exc)

    threads = [threading.Thread(target=place, args=(who,)) for who in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    a, b = (final / "a.parquet").read_text(), (final / "b.parquet").read_text()
    assert a == b  # one folder, whole
    assert sorted(p.name for p in final.iterdir()) == ["a.parquet", "b.parquet"]
