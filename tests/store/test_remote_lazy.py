"""A mirror holds what was read, not the whole store (store/remote_lazy.py), against moto's S3
server: a pull places each part's ``episodes`` table only; listings read nothing more; the views
and one episode's reader fetch what they need, the same rows the writer has; a file the store
no longer has, or a store that cannot be reached, is a one-line error and never a part dropped
as broken."""

from __future__ import annotations

import json
import socket

import pytest

from automem_core.analysis.episode import frame_at, open_episode
from automem_core.analysis.step_rows import forget_steps
from automem_core.cli import main
from automem_core.store import remote
from automem_core.store.compact import drop_broken_parts
from automem_core.store.layout import Layout, StoreError
from automem_core.store.reader import connect, finished_episodes, store_problems
from automem_core.store.remote import open_root, remote_of
from automem_core.store.remote_pull import pull
from automem_core.store.schema import EPISODE_TABLES

pytest.importorskip("moto.server")
pytest.importorskip("s3fs")

BUCKET = "automem-lazy"


def played(url: str, episodes: int = 3) -> None:
    game = ["--game", "minihack", "--tasks", "MazeWalk-9x9,Corridor-R3"]
    size = ["--episodes", str(episodes), "--max-steps", "6", "--run-id", "r", "--quiet"]
    assert main(["run", *game, *size, "--data", url]) == 0


def part_files(url: str) -> tuple[str, set[str]]:
    """The run's one part, and the files of it this machine's mirror holds."""
    root = open_root(url)
    (part,) = json.loads((root / "runs" / "r" / "manifest.json").read_text())["parts"]
    folder = root / "runs" / "r" / "parts" / part["part_id"]
    return part["part_id"], {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def rows(url: str, table: str) -> list[tuple]:
    con = connect(open_root(url), tables=(table,))
    return con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()


def test_a_mirror_fetches_a_parts_tables_when_they_are_read(s3, cache, capsys):
    url = f"{s3}/read"
    played(url)  # the writer's mirror ("first") holds every file it wrote
    first = {t: rows(url, t) for t in ("steps", "memory_ops")}
    episode = rows(url, "episodes")[0][0]
    written = open_episode(open_root(url), episode)
    cache("reader")
    assert pull(open_root(url)) > 0
    held = part_files(url)[1]
    assert held == {"episodes.parquet"}  # listings need no more
    assert main(["runs", "--data", url]) == 0
    assert "episodes 6 / 6" in capsys.readouterr().out
    root = open_root(url)
    assert set(finished_episodes(Layout(root), "r").values()) == {"ok"}  # what a resume reads
    assert len(finished_episodes(Layout(root), "r")) == 6
    assert store_problems(root) == []  # what the pages check first
    assert part_files(url)[1] == {"episodes.parquet"}  # none of them fetched a part's tables
    assert rows(url, "steps") == first["steps"]  # the view fetched the part's steps
    assert part_files(url)[1] == {"episodes.parquet", "steps.parquet"}
    read = open_episode(open_root(url), episode)  # the Replay's reader: the episode's tables
    assert read.steps.equals(written.steps) and read.ops.equals(written.ops)
    assert frame_at(read, 2) == frame_at(written, 2) is not None  # read in place, by ranges
    held = part_files(url)[1]
    assert held >= {f"{t}.parquet" for t in EPISODE_TABLES if t != "frames"}
    assert "frames.parquet" not in held  # a step's frame costs its row group, not the file
    assert rows(url, "memory_ops") == first["memory_ops"]
    assert pull(open_root(url)) == 0  # fetched once: nothing changed in the store


def test_search_reads_a_mirror_as_the_writer_does(s3, cache, capsys):
    url = f"{s3}/search"
    played(url)
    capsys.readouterr()
    query = ["search", "wall OR dark", "--json", "--limit", "1000", "--data", url, "--quiet"]
    assert main(query) == 0
    written = json.loads(capsys.readouterr().out)
    cache("reader")
    assert main(query) == 0
    read = json.loads(capsys.readouterr().out)
    assert written["total"] > 0 and read["total"] == written["total"]
    assert [h["step"] for h in read["hits"]] == [h["step"] for h in written["hits"]]


def test_a_file_the_store_lost_is_an_error_and_never_a_broken_part(s3, cache):
    url = f"{s3}/lost"
    played(url)
    cache("reader")
    pull(open_root(url))
    root = open_root(url)
    part, _ = part_files(url)
    store = remote_of(root)
    store.fs.rm(store.key(f"runs/r/parts/{part}/memory_ops.parquet"))
    lost = r"memory_ops\.parquet is missing: the store lost a file"  # the one lost, named
    with pytest.raises(StoreError, match=lost):
        connect(root, tables=("steps", "memory_ops"))
    assert drop_broken_parts(root, "r") == []  # a resume plays nothing again
    assert part_files(url) == (part, {"episodes.parquet"})
    assert len(rows(url, "episodes")) == 6


def test_a_store_that_cannot_be_reached_is_an_error_and_never_a_broken_part(s3, cache, monkeypatch):
    url = f"{s3}/dead"
    played(url)
    cache("reader")
    pull(open_root(url))
    first, second = (r[0] for r in rows(url, "episodes")[:2])
    opened = open_episode(open_root(url), first)  # its tables fetched; its frames not
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{dead}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    remote._remote_at.cache_clear()  # a new process: the store's client made afresh
    forget_steps()
    try:
        with pytest.raises(StoreError, match=r"cannot read s3://.*frames\.parquet: .*connection"):
            frame_at(opened, 2)
        assert drop_broken_parts(open_root(url), "r") == []
        assert part_files(url)[1] >= {"episodes.parquet", "steps.parquet"}
        assert open_episode(open_root(url), second).steps.num_rows > 0  # its part is here
    finally:
        remote._remote_at.cache_clear()
