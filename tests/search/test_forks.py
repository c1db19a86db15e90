"""Search over a fork, whose steps start at its fork step: the lines still in memory at its
end live until its own last step, and a sequence's window ends at that step too."""

from __future__ import annotations

import asyncio

from automem_core.run.fork import load_parent
from automem_core.run.fork_play import fork_episode
from automem_core.search import SearchFilters, search
from automem_core.search.sequence import sequence_search
from automem_core.testing.sample_store import play_fake_run

FORK = "fk.grid.s0.t20.k0"  # steps 20–29 of a 40-step parent


def test_a_forks_lines_and_windows_end_at_its_own_last_step(tmp_path):
    root = tmp_path / "data"
    play_fake_run(root, seeds=(0,), steps=40, run_id="p")
    asyncio.run(fork_episode(root, load_parent(root, "p.grid.s0"), 20, horizon=10, run_id="fk"))
    lines = search(root, "memory:/.*/", SearchFilters(runs=("fk",), sources=("memory",)),
                   limit=1000)  # fmt: skip
    assert lines.total and lines.notes == []
    assert max(int(h.until) for h in lines.hits) == 29  # still there when the fork ended
    late = SearchFilters(runs=("fk",), sources=("memory",), step_min=27, step_max=29)
    assert search(root, "memory:/.*/", late).total
    found = sequence_search(root, "source:observation", "source:observation", 2,
                            filters=SearchFilters(runs=("fk",)), limit=1000)  # fmt: skip
    cut = {m.step for m in found.matches if m.cut_short}
    assert {m.step for m in found.matches} == set(range(20, 29))  # an A at 29 has no B after
    assert cut == {28} and all(m.episode_id == FORK for m in found.matches)
