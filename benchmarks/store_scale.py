"""Does the store stay interactive as it grows? Stores of 100, 1 000 and 10 000 episodes of 50
steps (played by the real runner, fake game, runs of 100) and one of 10 million steps (10 000
episodes of 1 000 steps, copies of a played episode through the store's writer).

Per store, server side (medians): ``automem runs`` (its table, in process), the Overview's first
load and the Replay page's first load (a deep link) with empty caches (Streamlit's AppTest), and
how many files the views read. The baseline is the 100-episode store, measured in the same run:
the growth ratio 10 000 / 100 shows whether a cost follows the store or the page.
Goals at 10 000 episodes: runs ≤ 1 s, Overview ≤ 2 s, Replay first load ≤ 1 s, ratio ≤ 2; the
diagnostics over 10 M steps stay under 1 GB of memory.

    .venv/bin/python benchmarks/store_scale.py [--cache /tmp/automem-store-scale] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import streamlit as st
from stores import REPO, cloned_store, played_store
from streamlit.testing.v1 import AppTest

from automem_core.analysis.reports import render_runs_table
from automem_core.store.catalog import scan
from automem_core.store.reader import view_files

APP = str(REPO / "dashboard" / "app.py")
SIZES = (100, 1_000, 10_000)


def median_s(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def page_load(root: Path, **params: str) -> None:
    st.cache_data.clear()
    st.cache_resource.clear()
    os.environ["AUTOMEM_DATA"] = str(root)
    at = AppTest.from_file(APP, default_timeout=600)
    at.query_params = params
    at.run()
    if at.exception:
        raise RuntimeError(at.exception[0].value)


def deep_link(root: Path) -> dict[str, str]:
    run = scan(root)[-1]
    part = run.parts[0] if run.parts else None
    episode = part.episodes[len(part.episodes) // 2] if part else next(iter(run.loose))
    return {"run": run.run_id, "episode": episode, "step": "7"}


def measure(root: Path, repeat: int) -> dict[str, float]:
    page_load(root)  # imports and the first Streamlit start-up are not the store's cost
    files = sum(len(f) for f in view_files(root).files.values())
    return {
        "files read by the views": files,
        "automem runs (s)": median_s(lambda: render_runs_table(root), repeat),
        "Overview first load (s)": median_s(lambda: page_load(root), repeat),
        "Replay first load (s)": median_s(lambda: page_load(root, **deep_link(root)), repeat),
    }


DIAG = """
import resource, sys, time
from pathlib import Path
from automem_core.analysis.diagnostics import store_diagnostics
t0 = time.perf_counter()
table = store_diagnostics(Path(sys.argv[1]))
print(time.perf_counter() - t0, int(table["steps"].sum()),
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def diagnostics(root: Path) -> tuple[float, int, float]:
    """(seconds, steps, peak MiB) of the whole diagnostics suite, in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", DIAG, str(root)], env=env, capture_output=True, text=True
    )
    if out.returncode:
        raise RuntimeError(out.stderr)
    seconds, steps, kib = out.stdout.split()
    return float(seconds), int(steps), int(kib) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/automem-store-scale"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--big-runs", type=int, default=100, help="runs of 100 × 1 000 steps")
    args = parser.parse_args()
    results = {}
    for size in SIZES:
        print(f"store of {size:,} episodes:", flush=True)
        root = played_store(args.cache / f"played-{size}", size)
        results[f"{size:,} episodes"] = measure(root, args.repeat)
        print(f"  {results[f'{size:,} episodes']}", flush=True)
    print(f"store of {args.big_runs * 100_000:,} steps:", flush=True)
    big = cloned_store(args.cache / f"cloned-{args.big_runs}", args.big_runs)
    results[f"{args.big_runs * 100:,} × 1 000 steps"] = measure(big, args.repeat)
    report(results)
    seconds, steps, peak = diagnostics(big)
    print(
        f"\ndiagnostics over {steps:,} steps: {seconds:.1f} s "
        f"({seconds / (steps / 1e6):.2f} s per million steps), peak memory {peak:,.0f} MiB "
        f"(goal < 1 024 MiB): {'met' if peak < 1024 else 'MISSED'}"
    )
    mine = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(this process peaked at {mine:,.0f} MiB)")


def report(results: dict[str, dict[str, float]]) -> None:
    names = list(results)
    keys = list(results[names[0]])
    print(f"\n{'':<30}" + "".join(f"{n:>24}" for n in names))
    for key in keys:
        print(f"{key:<30}" + "".join(f"{results[n][key]:>24.3g}" for n in names))
    small, large = results[names[0]], results[names[2]]
    print("\ngrowth ratio 10 000 / 100 episodes (goal ≤ 2):")
    for key in keys[1:]:
        ratio = large[key] / small[key]
        print(f"  {key:<28} {ratio:5.2f}  {'met' if ratio <= 2 else 'MISSED'}")
    goals = {"automem runs (s)": 1.0, "Overview first load (s)": 2.0, "Replay first load (s)": 1.0}
    print("\nat 10 000 episodes:")
    for key, goal in goals.items():
        value = large[key]
        verdict = "met" if value <= goal else "MISSED"
        print(f"  {key:<28} {value:6.2f} s  (goal ≤ {goal:g} s) {verdict}")


if __name__ == "__main__":
    main()
