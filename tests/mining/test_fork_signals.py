"""Mining a fork: its first step inherits its parent's progression, which is no rise of its own,
so a fork played as logged has the same signals as its parent over the same steps."""

from __future__ import annotations

import asyncio

from automem_core.analysis.decision_table import load_decisions
from automem_core.mining.mine import mine
from automem_core.run.fork import load_parent
from automem_core.run.fork_play import fork_episode
from automem_core.testing.sample_store import play_fake_run


def test_a_fork_played_as_logged_has_its_parents_signals(tmp_path):
    root = tmp_path / "data"
    play_fake_run(root, seeds=(0,), steps=40, run_id="p")
    # step 31 holds the 0.7 reached at step 30; the next rise is at 37, past the window of 5
    asyncio.run(fork_episode(root, load_parent(root, "p.grid.s0"), 31, horizon=9, run_id="fk"))
    mine(root, ["p", "fk"])
    found = load_decisions(root)
    found = found[(found["step"] >= 31) & (found["step"] < 34)]
    signals = ["phase", "turn", "progress_after", "retrieved", "redundant_write", "never_read"]
    by_run = {
        run: rows.sort_values(["step", "phase", "turn"])[["step", *signals]].to_dict("records")
        for run, rows in found.groupby("run_id")
    }
    assert by_run["fk"] and by_run["fk"] == by_run["p"]
