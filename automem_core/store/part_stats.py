"""Per task, the totals of a compacted part's episodes, kept in the run's manifest.

``automem runs`` and the Overview show, per run and task, episodes by status, the clean
episodes' progression sums, steps, tokens and time. Reading them from every part's episodes file
costs a file open per run; a part never changes once written, so its totals are computed once by
the compaction and stored beside it in the manifest, where the catalog already looks. The
definitions are those of ``TASK_STATS_SQL`` in ``analysis/runs.py``, which adds these rows to
the same sums over the episodes not in such a part (a test keeps the two equal).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

# One row per (part, task); the run id is the manifest's run.
COLUMNS = pa.schema(
    [
        ("run_id", pa.string()),
        ("task", pa.string()),
        ("game", pa.string()),
        ("scaffold_id", pa.string()),
        ("scaffold_hash", pa.string()),
        ("memory_client", pa.string()),
        ("episodes", pa.int64()),
        ("steps", pa.int64()),
        ("clean", pa.int64()),
        ("degraded", pa.int64()),
        ("failed", pa.int64()),
        ("p_sum", pa.float64()),
        ("p_sumsq", pa.float64()),
        ("tokens", pa.int64()),
        ("wall_s", pa.float64()),
    ]
)
_KEPT = ("game", "scaffold_id", "scaffold_hash", "memory_client")  # the first episode's


def part_task_stats(episodes: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per task (sorted), the totals of ``episodes`` (episode rows as dicts)."""
    out: dict[str, dict[str, Any]] = {}
    for row in episodes:
        task = str(row["task"])
        acc = out.get(task)
        if acc is None:
            acc = out[task] = {"task": task, **{k: row[k] for k in _KEPT}}
            acc.update(episodes=0, steps=0, clean=0, degraded=0, failed=0, p_sum=0.0,
                       p_sumsq=0.0, tokens=0, wall_s=0.0)  # fmt: skip
        status, progression = row["status"], float(row["progression"])
        acc["episodes"] += 1
        acc["steps"] += int(row["steps"])
        acc["clean"] += status == "ok"
        acc["degraded"] += status == "degraded"
        acc["failed"] += status in ("model_error", "error")
        if status == "ok":
            acc["p_sum"] += progression
            acc["p_sumsq"] += progression * progression
        acc["tokens"] += int(row["tokens_in"]) + int(row["tokens_out"])
        acc["wall_s"] += float(row["wall_s"])
    return [out[t] for t in sorted(out)]


def stats_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows of :func:`part_task_stats`, each with its ``run_id``, as an Arrow table."""
    return pa.Table.from_pylist(rows, schema=COLUMNS)
