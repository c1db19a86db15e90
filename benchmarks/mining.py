"""Mining signals over a store of ≥ 1 million steps (copies of a played episode, written
through the store's writer): time per million steps and peak memory, beside the baseline of
merely reading the same rows. Goal: ≤ 5 s per million steps.

    .venv/bin/python benchmarks/mining.py [--cache /tmp/automem-store-scale] [--runs 10]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from loop_queries import baseline_s, in_process
from stores import cloned_store

MINING = """
import sys, time
from pathlib import Path
from automem_core.analysis.decisions import mine_decisions
from automem_core.store.catalog import scan
from automem_core.store.reader import query_store
root = Path(sys.argv[1])
t0 = time.perf_counter()
found = steps = 0
for run in scan(root):
    tables = ("runs", "episodes", "turns", "memory_ops", "steps")
    table = query_store(root, lambda con: mine_decisions(con, [run.run_id]), tables=tables,
                        run_ids=[run.run_id])
    found += len(table)
    steps += query_store(root, lambda con: con.execute("SELECT count(*) FROM steps").fetchone()[0],
                         tables=("steps",), run_ids=[run.run_id])
print(time.perf_counter() - t0, steps, found)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/automem-store-scale"))
    parser.add_argument("--runs", type=int, default=10, help="runs of 100 × 1 000 steps")
    args = parser.parse_args()
    root = cloned_store(args.cache / f"cloned-{args.runs}", args.runs)
    seconds, steps, decisions, peak = (float(x) for x in in_process(MINING, root))
    base = baseline_s(root)
    per_million = seconds / (steps / 1e6)
    print(f"mined {decisions:,.0f} decisions from {steps:,.0f} steps: {seconds:.1f} s, "
          f"peak memory {peak:,.0f} MiB")  # fmt: skip
    print(f"  per million steps: {per_million:.2f} s (goal ≤ 5 s): "
          f"{'met' if per_million <= 5 else 'MISSED'}")  # fmt: skip
    print(f"  baseline (reading the same rows): {base:.1f} s; ratio {seconds / base:.1f}×")


if __name__ == "__main__":
    main()
