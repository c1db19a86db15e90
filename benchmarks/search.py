"""How fast is search over a large store, and what does its index cost?

The store is ``store_scale.py``'s: runs of 100 episodes of 1 000 steps, copies of one played
episode (``stores.cloned_store``). Server side, in process, caches warm (each query once before
it is timed):

- query p50 / p95 for single terms, phrases and filtered queries (goal p95 ≤ 100 ms), and for a
  sequence query, "a write mentioning walls that no read returned within 5 steps" (goal ≤ 2 s);
- index build time per million steps against writing those steps (the baseline, measured in the
  same run: a fresh run of ``--ratio-episodes`` episodes written through the store's writer and
  compacted, then indexed);
- index size against the Parquet it indexes (steps, turns, memory ops, keyframes, episodes) and
  against all of the store's Parquet (frames included).

The default (3 runs, 300 000 steps) takes a few minutes here; the 10-million-step store is

    .venv/bin/python benchmarks/search.py --runs 100

(the store is kept in ``--cache`` and reused; indexes are built once and kept with it).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from stores import PER_RUN, cloned_store

import automem_core.store.compact as compact_module
from automem_core.search import SearchFilters, index_run, search
from automem_core.search.build import index_dir, read_coverage
from automem_core.search.engine import SEARCH_THREADS
from automem_core.search.sequence import sequence_search
from automem_core.store.catalog import scan
from automem_core.store.compact import compact_run
from automem_core.testing.sample_store import clone_episodes, describe

INDEXED_TABLES = ("steps", "turns", "memory_ops", "memory_snapshots", "episodes")
SINGLE = ["gold", "circles", "memory:walls", "vault", "completion:treasure"]
PHRASES = ['"walls stop"', '"gold 2 steps"', '"pick up"', 'result:"no lines matching"']
FILTERED: list[tuple[str, SearchFilters]] = [
    ("gold", SearchFilters(kinds=("APPEND",))),
    ("walls", SearchFilters(step_min=100, step_max=200)),
    ("memory:walls", SearchFilters(sources=("memory",), step_min=500, step_max=600)),
    ("gold", SearchFilters(runs=("c0001",), tasks=("grid",), phases=("plan",))),
    ("treasure", SearchFilters(statuses=("ok",), seed_sets=(), phases=("plan",))),
]
SEQUENCE = ("source:op access:write op:walls", "access:read result:walls", 5)


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def parquet_bytes(root: Path, tables: tuple[str, ...] | None) -> int:
    total = 0
    for run in scan(root):
        for path in run.folder.rglob("*.parquet"):
            if "index" in path.parts:
                continue
            if tables is None or path.stem in tables:
                total += path.stat().st_size
    return total


def build_indexes(root: Path) -> tuple[float, int]:
    """Index every run that has none; (seconds, runs indexed)."""
    seconds, built = 0.0, 0
    for run in scan(root):
        coverage = read_coverage(run.folder)
        if coverage is not None and len(coverage.episodes) == len(run.episodes()):
            continue
        seconds += timed(lambda r=run: index_run(root, r.run_id))
        built += 1
        print(f"  indexed {run.run_id} ({built} so far, {seconds:.0f} s)", flush=True)
    return seconds, built


def write_vs_index(root: Path, episodes: int) -> dict[str, float]:
    """Seconds to write ``episodes`` copies of an episode through the store's writer and compact
    them (the index hook off), then to index them."""
    scratch = root.parent / f"{root.name}-ratio"
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(root / "runs" / "seed-run", scratch / "runs" / "seed-run")
    hook = compact_module.update_index
    compact_module.update_index = lambda *_: None  # type: ignore[assignment]
    try:
        write = timed(lambda: clone_episodes(scratch, "seed-run.grid.s0", "w", episodes))
        write += timed(lambda: compact_run(scratch, "w"))
    finally:
        compact_module.update_index = hook
    build = timed(lambda: index_run(scratch, "w"))
    shutil.rmtree(scratch, ignore_errors=True)
    return {"write_s": write, "index_s": build, "steps": episodes * 1_000}


def query_times(root: Path, repeat: int) -> dict[str, list[float]]:
    cases: dict[str, list[tuple[str, SearchFilters]]] = {
        "single terms": [(q, SearchFilters()) for q in SINGLE],
        "phrases": [(q, SearchFilters()) for q in PHRASES],
        "filtered": FILTERED,
    }
    out: dict[str, list[float]] = {}
    for name, queries in cases.items():
        samples = []
        for query, filters in queries:
            hits = search(root, query, filters).total  # warm: indexes opened, pages cached
            mine = [timed(lambda q=query, f=filters: search(root, q, f)) for _ in range(repeat)]
            where = f" ({filters.describe()})" if filters.describe() else ""
            print(f"    {query + where:<58} {hits:>11,} hits  p50 "
                  f"{statistics.median(mine) * 1000:7.1f} ms")  # fmt: skip
            samples += mine
        out[name] = samples
    first, then, within = SEQUENCE
    sequence_search(root, first, then, within, absent=True)
    out["sequence"] = [
        timed(lambda: sequence_search(root, first, then, within, absent=True))
        for _ in range(max(3, repeat // 5))
    ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/automem-store-scale"))
    parser.add_argument("--runs", type=int, default=3, help="runs of 100 × 1 000 steps")
    parser.add_argument("--repeat", type=int, default=20, help="timings per query")
    parser.add_argument(
        "--ratio-episodes", type=int, default=20, help="episodes written and indexed for the ratio"
    )
    args = parser.parse_args()
    root = cloned_store(args.cache / f"cloned-{args.runs}", args.runs)
    shape = describe(root)
    print(f"store: {shape['runs']} runs, {shape['episodes']:,} episodes, {shape['steps']:,} steps")
    seconds, built = build_indexes(root)
    if built:
        per_million = seconds / (built * PER_RUN * 1_000 / 1e6)
        print(f"indexed {built} runs in {seconds:.0f} s ({per_million:.0f} s per million steps)")
    ratio = write_vs_index(root, args.ratio_episodes)
    per_m = 1e6 / ratio["steps"]
    print(
        f"\nper million steps: writing (writer + compaction) {ratio['write_s'] * per_m:.0f} s, "
        f"indexing {ratio['index_s'] * per_m:.0f} s; ratio index / write "
        f"{ratio['index_s'] / ratio['write_s']:.2f}"
    )
    index = sum(folder_bytes(index_dir(run.folder)) for run in scan(root))
    indexed, everything = parquet_bytes(root, INDEXED_TABLES), parquet_bytes(root, None)
    print(
        f"index {index / 2**20:,.0f} MiB; the Parquet it indexes {indexed / 2**20:,.0f} MiB "
        f"(ratio {index / indexed:.2f}); all Parquet {everything / 2**20:,.0f} MiB "
        f"(ratio {index / everything:.2f})"
    )
    print(f"\nqueries over {shape['steps']:,} steps, server side ({args.repeat} timings each):")
    goals = {"single terms": 0.1, "phrases": 0.1, "filtered": 0.1, "sequence": 2.0}
    times = query_times(root, args.repeat)
    print(f"  ({SEARCH_THREADS} search threads)")
    for name, samples in times.items():
        p50, p95 = percentiles(samples)
        verdict = "met" if p95 <= goals[name] else "MISSED"
        print(f"  {name:<14} p50 {p50 * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms  "
              f"(goal p95 ≤ {goals[name] * 1000:g} ms) {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
