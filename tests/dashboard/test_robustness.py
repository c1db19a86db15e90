"""The dashboard over a store that is damaged or being written: unreadable files, a folder replaced
while it is read, a run killed without closing its row, a failing demo command."""

from __future__ import annotations

import dataclasses
import html
import shutil
import subprocess
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from streamlit.testing.v1 import AppTest

from automem_core.analysis import episode as episode_queries
from automem_core.analysis.runs import effective_status
from automem_core.memory import READ_ONLY_OPS
from automem_core.scaffold import load_scaffold
from automem_core.store import reader
from automem_core.store.catalog import locate_episode
from automem_core.store.compact import compact_run
from automem_core.store.layout import Layout
from automem_core.store.schema import RunRow, utc_now
from automem_core.store.writer import write_run
from automem_core.testing.fake_game import SCAFFOLD_DIR
from automem_core.testing.sample_store import clone_episodes, play_fake_run
from dashboard import data
from dashboard.render import escape_text
from tests.dashboard.apptest import open_app
from tests.dashboard.conftest import clear_dashboard_caches

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def truncate(path: Path, size: int = 20) -> None:
    with path.open("r+b") as f:
        f.truncate(size)


def shown(markdown: str) -> str:
    return html.unescape(markdown)


def run_row(root: Path, run_id: str) -> RunRow:
    return RunRow(**pq.read_table(Layout(root).run_file(run_id)).to_pylist()[0])


def beat(root: Path, run_id: str, at: str | None = None) -> None:
    """What a live run's engine does every few seconds: rewrite run.parquet as running."""
    row = run_row(root, run_id)
    write_run(Layout(root), dataclasses.replace(row, status="running", updated_at=at or utc_now()))


def runs_frame(at: AppTest):
    return next(d.value for d in at.dataframe if "status" in d.value.columns)


# --------------------------------------------------------------------------- unreadable files


def test_unreadable_run_file_keeps_its_episodes_listed_and_replayable(tmp_path, monkeypatch):
    play_fake_run(tmp_path, steps=6, run_id="good")
    play_fake_run(tmp_path, tasks=("pixels",), steps=6, run_id="broken")
    truncate(Layout(tmp_path).run_file("broken"))
    at = open_app(tmp_path, monkeypatch)
    runs = runs_frame(at).set_index("run")
    assert set(runs.index) == {"good", "broken"}
    assert runs.loc["broken", "status"] == "unknown"
    version = load_scaffold(SCAFFOLD_DIR).version
    assert (runs.loc["broken", "game"], runs.loc["broken", "scaffold"]) == ("fake", version)
    assert runs.loc["broken", "episodes"] == "1 / ?"
    assert len(at.warning) == 1 and "runs/broken/run.parquet" in shown(at.warning[0].value)

    episode = "broken.pixels.s0"
    at = open_app(tmp_path, monkeypatch, run="broken", episode=episode, step="2")
    assert next(s.value for s in at.subheader) == episode
    assert at.number_input(key="replay.w_goto").value == 2
    assert "runs/broken/run.parquet" in shown(at.warning[0].value)


def test_runs_table_keeps_its_columns_when_no_run_reads(tmp_path, monkeypatch):
    write_run(Layout(tmp_path), run_row_for(tmp_path))
    truncate(Layout(tmp_path).run_file("lonely"))
    runs = data.runs_table(str(tmp_path), data.store_token(tmp_path))
    assert runs.empty and {"run", "status", "game", "episodes"} <= set(runs.columns)
    at = open_app(tmp_path, monkeypatch)
    assert "runs/lonely/run.parquet" in shown(at.warning[0].value)
    at.switch_page("replay/view.py").run()
    assert not at.exception


def run_row_for(root: Path) -> RunRow:
    """A run that started and wrote no episode yet."""
    play_fake_run(root / "tmp", steps=2, run_id="lonely")
    row = run_row(root / "tmp", "lonely")
    shutil.rmtree(root / "tmp")
    return row


def test_corrupt_episode_file_shows_an_error_and_the_rest_works(tmp_path, monkeypatch):
    play_fake_run(tmp_path, seeds=(0, 1), steps=8, run_id="r")
    play_fake_run(tmp_path, seeds=(5,), steps=8, run_id="fine")
    (steps,) = (tmp_path / "runs" / "r" / "parts").glob("*/steps.parquet")
    truncate(steps)
    at = open_app(tmp_path, monkeypatch, run="r", episode="r.grid.s1", step="3")
    error = shown(at.error[0].value)
    assert error.startswith("episode r.grid.s1 cannot be read: steps.parquet: ")
    assert error.endswith("; re-run it with the same command")
    at.selectbox(key="replay.w_run").select("fine").run()
    assert not at.exception and not at.error
    assert next(s.value for s in at.subheader) == "fine.grid.s5"
    at.switch_page("overview/view.py").run()
    warning = shown(at.warning[0].value)
    assert not at.exception and f"{steps.relative_to(tmp_path)} (2 episodes of r)" in warning


# --------------------------------------------------------------------------- reader vs writer


@pytest.mark.parametrize(
    "query", ["episodes_table", "_run_rows", "op_stats", "progression_by_version"]
)
def test_store_queries_retry_when_a_run_is_compacted_meanwhile(tmp_path, monkeypatch, query):
    play_fake_run(tmp_path, seeds=(0,), steps=6, run_id="r")
    clone_episodes(tmp_path, "r.grid.s0", "r", 2)  # two loose episodes, not compacted yet
    real_connect = reader.connect

    def connect_then_compact(root: Path, *args, **kwargs):
        con = real_connect(root, *args, **kwargs)
        compact_run(tmp_path, "r")  # their folders go after the views were made
        return con

    monkeypatch.setattr(reader, "connect", connect_then_compact)
    out = getattr(data, query)(str(tmp_path), "token")
    assert not out.empty
    if query == "episodes_table":
        assert sorted(out["episode_id"]) == ["r.grid.s0", "r.grid.s1000", "r.grid.s1001"]


def _page_text(at: AppTest) -> list[str]:
    return [h.value for h in at.html] + [m.value for m in at.markdown] + [e.value for e in at.error]


def _once(action):
    """A function that runs ``action`` the first time it is called, then calls ``real``."""
    done: list[bool] = []

    def wrap(real):
        def wrapped(*args, **kwargs):
            if not done:
                done.append(True)
                action()
            return real(*args, **kwargs)

        return wrapped

    return wrap, done


def test_replay_across_a_compaction_of_the_episode_it_shows(tmp_path, monkeypatch):
    root, reference = tmp_path / "data", tmp_path / "reference"
    play_fake_run(root, seeds=(0,), steps=12, run_id="src")
    clone_episodes(root, "src.grid.s0", "r", 2)  # loose until the page has loaded one
    shutil.copytree(root, reference)
    link = {"run": "r", "episode": "r.grid.s1000", "step": "5"}
    expected = _page_text(open_app(reference, monkeypatch, **link))
    clear_dashboard_caches()
    # The page loads the loose episode, then the compaction deletes its folder before the
    # step fragment reads the step's keyframe, turns and frame.
    wrap, done = _once(lambda: compact_run(root, "r"))
    from dashboard.replay import panels as replay_panels

    monkeypatch.setattr(replay_panels, "jumps", wrap(replay_panels.jumps))
    at = open_app(root, monkeypatch, **link)
    assert done and not (root / "runs" / "r" / "episodes" / "r.grid.s1000").exists()
    assert not at.error and _page_text(at) == expected
    at.button(key="replay.next").click().run()
    assert not at.exception and not at.error
    assert at.number_input(key="replay.w_goto").value == 6


def test_replay_reloads_an_episode_published_again_while_shown(tmp_path, monkeypatch):
    root = tmp_path / "data"
    play_fake_run(root, seeds=(0,), steps=12, run_id="src")
    clone_episodes(root, "src.grid.s0", "r", 2)
    wrap, done = _once(lambda: clone_episodes(root, "src.grid.s0", "r", 1))  # same id again
    from dashboard.replay import panels as replay_panels

    monkeypatch.setattr(replay_panels, "jumps", wrap(replay_panels.jumps))
    at = open_app(root, monkeypatch, run="r", episode="r.grid.s1000", step="5")
    assert done and not at.error
    assert any("Memory at the end of step 5" in h.value for h in at.html)
    now = locate_episode(root, "r.grid.s1000")
    assert at.session_state["replay.figure"][0][:2] == (now.episode_id, now.token)  # afresh


# --------------------------------------------------------------------------- run status


@pytest.mark.parametrize(
    ("status", "age_s", "shown_as"),
    [
        ("running", 5, "running"),
        ("running", 119, "running"),
        ("running", 121, "interrupted"),
        ("finished", 3600, "finished"),
        ("interrupted", 1, "interrupted"),
    ],
)
def test_effective_status_marks_a_silent_running_run_interrupted(status, age_s, shown_as):
    updated = (NOW - timedelta(seconds=age_s)).isoformat(timespec="milliseconds")
    assert effective_status(status, updated, NOW) == shown_as


def test_effective_status_without_a_readable_heartbeat():
    assert effective_status("running", "not a time", NOW) == "interrupted"
    assert effective_status("unknown", None, NOW) == "unknown"


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_killed_run_is_shown_interrupted_and_stops_refreshing(tmp_path, monkeypatch):
    play_fake_run(tmp_path, steps=6, run_id="killed")
    beat(tmp_path, "killed", at="2025-01-01T00:00:00.000+00:00")  # its last heartbeat, long ago
    at = open_app(tmp_path, monkeypatch)
    assert runs_frame(at).set_index("run").loc["killed", "status"] == "interrupted"
    assert metric(at, "Running") == "0"
    assert not any("in progress" in c.value for c in at.caption)

    beat(tmp_path, "killed")  # alive after all
    at.run()
    assert runs_frame(at).set_index("run").loc["killed", "status"] == "running"
    assert metric(at, "Running") == "1"
    assert any("in progress" in c.value for c in at.caption)


def test_refresh_reruns_when_a_running_run_goes_quiet(tmp_path, monkeypatch):
    play_fake_run(tmp_path, steps=4, run_id="r")
    beat(tmp_path, "r")
    token = data.store_token(tmp_path)
    runs = data.runs_table(str(tmp_path), token)
    reruns: list[str] = []
    monkeypatch.setattr(data.st, "rerun", lambda scope: reruns.append(scope))
    data.rerun_if_changed(tmp_path, token, data.stale_at(runs))
    assert reruns == []
    data.rerun_if_changed(tmp_path, token, datetime.now(UTC).timestamp() - 1)
    assert reruns == ["app"]


def test_a_heartbeat_rereads_only_the_run_rows(tmp_path, monkeypatch):
    play_fake_run(tmp_path, seeds=(0,), steps=6, run_id="live")
    beat(tmp_path, "live")
    at = open_app(tmp_path, monkeypatch)
    published = data.episodes_token(tmp_path)
    calls: list[Path] = []
    real_connect = reader.connect
    monkeypatch.setattr(
        reader, "connect", lambda root, *a, **kw: calls.append(root) or real_connect(root, *a, **kw)
    )

    beat(tmp_path, "live")
    at.run()
    assert not at.exception
    assert data.episodes_token(tmp_path) == published
    assert len(calls) == 1  # the runs table; episodes, op statistics and growth stay cached

    clone_episodes(tmp_path, "live.grid.s0", "live", 1, first_seed=1)  # the next episode
    at.run()
    assert runs_frame(at).set_index("run").loc["live", "episodes"].startswith("2 / ")
    assert any("seed 1" in o for o in at.selectbox(key="overview.episode").options)


# --------------------------------------------------------------------------- seeding the demo


def fake_subprocess(returncode: int, stderr: str, seen: list[list[str]]) -> types.SimpleNamespace:
    def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        seen.append(cmd)
        return subprocess.CompletedProcess(cmd, returncode, "progress…\n", stderr)

    return types.SimpleNamespace(run=run, TimeoutExpired=subprocess.TimeoutExpired)


def test_seed_demo_passes_an_absolute_data_folder(tmp_path, monkeypatch):
    seen: list[list[str]] = []
    monkeypatch.setattr(data, "subprocess", fake_subprocess(0, "", seen))
    monkeypatch.chdir(tmp_path)
    assert data.seed_demo(Path("data")) == (True, "")
    data_arg = seen[0][seen[0].index("--data") + 1]
    assert data_arg == str(tmp_path.resolve() / "data")


def test_failed_demo_shows_its_last_stderr_line(tmp_path, monkeypatch):
    seen: list[list[str]] = []
    stderr = "Traceback (most recent call last):\n  File x\nStoreError: disk full\n\n"
    monkeypatch.setattr(data, "subprocess", fake_subprocess(1, stderr, seen))
    assert data.seed_demo(tmp_path) == (False, "StoreError: disk full")
    at = open_app(tmp_path, monkeypatch)
    at.button(key="overview.seed_demo").click().run()
    assert len(seen) == 2
    assert shown(at.error[0].value) == "The demo did not finish: StoreError: disk full"
    assert escape_text("StoreError: disk full") in at.error[0].value


# --------------------------------------------------------------------------- read kinds


def test_read_by_follows_the_read_only_ops_except_count():
    assert set(episode_queries.READ_KINDS) == READ_ONLY_OPS - {"COUNT"}
    ops = pa.table(
        {
            "step": [1, 2, 3],
            "kind": ["SEARCH", "COUNT", "APPEND"],
            "phase": ["log", "log", "log"],
            "ok": [True, True, True],
            "hits": [1, 1, 0],
            "result": ["── notes ──\nkey found", "── notes ──\nkey found", "ok"],
        }
    )
    assert episode_queries._read_index(ops) == {"key found": [1]}
    steps = pa.table(
        {
            "step": [1, 2, 3],
            "reward": [0.0, 0.0, 0.0],
            "action_valid": [True, True, True],
            "warnings": pa.array([[], [], []], pa.list_(pa.string())),
        }
    )
    flags = episode_queries._step_flags(steps, ops)
    assert list(flags["read"]) == [1, 1, 0] and list(flags["write"]) == [0, 0, 1]
