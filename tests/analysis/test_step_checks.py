"""Diagnostics at one step agree with the episode-level diagnostics of the same episode."""

from __future__ import annotations

import pytest

from automem_core.analysis.diagnostics import episode_diagnostics
from automem_core.analysis.episode import open_episode
from automem_core.analysis.step_checks import (
    DIAGNOSTICS,
    describe,
    diagnostic_holds,
    steps_where,
)
from automem_core.store.reader import connect
from automem_core.testing.sample_store import play_fake_run


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    root = tmp_path_factory.mktemp("checks")
    play_fake_run(root, seeds=(0,), steps=80, run_id="r")
    return root, open_episode(root, "r.grid.s0")


@pytest.mark.parametrize(
    ("diagnostic", "column"),
    [
        ("invalid_action", "invalid_actions"),
        ("unchanged_observation", "unchanged_observations"),
        ("oscillation", "oscillations"),
        ("empty_search", "empty_searches"),
    ],
)
def test_steps_where_a_diagnostic_holds_count_like_the_episode_diagnostics(
    played, diagnostic, column
):
    root, ep = played
    expected = int(episode_diagnostics(connect(root)).iloc[0][column])
    found = [s for s in range(ep.n_steps) if diagnostic_holds(ep, s, diagnostic)]
    if diagnostic == "empty_search":
        assert 0 < len(found) <= expected  # a step can hold two empty searches
    else:
        assert len(found) == expected
    assert steps_where(ep, diagnostic, limit=2) == found[:2]


def test_write_diagnostics_and_their_definitions(played):
    _root, ep = played
    assert steps_where(ep, "never_read") and steps_where(ep, "file_growth")
    assert all(describe(d) != d for d in DIAGNOSTICS)
    assert not diagnostic_holds(ep, 10_000, "invalid_action")
    with pytest.raises(ValueError, match="unknown diagnostic"):
        diagnostic_holds(ep, 1, "bad luck")
