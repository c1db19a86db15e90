"""The store on object storage, against a real S3 server (moto's) started here: a run writes
``s3://…``, other mirrors read it back whole and once, a resume from another mirror skips what
the store holds, and an episode whose commit marker never landed is never seen."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from automem_core.cli import main
from automem_core.store.catalog import scan_run
from automem_core.store.reader import connect
from automem_core.store.records import read_records
from automem_core.store.remote import open_root, remote_of
from automem_core.store.remote_pull import pull
from automem_core.testing.local_server import LocalServer
from automem_core.testing.s3_server import free_port

pytest.importorskip("moto.server")
pytest.importorskip("s3fs")

BUCKET = "automem-test"
RUN = ["run", "--game", "minihack", "--tasks", "MazeWalk-9x9,Corridor-R3", "--episodes", "4",
       "--max-steps", "10", "--run-id", "r", "--quiet"]  # fmt: skip


def episode_counts(url: str) -> tuple[int, int]:
    con = connect(open_root(url))
    return con.execute("SELECT count(*), count(DISTINCT episode_id) FROM episodes").fetchone()


def test_a_run_to_s3_reads_back_whole_from_a_fresh_mirror(s3, cache, capsys):
    url = f"{s3}/one"
    assert main([*RUN, "--data", url]) == 0
    assert f"data in {url}" in capsys.readouterr().out
    cache("reader")
    assert not (open_root(url) / "runs").exists()
    assert main(["runs", "--data", url]) == 0
    out = capsys.readouterr().out
    assert "r  [finished]" in out and "episodes 8 / 8" in out
    assert episode_counts(url) == (8, 8)
    assert pull(open_root(url)) == 0  # nothing changed: nothing fetched again


def test_a_resume_from_another_machine_skips_what_the_store_holds(s3, cache, capsys):
    url = f"{s3}/two"
    assert main([*RUN, "--data", url]) == 0
    cache("other")
    capsys.readouterr()
    assert main([*RUN, "--data", url]) == 0
    assert "0 episodes played, 8 already finished" in capsys.readouterr().out


def test_an_episode_without_its_commit_marker_is_never_seen_and_is_played_again(s3, cache, capsys):
    url = f"{s3}/three"
    with pytest.MonkeyPatch.context() as mp:  # episodes as published, not compacted
        mp.setattr("automem_core.store.compact.compact_run", lambda *a, **k: 0)
        assert main([*RUN, "--data", url]) == 0
    remote = remote_of(open_root(url))
    marker = remote.key("runs/r/commits/r.Corridor-R3.s1.json")
    remote.fs.rm(marker)  # as if the writer died between its files and its marker
    assert remote.fs.find(remote.key("attempts/r/r.Corridor-R3.s1"))  # the files are there
    cache("reader")
    assert episode_counts(url) == (0, 0)  # not pulled yet
    pull(open_root(url))
    assert episode_counts(url) == (7, 7)
    capsys.readouterr()
    assert main([*RUN, "--data", url]) == 0
    assert "1 episodes played, 7 already finished" in capsys.readouterr().out
    cache("last")
    pull(open_root(url))
    assert episode_counts(url) == (8, 8)


LABEL_LOOP = """
import sys
from automem_core.cli import main
author, url, *ids = sys.argv[1:]
for target in ids:  # one append (one object) per label
    assert main(["label", target, "--verdict", "good", "--author", author, "--data", url]) == 0
"""


def test_two_processes_labelling_one_s3_store_at_once_lose_no_label(s3, cache, tmp_path):
    url = f"{s3}/labels"
    assert main([*RUN, "--data", url]) == 0
    assert main(["mine", "--run", "r", "--data", url]) == 0
    cache("miner-check")
    pull(open_root(url))
    con = connect(open_root(url))
    ids = [r[0] for r in con.execute("SELECT decision_id FROM decisions ORDER BY 1").fetchall()]
    assert len(ids) >= 16
    ids = ids[:16]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", LABEL_LOOP, f"person{i}", url, *ids[i::2]],
            env={**os.environ, "AUTOMEM_CACHE": str(tmp_path / f"labeller{i}")},
            stdout=subprocess.DEVNULL,
        )
        for i in range(2)
    ]
    assert [p.wait(timeout=240) for p in procs] == [0, 0]
    cache("reader")
    assert main(["runs", "--data", url]) == 0  # pulls
    got = (
        connect(open_root(url))
        .execute(
            "SELECT count(*), count(DISTINCT target_id) FROM labels WHERE author LIKE 'person%'"
        )
        .fetchone()
    )
    assert got == (16, 16)


def test_a_proposal_reviewed_into_s3_is_approved_from_another_mirror(s3, cache, capsys):
    from automem_core.review.proposals import load_proposals
    from automem_core.scaffold import load_version

    url = f"{s3}/review"
    played = ["run", "--game", "crafter", "--seeds", "100-101", "--seed-set", "review",
              "--max-steps", "30", "--run-id", "read", "--quiet", "--data", url]  # fmt: skip
    assert main(played) == 0
    assert main(["review", "--run", "read", "--data", url]) == 0
    cache("approver")
    pull(open_root(url))
    (proposal,) = load_proposals(open_root(url)).to_dict("records")
    assert main(["approve", proposal["proposal_id"], "--reason", "ok", "--author", "ana",
                 "--data", url]) == 0  # fmt: skip
    cache("reader")
    capsys.readouterr()
    assert main(["proposals", "--data", url]) == 0
    assert "approved" in capsys.readouterr().out
    candidate = load_version(open_root(url), proposal["candidate_version"])
    assert candidate.version == proposal["candidate_version"]
    cache("gate")
    gate = ["evaluate", proposal["proposal_id"], "--gating-seeds", "200-201", "--heldout-seeds",
            "300-301", "--max-steps", "30", "--quiet", "--data", url]  # fmt: skip
    assert main(gate) == 0
    cache("after-gate")
    pull(open_root(url))
    (state,) = load_proposals(open_root(url))["event"]
    assert state == "accepted"  # the embedded players are deterministic: so is the gate
    runs = connect(open_root(url)).execute("SELECT seed_set, count(*) FROM runs GROUP BY 1")
    assert dict(runs.fetchall()) == {"review": 1, "gating": 2, "heldout": 2}


def test_commands_that_would_write_elsewhere_are_refused_in_one_line(s3, cache, capsys):
    url = f"{s3}/four"
    assert main(["upgrade", "--data", url]) == 2
    assert "cannot write to s3://automem-test/four yet" in capsys.readouterr().err


def test_an_unreachable_store_fails_in_one_line(cache, monkeypatch, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert main(["runs", "--data", "s3://nowhere/x"]) == 2
    assert "cannot read s3://nowhere/x" in capsys.readouterr().err


def test_a_local_folder_is_no_mirror(tmp_path):
    assert open_root(str(tmp_path)) == tmp_path and remote_of(tmp_path) is None


def test_a_cache_folder_that_cannot_be_used_fails_in_one_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("AUTOMEM_CACHE", str(tmp_path / "file"))
    with pytest.raises(SystemExit) as exit_:
        main(["runs", "--data", "s3://bucket/x"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "cannot keep the local copy of s3://bucket/x" in err and "Traceback" not in err


def test_a_run_on_object_storage_is_compacted_not_indexed_and_search_reads_it(s3, cache, capsys):
    """A run on object storage ends compacted through the store (store/remote_compact.py) but
    not indexed (an index would be this mirror's alone); search answers from the episodes
    themselves."""
    url = f"{s3}/five"
    assert main([*RUN, "--data", url]) == 0
    run_dir = open_root(url) / "runs" / "r"
    assert [len(p.episodes) for p in scan_run(run_dir).parts] == [8]
    assert not (run_dir / "index").exists()
    cache("reader")
    capsys.readouterr()
    assert main(["search", "wall", "--run", "r", "--data", url, "--json"]) == 0
    assert '"episode_id": "r.' in capsys.readouterr().out


def test_forks_and_causal_values_on_object_storage_read_back_from_a_fresh_mirror(s3, cache, capsys):
    """`automem fork`, `automem mine --causal` and `automem judge` over an S3 store, each from
    its own machine: another machine sees the fork runs, each fork with its parent and fork
    step, the causal values and the judge's labels, once each."""
    url = f"{s3}/forks"
    assert main([*RUN, "--data", url]) == 0
    cache("forker")
    fork = ["fork", "r.MazeWalk-9x9.s0", "--step", "2", "--run-id", "f", "--quiet"]
    assert main([*fork, "--data", url]) == 0
    cache("miner")
    causal = ["mine", "--run", "r", "--causal", "--limit", "2", "--horizon", "3"]
    assert main([*causal, "--data", url]) == 0
    out = capsys.readouterr().out
    assert "causal value" in out, out
    cache("judge")
    with LocalServer(lambda messages: '{"verdict": "good", "reason": "kept"}') as server:
        judge = ["judge", "--run", "r", "--limit", "3", "--no-alternatives"]
        model = ["--base-url", server.start(), "--model", "judge-m"]
        assert main([*judge, *model, "--data", url]) == 0
    cache("reader")
    pull(open_root(url))
    con = connect(open_root(url))
    forks = con.execute(
        "SELECT episode_id, run_id, parent_episode_id, fork_step FROM episodes "
        "WHERE fork_step IS NOT NULL"
    ).fetchall()
    assert ("f", "r.MazeWalk-9x9.s0", 2) in [f[1:] for f in forks]
    assert len(forks) == len({f[0] for f in forks}) == 1 + 2 * 2  # one fork, 2 × kept + dropped
    values = con.execute("SELECT count(*), count(DISTINCT decision_id) FROM causal_values")
    assert values.fetchone() == (2, 2)
    verdicts = read_records(open_root(url), "labels").to_pylist()
    assert [(r["source"], r["verdict"]) for r in verdicts] == [("llm:judge-m", "good")] * 3
    assert main(["runs", "--data", url]) == 0
    assert "f  [finished]" in capsys.readouterr().out
