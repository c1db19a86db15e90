"""Causal values measured on a Ray cluster against one process on this machine.

A Crafter run with the embedded player is mined, then ``automem mine --causal`` forks its first
``--limit`` decisions (kept and dropped, ``--horizon`` steps each) twice, in two copies of the
store: in this process (``--concurrency`` forks at once), and on Ray's local test cluster of
``--nodes`` nodes (one CPU each). Prints forks per second for each, their ratio, and whether the
two measured the same values. The embedded player makes the forks CPU-bound, so the ratio is
bounded by the cores this machine has (``os.cpu_count()``).

    python benchmarks/fork_ray.py [--episodes 2] [--steps 200] [--limit 40] [--horizon 30]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from automem_core.cli import main as automem  # noqa: E402
from automem_core.store.records import read_records  # noqa: E402


def timed(args: list[str]) -> float:
    t0 = time.perf_counter()
    if automem(args) != 0:
        raise SystemExit(f"automem {' '.join(args)} failed")
    return time.perf_counter() - t0


def values(data: Path) -> list[tuple[str, float]]:
    rows = read_records(data, "causal_values").to_pylist()
    return sorted((r["decision_id"], r["causal_value"]) for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=2)
    parser.add_argument("--steps", type=int, default=200, help="the parents' steps")
    parser.add_argument("--limit", type=int, default=40, help="decisions measured")
    parser.add_argument("--horizon", type=int, default=30)
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    from automem_core.testing.ray_cluster import local_cluster

    with tempfile.TemporaryDirectory(prefix="automem-fork-ray-") as tmp:
        here, there = Path(tmp) / "here", Path(tmp) / "there"
        run = ["run", "--game", "crafter", "--episodes", str(args.episodes), "--max-steps",
               str(args.steps), "--run-id", "p", "--quiet", "--data", str(here)]  # fmt: skip
        timed(run)
        timed(["mine", "--run", "p", "--data", str(here)])
        shutil.copytree(here, there)
        causal = ["mine", "--run", "p", "--causal", "--limit", str(args.limit), "--horizon",
                  str(args.horizon), "--concurrency", str(args.concurrency), "--quiet"]  # fmt: skip
        local = timed([*causal, "--data", str(here)])
        with local_cluster(args.nodes) as (cluster, _):
            ray = timed([*causal, "--executor", "ray", "--ray-address", cluster.address,
                         "--data", str(there)])  # fmt: skip
        measured = len(values(here))
        same = values(here) == values(there)
    forks = 2 * measured
    print(f"{forks} forks ({measured} decisions × kept and dropped, horizon {args.horizon}); "
          f"this machine has {os.cpu_count()} cores")  # fmt: skip
    print(f"  one process:       {local:6.1f} s = {forks / local:5.2f} forks/s")
    print(
        f"  Ray, {args.nodes} nodes:      {ray:6.1f} s = {forks / ray:5.2f} forks/s "
        f"= {local / ray:.2f}x one process (ideal {args.nodes}x); same values: {same}"
    )


if __name__ == "__main__":
    main()
