"""Everything at once on one store, bounded and seeded: a run with workers killed and resumed,
compactions and label merges killed half-way, labellers appending, and readers throughout (the
CLI, the store's readers, the Overview and Replay pages). Every episode and every label must be
there exactly once at the end, and no reader or page may have failed on the way."""

from __future__ import annotations

import pytest

from automem_core.testing.stress import StressConfig, run_stress
from tests.dashboard.apptest import open_pages


@pytest.mark.slow
def test_a_busy_store_loses_nothing_doubles_nothing_and_no_reader_fails(tmp_path, monkeypatch):
    root = tmp_path / "data"
    monkeypatch.setenv("AUTOMEM_DATA", str(root))
    report = run_stress(root, StressConfig(seed=0, seconds=25), open_pages)
    assert report.ok, report.render()
    assert report.kills_survived >= 2 and report.processes_left == 0
    assert report.compactions_killed >= 1 and report.merges_killed >= 1
    assert report.labels_found == report.labels_written == 450
    assert report.episodes_found == report.episodes_expected == 40
    assert report.page_loads >= 3 and report.reads >= 10
