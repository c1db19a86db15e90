"""The gate uses the seed sets of the loop that made a proposal, and never the seeds the reviewer
read unless told so (and then the lineage says so). Through the CLI, as a person runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from automem_core.cli import main
from automem_core.review.proposals import load_proposals
from automem_core.review.versions import load_lineage
from automem_core.store.reader import query_store

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def _runs(root: Path):
    return query_store(root, lambda con: con.execute("SELECT * FROM runs").df(), tables=("runs",))


def _gating_runs(root: Path) -> list[list[int]]:
    rows = _runs(root)
    return [sorted(s) for s in rows[rows["seed_set"] == "gating"]["seeds"]]


def test_evaluate_without_seed_flags_uses_the_loops_recorded_sets(tmp_path):
    root = tmp_path / "data"
    loop = subprocess.Popen(
        [sys.executable, "-m", "automem_core.cli", "optimize", "--game", "crafter",
         "--iterations", "1", "--review-seeds", "0-1", "--gating-seeds", "300-302",
         "--heldout-seeds", "400-401", "--max-steps", "30", "--quiet", "--data", str(root)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:  # the loop waits for a person once it proposed
            state = root / "loops" / "optimize-crafter-crafter-v0.json"
            if state.exists() and json.loads(state.read_text()).get("pending"):
                break
            time.sleep(1)
    finally:
        loop.kill()
        loop.wait()
    pid = json.loads(state.read_text())["pending"]
    assert json.loads(state.read_text())["settings"]["seeds"]["gating"] == [300, 301, 302]
    assert main(["approve", pid, "--reason", "try it", "--author", "ana", "--data", str(root)]) == 0
    main(["evaluate", pid, "--data", str(root), "--quiet"])
    assert _gating_runs(root) == [[300, 301, 302], [300, 301, 302]]  # candidate and parent
    rows = _runs(root)
    assert set(rows[rows["seed_set"] == "gating"]["max_steps"]) == {30}


def test_overlap_with_the_review_seeds_is_refused_and_with_same_seeds_marked(tmp_path, capsys):
    root = str(tmp_path / "data")
    played = ["run", "--game", "crafter", "--seeds", "100-101", "--seed-set", "review",
              "--max-steps", "30", "--run-id", "read", "--data", root, "--quiet"]  # fmt: skip
    assert main(played) == 0
    assert main(["review", "--run", "read", "--data", root]) == 0
    pid = load_proposals(Path(root))["proposal_id"].iloc[0]
    assert main(["approve", pid, "--reason", "ok", "--author", "ana", "--data", root]) == 0
    capsys.readouterr()
    code = main(["evaluate", pid, "--max-steps", "30", "--data", root, "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "seeds the reviewer read (100, 101)" in err and "--same-seeds" in err
    assert _gating_runs(Path(root)) == []  # nothing was played
    main(["evaluate", pid, "--max-steps", "30", "--same-seeds", "--data", root, "--quiet"])
    lineage = load_lineage(Path(root)).set_index("proposal_id")
    assert bool(lineage.loc[pid, "same_seeds"]) is True
    evaluations = query_store(Path(root), lambda con: con.execute(
        "SELECT count(*) FROM evaluations").fetchone()[0], tables=("evaluations",))  # fmt: skip
    assert evaluations >= 1
