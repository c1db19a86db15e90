"""The gate of one proposal, run in the background (as the Revisions page starts it).

Starting it runs ``automem evaluate PROPOSAL`` as its own process, with the seed sets and step
cap its loop recorded (``loop_settings.py``), and writes a small job file
(``data/gates/<proposal>.json``) so a reloaded page finds it again. While the process lives, a
second start is refused. Progress is counted from the store: the gating episodes of the
candidate and its parent published so far, of those the gate plays.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from automem_core.analysis.runs import VERSION_SQL
from automem_core.errors import AutoMemError
from automem_core.review.loop_settings import gate_seeds
from automem_core.review.proposals import latest
from automem_core.store.reader import query_store
from automem_core.store.schema import utc_now


class GateJobError(AutoMemError):
    """A gate that cannot be started; the message says why."""


@dataclass(frozen=True)
class GateJob:
    proposal_id: str
    pid: int
    started_at: str
    author: str
    log: str


@dataclass(frozen=True)
class GateProgress:
    running: bool
    done: int  # gating episodes of the candidate and its parent published so far
    planned: int
    last_line: str  # what the gate printed last (its verdict once it ended)


def job_path(root: Path, proposal_id: str) -> Path:
    return Path(root) / "gates" / f"{proposal_id}.json"


def read_job(root: Path, proposal_id: str) -> GateJob | None:
    path = job_path(root, proposal_id)
    try:
        return GateJob(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a finished child of ours is reaped here)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:  # not our child: ask the kernel
        pass
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return False


def start_gate(root: Path, proposal_id: str, author: str) -> GateJob:
    """Start the gate of an approved proposal in the background; GateJobError when it is not
    approved or its gate already runs."""
    proposal = latest(root, proposal_id)
    if proposal.event not in ("approved", "edited"):
        raise GateJobError(f"{proposal_id} is {proposal.event}: only an approved proposal is gated")
    running = read_job(root, proposal_id)
    if running is not None and alive(running.pid):
        raise GateJobError(f"the gate of {proposal_id} already runs (started {running.started_at})")
    folder = job_path(root, proposal_id).parent
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"{proposal_id}.log"
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "automem_core.cli", "evaluate", proposal_id,
             "--data", str(root), "--quiet"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    job = GateJob(proposal_id, proc.pid, utc_now(), author, str(log))
    tmp = job_path(root, proposal_id).with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(job)), encoding="utf-8")
    os.replace(tmp, job_path(root, proposal_id))
    return job


def progress(root: Path, job: GateJob) -> GateProgress:
    """How far the gate has come: episodes done of planned, and its last printed line."""
    proposal = latest(root, job.proposal_id)
    chosen = gate_seeds(root, proposal, {}, None)
    tasks = chosen.tasks or ()
    versions = [v for v in (proposal.candidate_version, proposal.parent_version) if v]
    planned = len(versions) * len(chosen.seeds["gating"]) * max(1, len(tasks))

    def count(con: duckdb.DuckDBPyConnection) -> int:
        found = con.execute(
            "SELECT count(DISTINCT episode_id) FROM episodes WHERE run_id IN "
            "(SELECT run_id FROM runs WHERE seed_set = 'gating') AND list_contains(?, seed) "
            f"AND list_contains(?, {VERSION_SQL})",
            [list(chosen.seeds["gating"]), versions],
        ).fetchone()
        return int(found[0]) if found else 0

    done = min(planned, query_store(root, count, tables=("runs", "episodes")))
    try:
        lines = Path(job.log).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    return GateProgress(alive(job.pid), done, planned, lines[-1] if lines else "")
