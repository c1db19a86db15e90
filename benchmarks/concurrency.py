"""Steps per second with N concurrent MiniHack episodes against a model that answers after 100 ms.

The ideal is N ÷ (seconds of model wait per step): with one LOG turn and one PLAN turn per step at
100 ms each, a step waits 0.2 s, so N episodes can at best make N / 0.2 steps per second. The ratio
to that ideal shows how much the engine (games, parsing, memory, logging, HTTP) costs on top. Two
rates are printed: over the whole run (start-up included) and in steady state (a run of S steps
against one of S/2 steps: the difference cancels the fixed cost of starting and finishing).
Goal: ≥ 80 % of ideal at N = 64 with peak memory under 1 GiB.

    python benchmarks/concurrency.py [--ns 1,8,32,64] [--steps 100] [--workers 2]

Peak memory is the largest resident size of this process (single-process runs) and of any one
worker process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from automem_core.llm.config import ModelConfig  # noqa: E402
from automem_core.run.config import RunConfig  # noqa: E402
from automem_core.run.runner import run  # noqa: E402
from automem_core.store.reader import connect  # noqa: E402

DELAY_MS = 100.0


def start_server() -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'benchmarks'}"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "automem_core.testing.local_server",
            "--delay-ms",
            str(DELAY_MS),
            "--responder",
            "responders:minihack_walker",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise SystemExit(f"local server did not start: {url!r}")
    return proc, url


def measure(n: int, steps: int, url: str, workers: int = 1) -> tuple[float, float, int, float]:
    """(steps per second, model-wait seconds per step, steps, wall seconds) for one run."""
    with tempfile.TemporaryDirectory() as data:
        cfg = RunConfig(
            game="minihack",
            tasks=["MazeWalk-15x15"],
            seeds=list(range(n)),
            data=Path(data),
            model=ModelConfig(base_url=url, model="bench", timeout_s=30),
            max_steps=steps,
            concurrency=n,
            workers=workers,
        )
        t0 = time.perf_counter()
        asyncio.run(run(cfg, progress=False))
        wall = time.perf_counter() - t0
        con = connect(Path(data))
        total_steps, turns = con.execute(
            "SELECT (SELECT count(*) FROM steps), (SELECT count(*) FROM turns)"
        ).fetchone()
        wait_per_step = turns * DELAY_MS / 1000 / total_steps
    return total_steps / wall, wait_per_step, total_steps, wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ns", default="1,8,32,64")
    parser.add_argument("--steps", type=int, default=100, help="MiniHack's own cap")
    parser.add_argument("--workers", type=int, default=2, help="also measure N=64 with this many")
    args = parser.parse_args()
    proc, url = start_server()
    try:
        print(f"model answers after {DELAY_MS:.0f} ms; {args.steps} steps per episode")
        print(f"{'N':>4} {'workers':>7} {'ideal':>7} {'whole run':>17} {'steady state':>17}")
        runs = [(int(x), 1) for x in args.ns.split(",")]
        if args.workers > 1:
            runs.append((max(n for n, _ in runs), args.workers))
        for n, workers in runs:
            rate, wait, steps, wall = measure(n, args.steps, url, workers)
            _, _, half_steps, half_wall = measure(n, args.steps // 2, url, workers)
            steady = (steps - half_steps) / (wall - half_wall)
            ideal = n / wait
            print(
                f"{n:>4} {workers:>7} {ideal:>7.1f} {rate:>8.1f} {rate / ideal:>7.1%} "
                f"{steady:>8.1f} {steady / ideal:>7.1%}"
            )
    finally:
        proc.terminate()
        proc.wait()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"peak memory: {peak_mib:.0f} MiB this process, {child_mib:.0f} MiB largest child"
        "  (goal < 1024 MiB)"
    )
    print("goal: ratio >= 80% at N = 64")
    print("whole run: all steps over the wall time, start-up (games, worker processes) included;")
    print("steady state: the extra steps of a run twice as long over its extra time, which")
    print("cancels the fixed start-up and shut-down cost, as the ideal assumes")


if __name__ == "__main__":
    main()
