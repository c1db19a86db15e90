"""Forks and causal values played on a real two-node Ray cluster started here (one CPU a node),
from the CLI: they equal what this machine plays, a budget split between the shares is never
passed, and forks of a run kept on S3 (moto's server) read back once from a fresh mirror."""

from __future__ import annotations

import shutil

import pytest

from automem_core.cli import main
from automem_core.store.reader import connect
from automem_core.store.records import read_records
from automem_core.store.remote import open_root
from automem_core.store.remote_pull import pull

ray = pytest.importorskip("ray")
pytest.importorskip("moto.server")

BUCKET = "automem-fork-ray"
PARENT = "r.MazeWalk-9x9.s0"


def played(data: str) -> None:
    args = ["run", "--game", "minihack", "--tasks", "MazeWalk-9x9", "--episodes", "2",
            "--max-steps", "12", "--run-id", "r", "--quiet", "--data", data]  # fmt: skip
    assert main(args) == 0
    assert main(["mine", "--run", "r", "--data", data]) == 0


def fork_rows(data, run_id: str) -> list[tuple]:
    """Each fork's steps as (sample, step, action), the sample read from its id's end."""
    rows = (
        connect(data)
        .execute(
            "SELECT e.episode_id, s.step, s.action FROM steps s JOIN episodes e USING (episode_id) "
            "WHERE e.run_id = ? ORDER BY 1, 2",
            [run_id],
        )
        .fetchall()
    )
    return [(eid.rsplit(".", 1)[-1], step, action) for eid, step, action in rows]


@pytest.mark.slow
def test_forks_and_causal_values_on_ray_equal_this_machines(cluster, tmp_path, capsys):
    here, there = tmp_path / "here", tmp_path / "there"
    played(str(here))
    shutil.copytree(here, there)
    fork = ["fork", PARENT, "--step", "3", "--samples", "4", "--quiet"]
    assert main([*fork, "--run-id", "f", "--data", str(here)]) == 0
    ray_flags = ["--executor", "ray", "--ray-address", cluster]
    assert main([*fork, "--run-id", "f", *ray_flags, "--data", str(there)]) == 0
    out = capsys.readouterr().out
    assert "4 forks of r.MazeWalk-9x9.s0 at step 3 played, 0 already finished" in out
    assert "(on Ray, in 2 shares)" in out  # one fork's samples go to both nodes
    assert fork_rows(there, "f") == fork_rows(here, "f") != []
    # again: every fork is already published, none is played twice
    assert main([*fork, "--run-id", "f", *ray_flags, "--data", str(there)]) == 0
    assert "0 forks of r.MazeWalk-9x9.s0 at step 3 played, 4 already finished" in (
        capsys.readouterr().out
    )

    causal = ["mine", "--run", "r", "--causal", "--limit", "4", "--horizon", "4", "--quiet"]
    assert main([*causal, "--data", str(here)]) == 0
    assert main([*causal, *ray_flags, "--data", str(there)]) == 0

    def values(root):
        rows = read_records(root, "causal_values").to_pylist()
        return sorted((r["decision_id"], r["causal_value"], r["samples"]) for r in rows)

    assert values(there) == values(here) and len(values(here)) == 4


@pytest.mark.slow
def test_an_episode_budget_on_ray_plays_what_one_process_plays(cluster, tmp_path, capsys):
    here, there = tmp_path / "here", tmp_path / "there"
    played(str(here))
    shutil.copytree(here, there)
    causal = ["mine", "--run", "r", "--causal", "--limit", "6", "--horizon", "3",
              "--budget-episodes", "5", "--quiet"]  # fmt: skip
    assert main([*causal, "--data", str(here)]) == 0
    local = capsys.readouterr().out
    ray_flags = ["--executor", "ray", "--ray-address", cluster]
    assert main([*causal, *ray_flags, "--data", str(there)]) == 0
    out = capsys.readouterr().out

    def forks(data):
        sql = "SELECT episode_id FROM episodes WHERE fork_step IS NOT NULL ORDER BY 1"
        return connect(data).execute(sql).fetchall()

    assert forks(there) == forks(here) and len(forks(here)) == 4  # two whole pairs of 5
    assert "would pass the budget of 5 episodes" in out and local.splitlines()[-1] in out


def test_a_retried_share_counts_what_its_lost_attempt_played(tmp_path):
    """A share whose forks are published but were not when the shares went out (a lost attempt
    published them) returns them as played and spent, not as already finished."""
    from automem_core.run.fork import (
        ForkSetup,
        fork_scaffold,
        load_parent,
        parent_models,
        plan_forks,
    )
    from automem_core.run.fork_edit import NO_EDIT
    from automem_core.run.fork_play import ForkBudget
    from automem_core.run.fork_ray import _spec, play_fork_share

    data = tmp_path / "store"
    played(str(data))
    assert main(["fork", PARENT, "--step", "3", "--samples", "2", "--run-id", "f", "--quiet",
                 "--data", str(data)]) == 0  # fmt: skip
    parent = load_parent(data, PARENT)
    base = ForkSetup("", "minihack", fork_scaffold(data, parent, None), *parent_models(parent))
    setup, jobs, _ = plan_forks(parent, 3, NO_EDIT, None, 2, "f", base)
    share = [[_spec(job)] for job in jobs]
    lost = play_fork_share(str(data), setup, share, ForkBudget(), 2, frozenset())
    assert sorted(r.episode_id for r in lost.rows) == sorted(j.fork_id for j in jobs)
    assert (lost.skipped, lost.spent_episodes) == (0, 2)
    ids = frozenset(j.fork_id for j in jobs)
    before = play_fork_share(str(data), setup, share, ForkBudget(), 2, ids)
    assert (before.rows, before.skipped, before.spent_episodes) == ([], 2, 0)


@pytest.mark.slow
def test_forks_on_ray_into_s3_read_back_once_from_a_fresh_mirror(cluster, tmp_path, monkeypatch):
    url = f"s3://{BUCKET}/forks"
    monkeypatch.setenv("AUTOMEM_CACHE", str(tmp_path / "driver"))
    played(url)
    fork = ["fork", PARENT, "--step", "2", "--samples", "4", "--run-id", "f", "--quiet",
            "--executor", "ray", "--ray-address", cluster, "--data", url]  # fmt: skip
    assert main(fork) == 0
    monkeypatch.setenv("AUTOMEM_CACHE", str(tmp_path / "reader"))
    pull(open_root(url))
    counts = (
        connect(open_root(url))
        .execute("SELECT count(*), count(DISTINCT episode_id) FROM episodes WHERE run_id = 'f'")
        .fetchone()
    )
    assert counts == (4, 4)


def test_ray_flags_where_they_do_nothing_are_refused_in_one_line(tmp_path, capsys):
    data = str(tmp_path / "store")
    assert main(["mine", "--run", "r", "--executor", "ray", "--data", data]) == 2
    assert "--executor plays the forks of --causal" in capsys.readouterr().err
    assert main(["mine", "--run", "r", "--ray-address", "head:6379", "--data", data]) == 2
    assert "--ray-address needs --executor ray" in capsys.readouterr().err
    fork = ["fork", PARENT, "--step", "2", "--ray-address", "head:6379", "--data", data]
    assert main(fork) == 2
    assert "--ray-address needs --executor ray" in capsys.readouterr().err
