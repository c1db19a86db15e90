"""The dashboard over a store on object storage (``AUTOMEM_DATA=s3://…``, moto's S3 server):
the Overview lists the run and the Replay opens one of its episodes, from a mirror that had
never read the store."""

from __future__ import annotations

import pytest

from automem_core.cli import main
from automem_core.store.reader import connect
from automem_core.store.remote import open_root
from automem_core.testing.s3_server import in_environment, s3_server
from dashboard.render import escape_text
from tests.dashboard.apptest import open_app

pytest.importorskip("moto.server")
BUCKET = "automem-dash"


@pytest.fixture(scope="module")
def s3_store(tmp_path_factory):
    """A run of four MiniHack episodes written to S3 (its writer's mirror then thrown away)."""
    url = f"s3://{BUCKET}/store"
    writer_cache = str(tmp_path_factory.mktemp("writer"))
    with s3_server(BUCKET) as env, in_environment({**env, "AUTOMEM_CACHE": writer_cache}):
        args = ["run", "--game", "minihack", "--tasks", "MazeWalk-9x9", "--episodes", "4",
                "--max-steps", "8", "--run-id", "dash", "--quiet", "--data", url]  # fmt: skip
        assert main(args) == 0
        yield url


def test_overview_and_replay_read_an_s3_store_in_a_fresh_mirror(s3_store, tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOMEM_CACHE", str(tmp_path / "dashboard"))
    at = open_app(s3_store, monkeypatch)
    runs = at.dataframe[0].value
    assert list(runs["run"]) == ["dash"] and runs.iloc[0]["episodes"] == "4 / 4"
    episode, step, action = (
        connect(open_root(s3_store))
        .execute("SELECT episode_id, step, action FROM steps ORDER BY 1, 2 LIMIT 1 OFFSET 3")
        .fetchone()
    )
    at = open_app(s3_store, monkeypatch, run="dash", episode=episode, step=str(step))
    assert not at.error, at.error[0].value if at.error else ""
    step_card = next(h.value for h in at.html if 'class="am-step"' in h.value)
    assert f'<span class="am-action">{escape_text(action)}</span>' in step_card


def test_a_replay_whose_files_cannot_be_fetched_says_so_in_one_line(
    s3_store, tmp_path, monkeypatch
):
    """The mirror read the listing, then the store went out of reach: the Replay names the
    fetch that failed (not "not in the store", and no traceback)."""
    import socket

    from automem_core.store import remote

    monkeypatch.setenv("AUTOMEM_CACHE", str(tmp_path / "offline"))
    at = open_app(s3_store, monkeypatch)  # the Overview: the mirror's first pull
    assert not at.exception
    (episode,) = (
        connect(open_root(s3_store), tables=("episodes",))
        .execute("SELECT min(episode_id) FROM episodes")
        .fetchone()
    )
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{dead}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    remote._remote_at.cache_clear()  # the store's client made afresh, as in a new process
    try:
        at = open_app(s3_store, monkeypatch, run="dash", episode=episode, step="2")
    finally:
        remote._remote_at.cache_clear()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any(e.startswith("cannot fetch") and "check the connection" in e for e in errors)
    assert not any("not in the store" in e for e in errors)
