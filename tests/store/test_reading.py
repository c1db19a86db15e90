"""Reading while a compaction moves the files: every reader, forced into the worst interleaving
(the compaction finishes between the reader's listing and its reads), still returns every
episode once, with the same rows, and warns of nothing."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from automem_core.analysis import episode as episode_queries
from automem_core.store import memory_at as memory_at_module
from automem_core.store import reader
from automem_core.store.catalog import EpisodeChanged, locate_episode, scan_run
from automem_core.store.compact import compact_run
from automem_core.store.layout import Layout
from automem_core.store.memory_at import memory_at
from automem_core.store.reader import connect, finished_episodes, query_store
from automem_core.testing.sample_store import clone_episodes, play_fake_run

EPISODE = "r.grid.s1000"


@pytest.fixture(scope="module")
def loose_store(tmp_path_factory) -> Path:
    """A run of six loose episodes (copies of played ones), none compacted."""
    root = tmp_path_factory.mktemp("loose")
    play_fake_run(root, tasks=("grid", "pixels"), seeds=(0,), steps=12, run_id="src")
    clone_episodes(root, "src.grid.s0", "r", 3)
    clone_episodes(root, "src.pixels.s0", "r", 3, first_seed=2000)
    return root


@pytest.fixture
def root(loose_store, tmp_path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(loose_store, copy)
    assert len(scan_run(Layout(copy).run_dir("r")).loose) == 6
    return copy


def compact_after_listing(monkeypatch, module, root: Path) -> list[int]:
    """Make ``module.scan`` finish a compaction of run ``r`` right after its first listing."""
    real_scan = module.scan
    done: list[int] = []

    def scan_then_compact(*args, **kwargs):
        runs = real_scan(*args, **kwargs)
        if not done:
            done.append(compact_run(root, "r"))
        return runs

    monkeypatch.setattr(module, "scan", scan_then_compact)
    return done


def rows(root: Path) -> list[tuple]:
    con = connect(root, run_ids=["r"])
    return con.execute("SELECT episode_id, step, action FROM steps ORDER BY ALL").fetchall()


def test_views_listed_before_a_compaction_read_every_episode(root, monkeypatch, caplog):
    before = rows(root)
    done = compact_after_listing(monkeypatch, reader, root)
    with caplog.at_level(logging.WARNING):
        con = connect(root, run_ids=["r"])
        ids = [r[0] for r in con.execute("SELECT episode_id FROM episodes").fetchall()]
    assert done == [6]  # the compaction did run between the listing and the reads
    assert len(ids) == len(set(ids)) == 6
    assert con.execute("SELECT episode_id, step, action FROM steps ORDER BY ALL").fetchall() == (
        before
    )
    assert "left out" not in caplog.text


def test_a_query_listed_before_a_compaction_counts_every_episode(root, monkeypatch):
    done = compact_after_listing(monkeypatch, reader, root)
    count = query_store(
        root, lambda con: con.execute("SELECT count(*) FROM episodes").fetchone()[0], run_ids=["r"]
    )
    assert done == [6] and count == 6


def test_resume_state_listed_before_a_compaction_counts_every_episode(root, monkeypatch):
    done = compact_after_listing(monkeypatch, reader, root)
    finished = finished_episodes(Layout(root), "r")
    assert done == [6] and len(finished) == 6 and set(finished.values()) == {"ok"}


def test_memory_located_before_a_compaction_is_read_from_the_part(root, monkeypatch):
    expected = {step: memory_at(root, EPISODE, step) for step in (-1, 3, 11)}
    real_locate = memory_at_module.locate_episode

    def locate_then_compact(*args, **kwargs):
        found = real_locate(*args, **kwargs)
        compact_run(root, "r")
        return found

    monkeypatch.setattr(memory_at_module, "locate_episode", locate_then_compact)
    assert {step: memory_at(root, EPISODE, step) for step in expected} == expected
    assert locate_episode(root, EPISODE).in_part


def test_an_episode_loaded_before_a_compaction_follows_its_rows(root):
    shown = episode_queries.open_episode(root, EPISODE)
    fresh = episode_queries.open_episode(root, "r.grid.s1001")
    expected = [
        (episode_queries.turns_at(fresh, s), episode_queries.frame_at(fresh, s)) for s in (0, 7)
    ]
    assert not shown.source.in_part
    assert compact_run(root, "r") == 6
    for step in (0, 5, 11):  # keyframes, then the op log, from the part
        assert episode_queries.memory_at_step(shown, step) == episode_queries.memory_at_step(
            episode_queries.open_episode(root, EPISODE), step
        )
    got = [(episode_queries.turns_at(shown, s), episode_queries.frame_at(shown, s)) for s in (0, 7)]
    strip = [([{**t, "episode_id": ""} for t in turns], frame) for turns, frame in got]
    assert strip == [([{**t, "episode_id": ""} for t in turns], f) for turns, f in expected]
    assert shown.source.in_part


def test_an_episode_published_again_while_shown_says_so(root):
    shown = episode_queries.open_episode(root, EPISODE)
    clone_episodes(root, "src.grid.s0", "r", 1, first_seed=1000)  # the same id, published again
    with pytest.raises(EpisodeChanged, match="published again"):
        episode_queries.turns_at(shown, 3)
