"""One episode's queries: memory rebuilt in memory matches the store's keyframes and op log,
in any order of steps, for a loose episode and a compacted one."""

from __future__ import annotations

import random

from automem_core.analysis.episode import line_provenance, open_episode, steps_in_range
from automem_core.store.memory_at import memory_state_in
from automem_core.testing.sample_store import clone_episodes, play_fake_run


def test_memory_rebuilt_in_memory_equals_the_store_at_every_kind_of_step(tmp_path):
    play_fake_run(tmp_path, seeds=(0,), steps=450, run_id="long")  # keyframes at 199, 399, 449
    clone_episodes(tmp_path, "long.grid.s0", "loose", 1)  # one left as a folder
    for episode_id in ("long.grid.s0", "loose.grid.s1000"):
        ep = open_episode(tmp_path, episode_id)
        order = [-1, 0, 1, 2, 198, 199, 200, 420, 449, 5, 300, 301, 302, 150]
        order += random.Random(3).sample(range(450), 25)
        for step in order:
            assert ep.memory_at(step) == memory_state_in(ep.source, step), (episode_id, step)


def test_steps_in_a_range_and_the_provenance_of_a_line(tmp_path):
    play_fake_run(tmp_path, seeds=(0,), steps=30, run_id="r")
    ep = open_episode(tmp_path, "r.grid.s0")
    rows = steps_in_range(ep, 3, 6)
    assert [r["step"] for r in rows] == [3, 4, 5, 6]
    lines, origins = ep.memory_at(20)["notes"].lines, ep.memory_at(20)["notes"].origins
    found = line_provenance(ep, 20, "notes", lines[0])
    assert found["written_at"] == origins[0] and all(s >= origins[0] for s in found["read_by"])
    assert line_provenance(ep, 20, "notes", "no such line") == {"written_at": None, "read_by": []}
