"""Mining runs: their decisions, with signals and scores, appended to the ``decisions`` records.

Traces come from seeds disjoint from evaluation seeds: mining refuses a run whose (game, task,
seed) episodes overlap any run recorded with the ``gating`` or ``heldout`` seed set, unless told
``allow_overlap``, and says which seeds overlap. Mining a run again appends its decisions again;
the latest row per decision id is current.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from automem_core.analysis.decisions import MINING_TABLES, PROGRESS_WINDOW, iter_decisions
from automem_core.errors import AutoMemError
from automem_core.store.reader import connect, query_store
from automem_core.store.records import append_record_tables
from automem_core.store.schema import utc_now


class MiningError(AutoMemError, ValueError):
    """Runs that cannot be mined as asked; the message says why and what to do."""


@dataclass(frozen=True)
class MiningResult:
    runs: list[str]
    decisions: int
    by_phase: dict[str, int]


def _overlaps(con: duckdb.DuckDBPyConnection, run_ids: Sequence[str]) -> list[tuple[Any, ...]]:
    """(run, game, task, seed, evaluation run) for every mined episode an evaluation set holds."""
    con.register("_mined", pa.table({"run_id": pa.array(list(run_ids), pa.string())}))
    found = con.execute(
        """
        SELECT DISTINCT m.run_id, m.game, m.task, m.seed, g.run_id
        FROM episodes m
        JOIN (SELECT e.run_id, e.game, e.task, e.seed FROM episodes e JOIN runs r USING (run_id)
              WHERE r.seed_set IN ('gating', 'heldout')) g
          ON g.game = m.game AND g.task = m.task AND g.seed = m.seed
        WHERE m.run_id IN (SELECT run_id FROM _mined) AND g.run_id <> m.run_id
        ORDER BY 1, 2, 3, 4
        """
    ).fetchall()
    con.unregister("_mined")
    return found


def _describe(overlaps: list[tuple[Any, ...]]) -> str:
    seeds: dict[tuple[str, str, str], set[int]] = {}
    for run_id, _game, task, seed, other in overlaps:
        seeds.setdefault((run_id, task, other), set()).add(int(seed))
    parts = [
        f"{run_id} {task} seeds {','.join(map(str, sorted(s)))} (in {other})"
        for (run_id, task, other), s in sorted(seeds.items())
    ]
    return "; ".join(parts[:4]) + (f"; and {len(parts) - 4} more" if len(parts) > 4 else "")


def mine(
    root: Path, run_ids: Sequence[str], allow_overlap: bool = False, k: int = PROGRESS_WINDOW
) -> MiningResult:
    """Mine ``run_ids`` into decision records; MiningError when a run is missing or its seeds
    overlap a gating or held-out run (unless ``allow_overlap``)."""

    def query(con: duckdb.DuckDBPyConnection) -> MiningResult:
        # Views over only the runs it needs: the mined ones, and evaluation runs' episodes for
        # the overlap check (so mining a run costs the same in a small store as in a big one).
        connect(root, con, tables=("runs",))
        evaluation = [
            r
            for (r,) in con.execute(
                "SELECT run_id FROM runs WHERE seed_set IN ('gating', 'heldout')"
            ).fetchall()
        ]
        connect(root, con, tables=("episodes",), run_ids=[*run_ids, *evaluation])
        logs = [t for t in MINING_TABLES if t != "episodes"]  # of the mined runs only
        connect(root, con, tables=logs, run_ids=run_ids)
        known = {r for (r,) in con.execute("SELECT DISTINCT run_id FROM episodes").fetchall()}
        missing = [r for r in run_ids if r not in known]
        if missing:
            raise MiningError(f"no episodes of run {missing[0]!r}; see `automem runs`")
        overlaps = _overlaps(con, run_ids)
        if overlaps and not allow_overlap:
            raise MiningError(
                "mining seeds that an evaluation set uses would train on what is measured: "
                f"{_describe(overlaps)}; mine other seeds, or pass --allow-overlap"
            )
        mined_at = utc_now()
        phases: dict[str, int] = {}

        def stamped() -> Iterator[pa.Table]:
            for part in iter_decisions(con, run_ids, k):
                for p in pc.value_counts(part["phase"]).to_pylist():
                    phases[str(p["values"])] = phases.get(str(p["values"]), 0) + p["counts"]
                yield part.append_column("mined_at", pa.array([mined_at] * len(part)))

        _, rows = append_record_tables(root, "decisions", stamped())
        return MiningResult(list(run_ids), rows, phases)

    return query_store(root, query, tables=())
