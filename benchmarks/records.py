"""Reading a record table after many appends: merged vs unmerged.

Every label is its own append (one small file). Unmerged, reading the labels opens every file;
merged (on their own as they are appended, or into one file by ``automem compact``), a read opens
a few. The same labels are read three ways in the same run, each timed as the best of ``--reads``:

- ``read_records`` (Arrow, what exports and the dashboard's tables use);
- DuckDB through ``store/reader.py``: the current label of each decision (the decisions page's
  query shape) over the ``labels`` view.

It also prints what merging on append costs the appends themselves.

    python benchmarks/records.py [--appends 100000] [--reads 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from automem_core.store.reader import query_store  # noqa: E402
from automem_core.store.record_rows import LabelRow  # noqa: E402
from automem_core.store.records import (  # noqa: E402
    append_records,
    compact_records,
    read_records,
    record_files,
)

CURRENT = """
SELECT count(*) FROM (
  SELECT target_id, arg_max(verdict, created_at) AS verdict FROM labels GROUP BY target_id
)
"""


def label(i: int) -> LabelRow:
    return LabelRow(
        f"label-{i:07d}", "decision", f"d{i % 5000}", ("good", "bad", "unsure")[i % 3], "",
        f"person{i % 4}", "human", "fake-v0@1", 0, 0, 0.0, f"2025-01-01T00:00:{i % 60:02d}",
    )  # fmt: skip


def append_all(root: Path, n: int, merge: bool) -> float:
    """Append ``n`` labels one at a time; seconds taken."""
    start = time.perf_counter()
    for i in range(n):
        append_records(root, "labels", [label(i)], merge=merge)
        if (i + 1) % 10_000 == 0:
            print(f"    {i + 1} appends", flush=True)
    return time.perf_counter() - start


def best(reads: int, fn: Callable[[], object]) -> tuple[float, object]:
    times, out = [], None
    for _ in range(reads):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def measure(root: Path, reads: int, n: int) -> dict[str, float]:
    arrow_s, table = best(reads, lambda: read_records(root, "labels"))
    assert len(table) == n, f"{len(table)} labels read, {n} written"  # type: ignore[arg-type]
    sql_s, current = best(
        reads,
        lambda: query_store(root, lambda c: c.execute(CURRENT).fetchone()[0], tables=("labels",)),
    )
    assert current == min(n, 5000), current
    return {"files": len(record_files(root, "labels")), "arrow_s": arrow_s, "sql_s": sql_s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--appends", type=int, default=100_000)
    ap.add_argument("--reads", type=int, default=3)
    args = ap.parse_args()
    n = args.appends
    with tempfile.TemporaryDirectory() as tmp:
        plain, auto = Path(tmp) / "plain", Path(tmp) / "auto"
        print(f"{n} appends, each merging nothing:", flush=True)
        plain_s = append_all(plain, n, merge=False)
        print(f"{n} appends, each merging when a level is full:", flush=True)
        auto_s = append_all(auto, n, merge=True)
        print("reading…", flush=True)
        results = {
            "unmerged": measure(plain, 1, n),
            "merged on append": measure(auto, args.reads, n),
        }
        start = time.perf_counter()
        compact_records(plain, "labels")
        compact_s = time.perf_counter() - start
        results["merged by compact"] = measure(plain, args.reads, n)
    base = results["unmerged"]
    print(f"\nreading {n} labels appended one at a time")
    print(f"{'':<20}{'files':>8}{'read_records':>14}{'ratio':>8}{'current (SQL)':>15}{'ratio':>8}")
    for name, r in results.items():
        arrow, sql = base["arrow_s"] / r["arrow_s"], base["sql_s"] / r["sql_s"]
        print(
            f"{name:<20}{r['files']:>8}{r['arrow_s']:>13.3f}s{arrow:>7.0f}×"
            f"{r['sql_s']:>14.3f}s{sql:>7.0f}×"
        )
    print(
        f"\nappends: {n / plain_s:.0f}/s unmerged, {n / auto_s:.0f}/s merging on append "
        f"(ratio {plain_s / auto_s:.2f}); `automem compact` of the unmerged table: {compact_s:.1f}s"
    )


if __name__ == "__main__":
    main()
