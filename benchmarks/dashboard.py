"""Replay page speed, server side: first load and step change, 1 000- vs 10 000-step episodes.

Plays both episodes with the real runner (the fake game of ``automem_core.testing`` and its
embedded player, tty frames) in a temporary folder, then drives the real page with Streamlit's
AppTest and times each script run
(query + render). A first load starts from empty caches; a step change is a jump to a random
step with the per-step caches emptied first (the worst case: nothing of any step is cached, so a
longer episode gets no advantage or penalty from cache hits) or a press of "next" (warm).
Goals: first load ≤ 2 s, step change p95 ≤ 200 ms, and no growth with the episode's length
(ratio 10k / 1k ≈ 1).

    .venv/bin/python benchmarks/dashboard.py [--changes 30] [--loads 5]
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
logging.disable(logging.WARNING)  # Streamlit's "no runtime" notes outside a server

import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from automem_core.testing.sample_store import play_fake_run  # noqa: E402
from dashboard import data  # noqa: E402

APP = str(REPO / "dashboard" / "app.py")
LENGTHS = (1_000, 10_000)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def open_replay(run_id: str, steps: int, step: int = 0) -> tuple[AppTest, float]:
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params = {
        "run": run_id,
        "episode": f"{run_id}.grid.s0",
        "step": str(step),
    }
    t0 = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - t0
    if at.exception:
        raise RuntimeError(at.exception[0].value)
    assert at.number_input(key="replay.w_goto").value == step, "the deep link did not open"
    return at, elapsed


def timed_run(at: AppTest) -> float:
    t0 = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - t0
    if at.exception:
        raise RuntimeError(at.exception[0].value)
    return elapsed


def measure(run_id: str, steps: int, loads: int, changes: int) -> dict[str, list[float]]:
    rng = random.Random(steps)
    first = []
    for _ in range(loads):
        st.cache_data.clear()
        st.cache_resource.clear()
        first.append(open_replay(run_id, steps)[1])
    at, _ = open_replay(run_id, steps)
    jump, step_next = [], []
    for target in (rng.randrange(steps) for _ in range(changes)):
        data.forget_steps()  # cold: no row group or memory state of any step cached
        at.number_input(key="replay.w_goto").set_value(target)
        jump.append(timed_run(at))
        assert at.number_input(key="replay.w_goto").value == target
    at.number_input(key="replay.w_goto").set_value(rng.randrange(steps - changes - 1)).run()
    for _ in range(changes):
        at.button(key="replay.next").click()
        step_next.append(timed_run(at))
    return {"first load": first, "random jump": jump, "next step": step_next}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=30, help="step changes timed per length")
    parser.add_argument("--loads", type=int, default=5, help="first loads timed per length")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="automem-bench-") as tmp:
        root = Path(tmp)
        os.environ["AUTOMEM_DATA"] = str(root)
        runs = {}
        for steps in LENGTHS:
            t0 = time.perf_counter()
            runs[steps] = play_fake_run(root, steps=steps, run_id=f"bench-{steps}")
            print(f"played a {steps:,}-step episode in {time.perf_counter() - t0:.1f} s")
        open_replay(runs[LENGTHS[0]], LENGTHS[0])  # warm up imports
        results = {n: measure(runs[n], n, args.loads, args.changes) for n in LENGTHS}
    report(results)


def report(results: dict[int, dict[str, list[float]]]) -> None:
    small, large = (results[n] for n in LENGTHS)
    print(f"\n{'replay page, server side':<26}{'steps':>8}{'p50 ms':>10}{'p95 ms':>10}")
    for what in small:
        for n in LENGTHS:
            values = results[n][what]
            print(
                f"{what:<26}{n:>8,}{1000 * pct(values, 0.5):>10.0f}"
                f"{1000 * pct(values, 0.95):>10.0f}"
            )
    print("\nratio 10k / 1k (p50, p95):")
    for what in small:
        r50 = pct(large[what], 0.5) / pct(small[what], 0.5)
        r95 = pct(large[what], 0.95) / pct(small[what], 0.95)
        print(f"  {what:<24}{r50:>6.2f}{r95:>7.2f}")
    first = max(pct(r["first load"], 0.95) for r in results.values())
    change = max(pct(r[k], 0.95) for r in results.values() for k in ("random jump", "next step"))
    growth = pct(large["random jump"], 0.5) / pct(small["random jump"], 0.5)
    print("\ngoals:")
    print(f"  first load p95 ≤ 2 s:        {first:.2f} s  {'met' if first <= 2 else 'MISSED'}")
    print(
        f"  step change p95 ≤ 200 ms:    {1000 * change:.0f} ms  "
        f"{'met' if change <= 0.2 else 'MISSED'}"
    )
    print(f"  no growth with length (≤1.5): {growth:.2f}  {'met' if growth <= 1.5 else 'MISSED'}")


if __name__ == "__main__":
    main()
