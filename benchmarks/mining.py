"""Mining over a store of ≥ 1 million steps (copies of a played episode, written through the
store's writer): `automem mine` of all its runs end to end, per million steps, with its peak
memory, beside the baseline of merely reading the same rows. Goal: ≤ 5 s per million steps.

Mining reads the signals the writer stored for each decision turn (``turn_signals``). The cost
moved to the writer is printed too, and so is mining from the log alone, as for episodes written
before the writer stored signals.

    .venv/bin/python benchmarks/mining.py [--cache /tmp/automem-store-scale] [--runs 10]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from loop_queries import baseline_s, in_process
from stores import cloned_store

MINE = """
import sys, time
from pathlib import Path
from automem_core.mining.mine import mine
from automem_core.store.catalog import scan
from automem_core.store.reader import query_store
root = Path(sys.argv[1])
runs = [run.run_id for run in scan(root)]
t0 = time.perf_counter()
found = mine(root, runs, allow_overlap=True).decisions
t = time.perf_counter() - t0
steps = 0
for run in scan(root):
    steps += query_store(root, lambda con: con.execute("SELECT count(*) FROM steps").fetchall(),
                         tables=("steps",), run_ids=[run.run_id])[0][0]
print(t, steps, found)
"""

FROM_LOG = """
import sys, time
from pathlib import Path
from automem_core.analysis.decisions import MINING_TABLES, mine_decisions
from automem_core.store.catalog import scan
from automem_core.store.reader import query_store
root = Path(sys.argv[1])
t0 = time.perf_counter()
found = 0
for run in scan(root):
    query = lambda con: mine_decisions(con, [run.run_id], use_stored=False)
    found += len(query_store(root, query, tables=MINING_TABLES, run_ids=[run.run_id]))
print(time.perf_counter() - t0, found)
"""

WRITER = """
import sys, time, tempfile
from pathlib import Path
import pyarrow.parquet as pq
from automem_core.store.catalog import locate_episode, scan
from automem_core.store.layout import Layout
from automem_core.store.schema import EPISODE_TABLES, TABLES
from automem_core.store.summary import EpisodeSummary
from automem_core.store.turn_signals import TurnSignals
from automem_core.store.writer import EpisodeWriter
root = Path(sys.argv[1])
episode = scan(root)[0].episodes()[0]
found = locate_episode(root, episode)
where = [("episode_id", "==", episode)]
rows = [(t, TABLES[t](**r)) for t in EPISODE_TABLES if t != "episodes"
        for r in pq.read_table(found.files[t], filters=where).to_pylist()]
steps = sum(1 for t, _ in rows if t == "steps")
def timed(make):
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        acc = make()
        for table, row in rows:
            acc.add(table, row)
        best = min(best, time.perf_counter() - t0)
    return best
signals = timed(TurnSignals)
t0 = time.perf_counter(); acc = TurnSignals()
for table, row in rows: acc.add(table, row)
t1 = time.perf_counter(); acc.rows(episode); signals += time.perf_counter() - t1
summary = timed(EpisodeSummary)
with tempfile.TemporaryDirectory() as tmp:
    (episode_row,) = [TABLES["episodes"](**r) for r in
                      pq.read_table(found.files["episodes"], filters=where).to_pylist()]
    t0 = time.perf_counter()
    writer = EpisodeWriter(Layout(Path(tmp)), "w", "w.e")
    for table, row in rows: writer.add(table, row)
    writer.commit(episode_row)
    whole = time.perf_counter() - t0
print(steps, signals, summary, whole)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/automem-store-scale"))
    parser.add_argument("--runs", type=int, default=10, help="runs of 100 × 1 000 steps")
    args = parser.parse_args()
    root = cloned_store(args.cache / f"cloned-{args.runs}", args.runs)
    shutil.rmtree(root / "records" / "decisions", ignore_errors=True)
    try:
        seconds, steps, decisions, peak = (float(x) for x in in_process(MINE, root))
    finally:
        shutil.rmtree(root / "records" / "decisions", ignore_errors=True)
    base = baseline_s(root)
    millions = steps / 1e6
    per_million = seconds / millions
    print(f"`automem mine`: {decisions:,.0f} decisions from {steps:,.0f} steps in {seconds:.1f} s, "
          f"peak memory {peak:,.0f} MiB")  # fmt: skip
    print(f"  per million steps: {per_million:.2f} s (goal ≤ 5 s): "
          f"{'met' if per_million <= 5 else 'MISSED'}")  # fmt: skip
    print(f"  baseline (reading the same rows): {base:.1f} s; ratio {seconds / base:.1f}×")
    log_s, log_found, log_peak = (float(x) for x in in_process(FROM_LOG, root))
    print(f"signals from the log alone (episodes written before schema 6): "
          f"{log_s / millions:.2f} s per million steps, peak memory {log_peak:,.0f} MiB "
          f"({log_found:,.0f} decisions)")  # fmt: skip
    ep_steps, signals_s, summary_s, whole_s = (float(x) for x in in_process(WRITER, root)[:4])
    scale = 1e6 / ep_steps
    print(f"moved to the writer: {signals_s * scale:.2f} s per million steps recorded "
          f"(the episode summary: {summary_s * scale:.2f} s; writing the whole episode: "
          f"{whole_s * scale:.2f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
