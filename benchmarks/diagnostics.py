"""The whole diagnostics suite over a store of ≥ 1 million steps (copies of a played episode,
written through the store's writer): time per million steps and peak memory, beside the
baseline of merely reading the same rows. Goal: ≤ 2 s per million steps.

Two paths are timed. The suite as the dashboard, the CLI and the reviewer run it reads the
summary the writer keeps in each episode's row (``load_diagnostics``); the reference recomputes
every diagnostic from the step and op logs in SQL (``store_diagnostics``), which is how the
summaries are checked and what a store written without them would cost.

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


SUITE = """
import sys, time
from pathlib import Path
from automem_core.analysis.diagnostics import load_diagnostics
t0 = time.perf_counter()
tables = load_diagnostics(Path(sys.argv[1]))
print(time.perf_counter() - t0, int(tables["episodes"]["steps"].sum()))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/automem-store-scale"))
    parser.add_argument("--runs", type=int, default=10, help="runs of 100 × 1 000 steps")
    args = parser.parse_args()
    root = cloned_store(args.cache / f"cloned-{args.runs}", args.runs)
    base = baseline_s(root)
    print(f"baseline (reading every op result and observation): {base:.1f} s")
    for label, code in (("suite (episode summaries)", SUITE),
                        ("reference (recomputed from the logs)", DIAGNOSTICS)):  # fmt: skip
        seconds, steps, peak = (float(x) for x in in_process(code, root))
        per_million = seconds / (steps / 1e6)
        print(f"{label} over {steps:,.0f} steps: {seconds:.2f} s, peak memory {peak:,.0f} MiB")
        print(f"  per million steps: {per_million:.2f} s (goal ≤ 2 s): "
              f"{'met' if per_million <= 2 else 'MISSED'}; ratio to baseline "
              f"{seconds / base:.2f}×")  # fmt: skip


if __name__ == "__main__":
    main()
