"""Bytes on disk per step and ``memory_at`` latency for a 10 000-step episode.

The episode is played by the real runner (the fake game of ``automem_core.testing`` and its
embedded player: about 3.7 memory ops a step, lines of 20–60 characters, files capped at 30–120
lines, a keyframe every 200 steps).

Baseline (measured in the same run): a full memory snapshot per step as JSON lines, the format of
the reference implementation, where memory at step t is line t of the file.
Goals: memory storage ≥ 10× smaller than the baseline, ``memory_at`` p95 ≤ 50 ms.

    python benchmarks/storage.py [--steps 10000] [--samples 200]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyarrow.parquet as pq  # noqa: E402

from automem_core.memory import apply_mutation, snapshot  # noqa: E402
from automem_core.store.memory_at import decode_mutations, decode_state, memory_at  # noqa: E402
from automem_core.store.reader import episode_dir  # noqa: E402
from automem_core.testing.sample_store import play_fake_run  # noqa: E402


def write_jsonl_baseline(folder: Path, out: Path) -> list[int]:
    """One line per step with every file's content; returns each line's byte offset."""
    snaps = pq.read_table(folder / "memory_snapshots.parquet").sort_by("step")
    state = decode_state(snaps.column("files_json")[0].as_py())  # the initial files
    ops = pq.read_table(folder / "memory_ops.parquet", columns=["step", "seq", "mutations_json"])
    ops = ops.sort_by("seq")
    steps = pq.read_table(folder / "steps.parquet", columns=["step"]).column("step").to_pylist()
    by_step: dict[int, list[str]] = {}
    for step, muts in zip(
        ops.column("step").to_pylist(), ops.column("mutations_json").to_pylist(), strict=False
    ):
        by_step.setdefault(step, []).append(muts)
    offsets = []
    with out.open("w", encoding="utf-8") as fh:
        for step in steps:
            for muts in by_step.get(step, []):
                for m in decode_mutations(muts):
                    apply_mutation(state, m, step)
            offsets.append(fh.tell())
            fh.write(json.dumps({"step": step, "memory": snapshot(state)}) + "\n")
    return offsets


def jsonl_memory_at(path: Path, step: int) -> dict[str, str]:
    """The reference reader: scan to line ``step`` and parse it."""
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i == step:
                return json.loads(line)["memory"]  # type: ignore[no-any-return]
    raise KeyError(step)


def percentiles(samples: list[float]) -> tuple[float, float]:
    qs = statistics.quantiles(samples, n=20)
    return statistics.median(samples), qs[18]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        run_id = play_fake_run(root, steps=args.steps, run_id="bench")
        episode_id = f"{run_id}.grid.s0"
        folder = episode_dir(root, episode_id)
        n = pq.read_metadata(folder / "steps.parquet").num_rows
        print(f"played a {n}-step episode in {time.perf_counter() - t0:.1f} s (real runner)")
        ours = sum(
            (folder / f).stat().st_size for f in ("memory_ops.parquet", "memory_snapshots.parquet")
        )
        everything = sum(p.stat().st_size for p in folder.glob("*.parquet"))
        baseline_path = root / "snapshots.jsonl"
        write_jsonl_baseline(folder, baseline_path)
        baseline = baseline_path.stat().st_size
        print(
            f"memory, bytes/step: ours {ours / n:,.0f} (op log + keyframes), "
            f"baseline {baseline / n:,.0f} (JSON snapshot per step)"
        )
        print(f"  ratio baseline/ours: {baseline / ours:.1f}x smaller  (goal >= 10x)")
        print(
            f"whole episode folder (all tables, frames included): {everything / n:,.0f} bytes/step"
        )

        rng = random.Random(0)
        picks = [rng.randrange(n) for _ in range(args.samples)]
        ours_ms, base_ms = [], []
        for step in picks:
            t = time.perf_counter()
            mine = memory_at(root, episode_id, step)
            ours_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            ref = jsonl_memory_at(baseline_path, step)
            base_ms.append((time.perf_counter() - t) * 1000)
            assert mine == ref, f"memory_at disagrees with the baseline at step {step}"
        (p50, p95), (b50, b95) = percentiles(ours_ms), percentiles(base_ms)
        print(
            f"memory_at ms: ours p50 {p50:.1f} p95 {p95:.1f}; "
            f"baseline p50 {b50:.1f} p95 {b95:.1f}  (goal p95 <= 50 ms)"
        )
        print(f"  ratio baseline/ours p95: {b95 / p95:.2f}")


if __name__ == "__main__":
    main()
