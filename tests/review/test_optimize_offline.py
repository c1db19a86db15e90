"""Loop 1 offline, end to end: `automem optimize --auto-approve` with the embedded backend and the
embedded reviewer proposes, gates, accepts at least one version and reports it on held-out seeds;
killed half way, the same command resumes and plays nothing twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from automem_core.analysis.runs import load_episodes, load_run_rows
from automem_core.cli import main
from automem_core.review.optimize import state_path
from automem_core.review.proposals import load_proposals
from automem_core.review.versions import load_lineage
from automem_core.store.reader import query_store

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
LOOP = [
    "optimize", "--game", "crafter", "--iterations", "3", "--auto-approve",
    "--review-seeds", "0-1", "--gating-seeds", "100-107", "--heldout-seeds", "200-201",
    "--max-steps", "100", "--quiet",
]  # fmt: skip
LOOP_ID = "optimize-crafter-crafter-v0"


def _evaluations(root: Path):
    return query_store(root, lambda con: con.execute(
        "SELECT * FROM evaluations ORDER BY created_at").df(), tables=("evaluations",))  # fmt: skip


def _played(root: Path) -> dict[str, int]:
    """Episodes published per run (a replayed episode would be published twice)."""
    episodes = load_episodes(root)
    return episodes.groupby("run_id")["episode_id"].count().to_dict()


def test_optimize_offline_accepts_and_declines_then_reports_held_out(tmp_path, capsys):
    root = tmp_path / "data"
    assert main([*LOOP, "--data", str(root)]) == 0
    out = capsys.readouterr().out
    proposals = load_proposals(root).set_index("proposal_id")
    assert "accepted" in set(proposals["event"]), out
    assert "declined" in set(proposals["event"]), "some proposals must not raise progression"
    evaluations = _evaluations(root)
    gates = evaluations[evaluations["seed_set"] == "gating"]
    assert set(gates["verdict"]) == {"accepted", "declined"}
    assert (gates["pairs"] == 8).all() and (gates["dropped_pairs"] == 0).all()
    accepted = gates[gates["verdict"] == "accepted"]
    assert (accepted["delta"] > 0).all() and (
        gates[gates["verdict"] == "declined"]["delta"] <= 0
    ).all()
    held = evaluations[evaluations["seed_set"] == "heldout"]
    assert set(held["version"]) == set(accepted["version"])
    lineage = load_lineage(root).set_index("version")
    assert "base" in set(lineage["status"]) and "accepted" in set(lineage["status"])
    for version in accepted["version"]:
        assert lineage.loc[version, "heldout"] == pytest.approx(
            float(held.loc[held["version"] == version, "mean"].iloc[0]))  # fmt: skip
    # the seed sets stayed apart: every run played one set's seeds only
    runs = load_run_rows(root)
    assert set(runs["seed_set"]) == {"review", "gating", "heldout"}
    state = json.loads(state_path(root, LOOP_ID).read_text())
    assert state["finished"] and state["current"] in set(accepted["version"])
    assert main(["versions", "--data", str(root)]) == 0
    table = capsys.readouterr().out
    assert "accepted" in table and "declined" in table


def test_a_killed_optimize_resumes_where_it_stopped(tmp_path):
    root = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "automem_core.cli", *LOOP, "--data", str(root)]
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)  # fmt: skip
    deadline = time.monotonic() + 240
    path = state_path(root, LOOP_ID)
    while time.monotonic() < deadline:  # kill it once it is past its first gate
        if path.exists() and json.loads(path.read_text())["iteration"] >= 1:
            break
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        time.sleep(0.2)
    else:
        pytest.fail("the loop did not finish an iteration in time")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    before = _played(root)
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "resuming optimize-crafter-crafter-v0 at iteration 2" in done.stdout
    after = _played(root)
    runs = load_run_rows(root).set_index("run_id")
    for run_id, count in after.items():  # finished episodes were not played again
        assert count == runs.loc[run_id, "episodes_planned"], run_id
        assert count >= before.get(run_id, 0)
    state = json.loads(path.read_text())
    assert state["finished"] and state["iteration"] >= 2
    events = load_proposals(root)["event"]
    assert "accepted" in set(events) and (events == "proposed").sum() == 0
