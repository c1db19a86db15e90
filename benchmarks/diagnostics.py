"""The whole diagnostics suite over a store of ≥ 1 million steps (copies of a played episode,
written through the store's writer): time per million steps and peak memory, beside the
baseline of merely reading the same rows. Goal: ≤ 2 s per million steps.

    .venv/bin/python benchmarks/diagnostics.py [--cache /tmp/automem-store-scale] [--runs 10]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from loop_queries import baseline_s, in_process
from stores import cloned_store

DIAGNOSTICS = """
import sys, time
from pathlib import Path
from automem_core.analysis.diagnostics import store_diagnostics
t0 = time.perf_counter()
table = store_diagnostics(Path(sys.argv[1]))
print(time.perf_counter() - t0, int(table["steps"].sum()))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/automem-store-scale"))
    parser.add_argument("--runs", type=int, default=10, help="runs of 100 × 1 000 steps")
    args = parser.parse_args()
    root = cloned_store(args.cache / f"cloned-{args.runs}", args.runs)
    seconds, steps, peak = (float(x) for x in in_process(DIAGNOSTICS, root))
    base = baseline_s(root)
    per_million = seconds / (steps / 1e6)
    print(f"diagnostics over {steps:,.0f} steps: {seconds:.1f} s, peak memory {peak:,.0f} MiB")
    print(f"  per million steps: {per_million:.2f} s (goal ≤ 2 s): "
          f"{'met' if per_million <= 2 else 'MISSED'}")  # fmt: skip
    print(f"  baseline (reading the same rows): {base:.1f} s; ratio {seconds / base:.1f}×")


if __name__ == "__main__":
    main()
