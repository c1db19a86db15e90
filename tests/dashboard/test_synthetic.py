"""The synthetic episode generator the dashboard tests and benchmark stand on."""

from __future__ import annotations

import pyarrow.parquet as pq

from automem_core.store.memory_at import memory_at, memory_state_at
from automem_core.store.reader import connect, episode_dir
from automem_core.synthetic import (
    BOLD_LINE,
    BOLD_STEP,
    SCRIPT_LINE,
    SCRIPT_STEP,
    write_synthetic_run,
)

TABLES = ("steps", "turns", "memory_ops", "memory_snapshots", "frames", "episodes")


def test_same_arguments_write_the_same_episode(tmp_path):
    for name in ("a", "b"):
        write_synthetic_run(tmp_path / name, game="nethack", steps=25, run_id="r")
    for table in TABLES:
        a = pq.read_table(episode_dir(tmp_path / "a", "r.NetHackChallenge.s0") / f"{table}.parquet")
        b = pq.read_table(episode_dir(tmp_path / "b", "r.NetHackChallenge.s0") / f"{table}.parquet")
        assert a.equals(b), table


def test_memory_rebuilt_from_keyframes_matches_the_files_on_disk(tmp_path):
    write_synthetic_run(tmp_path, game="crafter", steps=35, run_id="r", keyframe_every=10)
    folder = episode_dir(tmp_path, "r.default.s0")
    keyframes = pq.read_table(folder / "memory_snapshots.parquet").column("step").to_pylist()
    assert keyframes == [-1, 9, 19, 29]
    on_disk = {p.name: p.read_text() for p in (folder / "memory").iterdir()}
    assert memory_at(tmp_path, "r.default.s0", 34) == dict(sorted(on_disk.items()))


def test_literal_lines_are_appended_at_their_steps(tmp_path):
    write_synthetic_run(tmp_path, game="minihack", steps=8, run_id="r")
    state = memory_state_at(tmp_path, "r.MazeWalk-9x9.s0", 7)["notes"]
    assert list(zip(state.lines, state.origins, strict=True)) == [
        (SCRIPT_LINE, SCRIPT_STEP),
        (BOLD_LINE, BOLD_STEP),
    ]
    assert "notes" not in memory_state_at(tmp_path, "r.MazeWalk-9x9.s0", SCRIPT_STEP - 1)


def test_every_step_has_a_frame_of_its_game(tmp_path):
    write_synthetic_run(tmp_path, game="crafter", steps=6, run_id="c")
    write_synthetic_run(tmp_path, game="nethack", steps=6, run_id="n")
    con = connect(tmp_path)
    frames = con.execute(
        "SELECT episode_id, kind, count(*), min(octet_length(data)), max(octet_length(data)) "
        "FROM frames GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert [f[:3] for f in frames] == [
        ("c.default.s0", "png", 6),
        ("n.NetHackChallenge.s0", "tty", 6),
    ]
    assert frames[1][3] == frames[1][4] == 2 * 24 * 80
    png = con.execute("SELECT data FROM frames WHERE kind = 'png' LIMIT 1").fetchone()[0]
    assert png.startswith(b"\x89PNG")


def test_failed_seeds_end_as_error_episodes_halfway(tmp_path):
    write_synthetic_run(tmp_path, game="minihack", seeds=(0, 1), steps=10, fail_seeds=(1,))
    rows = (
        connect(tmp_path)
        .execute("SELECT seed, status, end_reason, steps, progression FROM episodes ORDER BY seed")
        .fetchall()
    )
    assert rows == [(0, "ok", "done", 10, 1.0), (1, "error", "error", 5, 0.0)]
