"""Runs and episodes as tables: versions named id@hash8, clean-only progression, and the CLI and
the Overview showing the same numbers."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from automem_core.analysis.reports import render_runs_table
from automem_core.analysis.runs import load_fork_runs, load_progression_by_version, load_runs
from automem_core.cli import main
from automem_core.run.fork import load_parent
from automem_core.run.fork_play import fork_episode
from automem_core.scaffold import load_scaffold
from automem_core.testing.fake_game import SCAFFOLD_DIR
from automem_core.testing.sample_store import play_fake_run, variant_scaffold
from dashboard import data


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory):
    """The same scaffold id with two contents, as a user who copied and edited it would have."""
    root = tmp_path_factory.mktemp("versions") / "data"
    edited = variant_scaffold(root.parent, max_plan_turns=2)
    play_fake_run(root, seeds=(0, 1), steps=6, run_id="original")
    play_fake_run(root, seeds=(0, 1), steps=6, scaffold=edited, run_id="edited")
    return root, load_scaffold(SCAFFOLD_DIR).version, load_scaffold(edited).version


def test_two_contents_of_one_id_are_two_versions_everywhere(two_versions, capsys):
    root, original, edited = two_versions
    assert original != edited and original.split("@")[0] == edited.split("@")[0]
    runs = load_runs(root).set_index("run")
    assert (runs.loc["original", "scaffold"], runs.loc["edited", "scaffold"]) == (original, edited)
    chart = load_progression_by_version(root)
    assert sorted(chart["scaffold"]) == sorted([original, edited])  # two bars, not one
    assert sorted(p.name for p in (root / "scaffolds").iterdir()) == sorted([original, edited])
    assert main(["runs", "--data", str(root)]) == 0
    out = capsys.readouterr().out
    assert f"scaffold {original}" in out and f"scaffold {edited}" in out


def test_a_stored_version_can_be_run_again_by_name(two_versions):
    root, _original, edited = two_versions
    again = play_fake_run(root, seeds=(2,), steps=4, scaffold=edited)
    runs = load_runs(root).set_index("run")
    assert runs.loc[again, "scaffold"] == edited


def test_cli_diagnostics_print_the_numbers_the_overview_shows(two_versions, capsys):
    root = two_versions[0]
    stats = data.op_stats(str(root), data.episodes_token(root)).set_index("run")
    assert main(["diagnostics", "--data", str(root), "--run", "original"]) == 0
    out = capsys.readouterr().out
    for key in ("empty_searches", "redundant_writes", "writes_never_read", "SEARCH /step"):
        value = stats.loc["original", key]
        shown = f"{value:.3f}" if key.endswith("/step") else f"{value:g}"
        assert f"    {key:<28} {shown}\n" in out


def test_stale_running_run_is_interrupted_in_the_cli_too(two_versions):
    root = two_versions[0]
    later = datetime.now(UTC) + timedelta(hours=1)
    assert set(load_runs(root, now=later)["status"]) == {"finished"}
    assert "[finished]" in render_runs_table(root)


# The per-task totals as defined before parts carried them: one pass over every episode row.
REFERENCE_TASK_STATS = """
SELECT run_id, task, count(*) AS episodes, sum(steps) AS steps,
  count(*) FILTER (WHERE status = 'ok') AS clean,
  count(*) FILTER (WHERE status = 'degraded') AS degraded,
  count(*) FILTER (WHERE status IN ('model_error', 'error')) AS failed,
  round(coalesce(sum(progression) FILTER (WHERE status = 'ok'), 0), 9) AS p_sum,
  sum(tokens_in + tokens_out) AS tokens
FROM episodes GROUP BY ALL ORDER BY ALL
"""


def test_part_totals_in_the_manifest_give_the_numbers_of_every_episode_row(tmp_path):
    from automem_core.analysis.runs import task_stats
    from automem_core.store.catalog import read_manifest, write_manifest
    from automem_core.store.derive import add_derived
    from automem_core.store.reader import connect
    from automem_core.testing.sample_store import clone_episodes

    root = tmp_path / "data"
    play_fake_run(root, tasks=("grid", "crash"), seeds=(0, 1, 2), steps=12, run_id="a")
    clone_episodes(root, "a.grid.s0", "a", 2)  # loose episodes beside the compacted part
    (part,) = read_manifest(root / "runs" / "a")
    assert part.task_stats is not None and {r["task"] for r in part.task_stats} == {"grid"}
    assert (root / "runs/a/episodes").is_dir()  # failed "crash" episodes stay loose

    def compare() -> list[tuple]:
        con = connect(root)
        got = task_stats(con)
        got["p_sum"] = got["p_sum"].round(9)
        cols = ["run_id", "task", "episodes", "steps", "clean", "degraded", "failed", "p_sum",
                "tokens"]  # fmt: skip
        rows = [tuple(r) for r in got[cols].itertuples(index=False)]
        assert rows == con.execute(REFERENCE_TASK_STATS).fetchall()
        return rows

    with_totals = compare()
    assert {r[1] for r in with_totals} == {"grid", "crash"} and any(r[6] for r in with_totals)
    write_manifest(root / "runs" / "a", [dataclasses.replace(part, task_stats=None)])
    assert compare() == with_totals  # a part written before parts carried totals
    assert add_derived(root).part_totals == 1  # `automem upgrade`
    assert add_derived(root).part_totals == 0
    assert read_manifest(root / "runs" / "a") == [part]
    assert compare() == with_totals


def test_versions_are_never_pooled_across_seed_sets_or_step_caps(tmp_path):
    play_fake_run(tmp_path, seeds=(0, 1), steps=6, run_id="gate6", seed_set="gating")
    play_fake_run(tmp_path, seeds=(0, 1), steps=9, run_id="gate9", seed_set="gating")
    play_fake_run(tmp_path, seeds=(5, 6), steps=6, run_id="held6", seed_set="heldout")
    chart = load_progression_by_version(tmp_path)
    assert sorted(chart["comparison"]) == [
        "gating seeds · 6 steps", "gating seeds · 9 steps", "heldout seeds · 6 steps",
    ]  # fmt: skip
    assert (chart["episodes"] == 2).all()  # each bar holds one run's two episodes, never more


def test_fork_runs_are_never_pooled_into_a_versions_progression(tmp_path):
    root = tmp_path / "data"
    play_fake_run(root, seeds=(0,), steps=12, run_id="p")
    asyncio.run(fork_episode(root, load_parent(root, "p.grid.s0"), 5, horizon=12, run_id="fk"))
    assert load_fork_runs(root) == {"fk"}
    chart = load_progression_by_version(root)
    assert list(chart["episodes"]) == [1]  # the parent's episode only
