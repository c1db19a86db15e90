"""Compaction of runs kept on object storage (store/remote_compact.py), against moto's S3
server: a run ends compacted in the store, a fresh mirror reads it with as many requests
whatever its number of episodes, a compaction killed at each step leaves every episode readable
once, two compactions of one run cannot both commit, and what parts replaced is deleted once old."""

from __future__ import annotations

import json
import time

import pytest

from automem_core.cli import main
from automem_core.store import catalog, compact, remote_compact
from automem_core.store.locks import COMPACT_LOCK, try_lock
from automem_core.store.reader import connect
from automem_core.store.remote import open_root, remote_of
from automem_core.store.remote_pull import pull

pytest.importorskip("moto.server")
pytest.importorskip("s3fs")

BUCKET = "automem-compact"


def run_args(url: str, episodes: int = 4, run_id: str = "r") -> list[str]:
    game = ["--game", "minihack", "--tasks", "MazeWalk-9x9,Corridor-R3"]
    size = ["--episodes", str(episodes), "--max-steps", "6"]
    return ["run", *game, *size, "--run-id", run_id, "--quiet", "--data", url]


def counts(url: str) -> tuple[int, int]:
    con = connect(open_root(url))
    return con.execute("SELECT count(*), count(DISTINCT episode_id) FROM episodes").fetchone()


def store_keys(url: str, under: str) -> list[str]:
    remote = remote_of(open_root(url))
    base = remote.key("")
    remote.fs.invalidate_cache()
    return sorted(k[len(base) :].lstrip("/") for k in remote.fs.find(remote.key(under)))


def store_manifest(url: str, run: str = "r") -> list[dict]:
    remote = remote_of(open_root(url))
    return json.loads(remote.fs.cat_file(remote.key(f"runs/{run}/manifest.json")))["parts"]


def loose_run(url: str) -> None:
    """A run of 8 episodes published and left uncompacted (its compaction switched off)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(compact, "compact_run", lambda *a, **k: 0)
        assert main(run_args(url)) == 0


def test_a_run_on_s3_ends_compacted_and_a_fresh_mirror_fetches_no_episode(s3, cache, capsys):
    small, large = f"{s3}/small", f"{s3}/large"
    assert main(run_args(small, episodes=2)) == 0
    assert main(run_args(large, episodes=6)) == 0
    (part,) = store_manifest(large)
    assert len(part["episodes"]) == 12
    assert {k.split("/")[-1] for k in store_keys(large, f"runs/r/parts/{part['part_id']}")} == {
        f"{t}.parquet" for t in part["sizes"]
    }
    cache("reader")
    fetched = {url: pull(open_root(url)) for url in (small, large)}
    assert fetched[small] == fetched[large]  # as many objects for 4 episodes as for 12
    assert not (open_root(large) / "runs" / "r" / "episodes").exists()  # no marker fetched
    assert counts(small) == (4, 4) and counts(large) == (12, 12)
    assert main(["runs", "--data", large]) == 0
    assert "episodes 12 / 12" in capsys.readouterr().out


@pytest.mark.parametrize("step", ["after_part_upload", "after_store_manifest", "before_removal"])
def test_a_compaction_killed_at_each_step_leaves_every_episode_readable_once(s3, cache, step):
    url = f"{s3}/killed-{step}"
    loose_run(url)
    root = open_root(url)
    fs = remote_of(root).fs

    class Killed(BaseException):
        pass

    with pytest.MonkeyPatch.context() as mp:
        if step == "after_part_upload":
            real_pipe = fs.pipe_file

            def pipe(path, *args, **kwargs):
                if path.endswith("manifest.json"):
                    raise Killed
                return real_pipe(path, *args, **kwargs)

            mp.setattr(fs, "pipe_file", pipe)
        elif step == "after_store_manifest":
            mp.setattr("automem_core.store.compact.write_manifest", _raise(Killed))
        else:
            mp.setattr("automem_core.store.compact._remove", _raise(Killed))
        with pytest.raises(Killed):
            compact.compact_remote(root, "r")
    assert counts(url) == (8, 8)  # the killed compactor's own mirror
    cache("after-kill")
    pull(open_root(url))
    assert counts(url) == (8, 8)  # a fresh mirror
    cache("first")  # the writer's
    pull(root)
    assert counts(url) == (8, 8)
    assert main(["compact", "--data", url]) == 0
    assert counts(url) == (8, 8)
    held = [e for p in store_manifest(url) for e in p["episodes"]]
    assert sorted(held) == sorted(set(held)) and len(held) == 8  # every episode in one part
    cache("last")
    pull(open_root(url))
    assert counts(url) == (8, 8)


def _raise(exc: type[BaseException]):
    def boom(*args, **kwargs):
        raise exc

    return boom


def test_two_compactions_of_one_run_cannot_both_commit(s3, cache):
    url = f"{s3}/race"
    loose_run(url)
    cache("a")
    pull(open_root(url))
    cache("b")
    pull(open_root(url))
    b_root = open_root(url)
    cache("a")
    assert compact.compact_run(open_root(url), "r", publish=_publisher(url)) == 8
    # b compacts from what it pulled before a committed: the store refuses its manifest
    assert compact.compact_run(b_root, "r", publish=_publisher_at(b_root)) == 0
    assert not list((b_root / "runs" / "r" / "parts").glob("p-*"))  # b's part dropped
    assert len(store_manifest(url)) == 1
    pull(b_root)
    cache("b")
    assert counts(url) == (8, 8)


def _publisher(url: str):
    return _publisher_at(open_root(url))


def _publisher_at(root):
    remote = remote_of(root)
    return remote_compact.StoreCommit(remote, root).publish


def test_what_parts_replaced_is_deleted_once_old_and_readers_still_read_once(s3, cache):
    url = f"{s3}/clean"
    loose_run(url)
    root = open_root(url)
    remote = remote_of(root)
    orphan = remote.key("runs/r/parts/p-orphan/steps.parquet")
    remote.fs.pipe_file(orphan, b"a killed compaction's upload")
    assert compact.compact_remote(root, "r") == 8
    assert store_keys(url, "runs/r/commits")  # kept for readers that listed them
    assert remote_compact.clean_store(remote, root, "r", grace_s=0.0) > 0
    assert store_keys(url, "runs/r/commits") == []
    assert store_keys(url, "attempts/r") == []
    assert not remote.fs.exists(orphan)
    cache("reader")
    assert counts(url) == (0, 0)
    pull(open_root(url))
    assert counts(url) == (8, 8)


def test_a_store_without_conditional_writes_is_not_compacted(tmp_path, cache, capsys):
    url = f"file://{tmp_path / 'store'}"
    assert main(run_args(url, episodes=1)) == 0
    assert not (open_root(url) / "runs" / "r" / "parts").exists()
    assert catalog.scan_run(open_root(url) / "runs" / "r").parts == []
    capsys.readouterr()
    assert main(["compact", "--data", url]) == 2
    err = capsys.readouterr().err
    assert "needs conditional writes" in err and "Traceback" not in err


def test_a_store_published_before_attempts_had_their_own_folder_reads_and_compacts(s3, cache):
    """Episodes whose files sit under ``runs/<run>/episodes/<episode>/<attempt>/`` and whose
    markers name no folder (as stores were first written) read back once, compact, and are
    cleaned like the others."""
    url = f"{s3}/old-layout"
    loose_run(url)
    remote = remote_of(open_root(url))
    fs = remote.fs
    for marker in store_keys(url, "runs/r/commits"):
        commit = json.loads(fs.cat_file(remote.key(marker)))
        episode, at = marker.rsplit("/", 1)[-1].removesuffix(".json"), commit.pop("at")
        for name in commit["files"]:
            old = f"runs/r/episodes/{episode}/{commit['attempt']}/{name}"
            fs.copy(remote.key(f"{at}/{name}"), remote.key(old))
        fs.pipe_file(remote.key(marker), json.dumps(commit).encode())
    fs.rm(remote.key("attempts"), recursive=True)
    cache("reader")
    pull(open_root(url))
    assert counts(url) == (8, 8)
    assert compact.compact_remote(open_root(url), "r") == 8
    assert remote_compact.clean_store(remote, open_root(url), "r", grace_s=0.0) > 0
    assert store_keys(url, "runs/r/episodes") == [] and store_keys(url, "runs/r/commits") == []
    cache("last")
    pull(open_root(url))
    assert counts(url) == (8, 8)


def first_four(mp: pytest.MonkeyPatch) -> None:
    """Compactions take at most four loose episodes (as when the others reach a mirror later)."""
    real = compact._clean_episodes
    mp.setattr(compact, "_clean_episodes", lambda run: dict(sorted(real(run).items())[:4]))


def test_a_manifest_replaced_between_a_compactions_read_and_its_put_refuses_the_put(s3, cache):
    """Mirrors a and b both hold the store's manifest (one part of four episodes); b's PUT is
    made on that manifest's ETag, but a commits the other four first: b's PUT is refused, and
    the store keeps a's part and the first one."""
    url = f"{s3}/if-match"
    loose_run(url)
    with pytest.MonkeyPatch.context() as mp:
        first_four(mp)
        assert compact.compact_remote(open_root(url), "r") == 4
    cache("a")
    a_root = open_root(url)
    pull(a_root)
    cache("b")
    b_root = open_root(url)
    fs = remote_of(b_root).fs
    real_pipe, fired = fs.pipe_file, []

    def pipe(path, *args, **kwargs):
        if path.endswith("runs/r/manifest.json") and not fired:
            fired.append(kwargs)
            assert compact.compact_remote(a_root, "r") == 4  # a, just before b's PUT
        return real_pipe(path, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fs, "pipe_file", pipe)
        assert compact.compact_remote(b_root, "r") == 0
    assert "IfMatch" in fired[0]  # b's PUT was conditional on the manifest it read
    assert [len(p["episodes"]) for p in store_manifest(url)] == [4, 4]
    for name in ("a", "b", "fresh"):
        cache(name)
        pull(open_root(url))
        assert counts(url) == (8, 8)


def test_a_compaction_on_a_stale_manifest_commits_nothing_even_after_a_pull_meanwhile(s3, cache):
    """A compaction reads its mirror's manifest; b commits a part; a pull on a's machine then
    brings in b's manifest (and its ETag) before a's PUT: a's part must not replace b's."""
    url = f"{s3}/stale"
    loose_run(url)
    cache("b")
    b_root = open_root(url)
    pull(b_root)
    cache("a")
    a_root = open_root(url)
    commit = remote_compact.begin_commit(a_root)
    every = compact._clean_episodes

    def publish(run, part):
        with pytest.MonkeyPatch.context() as inner:
            inner.setattr(compact, "_clean_episodes", every)
            assert compact.compact_remote(b_root, "r") == 8
        pull(a_root)  # e.g. the dashboard on a's machine
        return commit.publish(run, part)

    with pytest.MonkeyPatch.context() as mp:
        first_four(mp)
        assert compact.compact_run(a_root, "r", publish=publish) == 0
    assert [len(p["episodes"]) for p in store_manifest(url)] == [8]
    for name in ("a", "b", "fresh"):
        cache(name)
        pull(open_root(url))
        assert counts(url) == (8, 8)


def test_attempts_a_young_part_holds_are_kept_until_the_part_is_old(s3, cache, monkeypatch):
    """The clock is the part's upload time plus an offset: ages do not depend on how long the
    compaction took."""
    url = f"{s3}/young"
    loose_run(url)
    time.sleep(2.1)  # the files over a second older than the part (stamps may be whole seconds)
    root = open_root(url)
    commit = remote_compact.begin_commit(root)
    assert compact.compact_run(root, "r", publish=commit.publish) == 8
    commit.finish("r", grace_s=3600.0)
    remote = remote_of(root)
    remote.fs.invalidate_cache()
    listed = remote.fs.find(remote.key("runs/r/parts"), detail=True).values()
    # A part is as old as its youngest file (its files' stamps may straddle a second).
    made = max(info["LastModified"].timestamp() for info in listed)

    class Clock:
        offset = 0.5

        @classmethod
        def time(cls) -> float:
            return made + cls.offset

    monkeypatch.setattr(remote_compact, "time", Clock)
    assert remote_compact.clean_store(remote, root, "r", grace_s=1.0) == 0  # the part is young
    assert len(store_keys(url, "runs/r/commits")) == 8
    assert len(store_keys(url, "attempts/r")) > 8  # a reader that listed them can fetch them
    Clock.offset = 1.5
    assert remote_compact.clean_store(remote, root, "r", grace_s=1.0) > 0
    assert store_keys(url, "runs/r/commits") == store_keys(url, "attempts/r") == []


def test_a_pull_leaves_new_parts_to_the_next_pull_while_its_mirror_compacts_the_run(s3, cache):
    """A compaction in a mirror would take a part the pull placed before its manifest for a
    killed compaction's leftover: a pull places parts only when no compaction holds the run."""
    url = f"{s3}/held"
    loose_run(url)
    cache("a")
    a_root = open_root(url)
    pull(a_root)
    cache("b")
    assert compact.compact_remote(open_root(url), "r") == 8
    with try_lock(a_root / "runs" / "r" / COMPACT_LOCK) as mine:
        assert mine
        pull(a_root)
        assert catalog.scan_run(a_root / "runs" / "r").parts == []
    assert counts(url) == (8, 8)
    cache("a")
    pull(a_root)
    assert [len(p.episodes) for p in catalog.scan_run(a_root / "runs" / "r").parts] == [8]
    assert counts(url) == (8, 8)


def test_a_store_that_ignores_if_match_is_not_compacted(s3, cache, monkeypatch):
    url = f"{s3}/ignores"
    loose_run(url)
    root = open_root(url)
    remote = remote_of(root)
    real_pipe = remote.fs.pipe_file
    monkeypatch.setattr(remote_compact, "_honoured", {})
    monkeypatch.setattr(
        remote.fs, "pipe_file", lambda path, data, **kw: real_pipe(path, data)
    )  # drops If-Match, as a server that ignores it would
    assert not remote_compact.conditional_writes(remote)
    assert compact.compact_remote(root, "r") == 0
    assert catalog.scan_run(root / "runs" / "r").parts == []


def test_a_ray_runs_progress_counts_episodes_whose_markers_compaction_deleted(s3, cache):
    """The Ray executor's progress bar counts a run's published episodes from the store: those
    a part holds count after their markers are gone."""
    from dataclasses import replace

    from automem_core.run.config import RunConfig
    from automem_core.run.plan import plan_run
    from automem_core.run.ray_executor import _count_published

    url = f"{s3}/progress"
    loose_run(url)
    root = open_root(url)
    tasks = ("MazeWalk-9x9", "Corridor-R3")
    cfg = RunConfig(
        game="minihack", tasks=tasks, seeds=(0, 1, 2, 3), data=root, run_id="r", max_steps=6
    )
    plan = replace(plan_run(cfg), todo=tuple((t, s) for t in tasks for s in range(4)))
    assert _count_published(plan) == 8
    with pytest.MonkeyPatch.context() as mp:
        first_four(mp)
        assert compact.compact_remote(root, "r") == 4
    assert remote_compact.clean_store(remote_of(root), root, "r", grace_s=0.0) > 0
    assert len(store_keys(url, "runs/r/commits")) == 4
    assert _count_published(plan) == 8
