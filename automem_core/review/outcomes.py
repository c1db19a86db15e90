"""What became of proposals, read back for the people deciding on them: the evaluation records
of a proposal, its paired results per (task, seed) marked fixed / improved / same / regressed,
the run a cited episode belongs to, a person's edited patch parsed, and the loops still running.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from automem_core.review.optimize import LoopState, load_state
from automem_core.review.proposal import ProposalError
from automem_core.store.reader import query_store

PairOutcome = Literal["fixed", "improved", "same", "regressed"]
PAIR_OUTCOMES: tuple[PairOutcome, ...] = ("fixed", "improved", "same", "regressed")
PAIR_COLUMNS = ["task", "seed", "parent", "candidate", "delta", "outcome"]


def load_evaluations(root: Path, proposal_id: str | None = None) -> pd.DataFrame:
    """Evaluation records (of one proposal when given), oldest first."""
    where, args = ("WHERE proposal_id = ?", [proposal_id]) if proposal_id else ("", [])
    sql = f"SELECT * FROM evaluations {where} ORDER BY created_at"
    return query_store(root, lambda con: con.execute(sql, args).df(), tables=("evaluations",))


def paired_results(pairs_json: str) -> pd.DataFrame:
    """An evaluation's pairs per (task, seed): parent and candidate progression (×100), their
    difference and what the candidate did to the pair: ``fixed`` (the parent made no progress,
    the candidate did), ``improved``, ``same`` or ``regressed``."""
    rows: list[dict[str, Any]] = json.loads(pairs_json or "[]")
    found = pd.DataFrame(rows, columns=["task", "seed", "candidate", "parent"])
    found["delta"] = found["candidate"] - found["parent"]
    found["outcome"] = np.select(
        [(found["parent"] <= 0) & (found["candidate"] > 0), found["delta"] > 0, found["delta"] < 0],
        ["fixed", "improved", "regressed"],
        "same",
    )
    return found[PAIR_COLUMNS].sort_values(["task", "seed"], ignore_index=True)


def outcome_counts(pairs: pd.DataFrame) -> dict[PairOutcome, int]:
    """How many pairs of each outcome (every outcome named, zero included)."""
    counts = pairs["outcome"].value_counts()
    return {o: int(counts.get(o, 0)) for o in PAIR_OUTCOMES}


def cited_run(episode_id: str, runs: Sequence[str]) -> str | None:
    """The run of ``runs`` a cited episode belongs to (its id is ``<run>.<task>.s<seed>``)."""
    owners = [r for r in runs if episode_id.startswith(f"{r}.")]
    return max(owners, key=len) if owners else None


def parse_patch(text: str) -> list[dict[str, Any]]:
    """A person's edit of a patch: a non-empty JSON list of RFC 6902 operations (objects)."""
    try:
        patch = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProposalError(f"the patch is not JSON: {exc}") from None
    if not isinstance(patch, list) or not patch:
        raise ProposalError('the patch must be a non-empty JSON list of operations ([{"op": …}])')
    bad = [i for i, op in enumerate(patch) if not isinstance(op, dict)]
    if bad:
        raise ProposalError(f"operation {bad[0]} of the patch is not a JSON object")
    return patch


def load_loops(root: Path) -> list[LoopState]:
    """Every ``automem optimize`` loop's saved state under ``root`` (by loop id)."""
    folder = Path(root) / "loops"
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    found = []
    for path in paths:
        try:
            state = load_state(root, path.stem)
        except (OSError, ValueError, TypeError):  # written by hand, or by another version
            continue
        if state is not None:
            found.append(state)
    return found
