"""How fast the reviewer's tools answer on a large store, and how long a hostile query can hold
one. The store holds ``--runs`` runs of 100 episodes of 1 000 steps (copies of a played episode,
``stores.cloned_store``); the reviewer reviews ``--review`` of them.

Per tool, ``--repeat`` calls over varied episodes and steps: answer time p50 / p95 through
``StoreTools.call`` (arguments parsed, the confined connection, the bounded answer), beside the
same rows read by a plain DuckDB query on an unconfined connection over the same runs (the
baseline, measured in the same run): the ratio is tool / plain at p50. Then every hostile query
of the test suite through the ``sql`` tool, and the slowest one's wall time against the cap.

    .venv/bin/python benchmarks/reviewer_tools.py [--cache /tmp/automem-store-scale] \
        [--runs 10] [--review 1] [--repeat 20]

``--runs 10`` (the default) is a store of 1 million steps and takes a few minutes to build the
first time; ``--runs 100`` is the 10-million-step store (about 30 minutes to build, a few GB).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
from stores import cloned_store

from automem_core.review.tools import StoreTools
from automem_core.store.catalog import scan
from automem_core.store.reader import connect

SEARCH_SQL = """
WITH hits AS (
    SELECT episode_id, step, observation AS text FROM steps
    WHERE strpos(lower(observation), lower($1)) > 0
    UNION ALL
    SELECT episode_id, step, completion AS text FROM turns
    WHERE strpos(lower(completion), lower($1)) > 0
)
SELECT episode_id, step, text, count(*) OVER () FROM hits ORDER BY episode_id, step LIMIT $2"""
HOSTILE = [
    "SELECT repeat(chr(10), 3000000) AS big FROM range(200)",
    "SELECT repeat(chr(10), 3000000 + range::INT) AS big FROM range(200)",
    "SELECT count(*) FROM range(1000000000000)",
    "SELECT range FROM range(1000000000000)",
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t",
    "SELECT sum(a.range * b.range) FROM range(100000) a, range(100000) b",
    "SELECT list(repeat('x', 100)) FROM range(100000000)",
    "SELECT observation, observation || observation AS twice FROM steps",
    "SELECT a.step FROM steps a JOIN steps b USING (action) ORDER BY random() LIMIT 5",
    "SELECT string_agg(observation, '') FROM steps",
    "SELECT * FROM read_csv('/etc/passwd', store_rejects=true, rejects_table='steps')",
    "SELECT * FROM duckdb_settings()",
]


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def cases(
    tools: StoreTools, plain: duckdb.DuckDBPyConnection, episodes: list[str], rnd: random.Random
) -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    """Per tool, one call (new arguments each time) and the plain query of the same rows."""
    ep, step = rnd.choice(episodes), rnd.randrange(0, 950)
    window = f"episode_id = '{ep}' AND step BETWEEN {step} AND {step + 49}"
    one = f"episode_id = '{ep}' AND step = {step}"
    sql = f"SELECT step, action, reward, observation FROM steps WHERE {window} ORDER BY step"
    group = "SELECT action, count(*) AS n, avg(reward) AS r FROM steps GROUP BY action"
    text = rnd.choice(["gold", "wall", "north", "nothing-matches-this"])

    def rows(query: str, params: list[object] | None = None) -> Callable[[], object]:
        return lambda: plain.execute(query, params or []).fetchall()

    def step_rows() -> object:
        for table in ("steps", "turns", "memory_ops"):
            plain.execute(f"SELECT * FROM {table} WHERE {one}").fetchall()
        return None

    return {
        "sql (a step window)": (lambda: tools.call("sql", {"query": sql}), rows(sql)),
        "sql (group by action)": (lambda: tools.call("sql", {"query": group}), rows(group)),
        "steps": (
            lambda: tools.call("steps", {"episode_id": ep, "start": step, "end": step + 49}),
            rows(f"SELECT * FROM steps WHERE {window} ORDER BY step"),
        ),
        "step": (lambda: tools.call("step", {"episode_id": ep, "step": step}), step_rows),
        "memory": (
            lambda: tools.call("memory", {"episode_id": ep, "step": step}),
            rows(f"SELECT * FROM memory_ops WHERE episode_id = '{ep}' AND step <= {step}"),
        ),
        "search": (
            lambda: tools.call("search", {"text": text, "limit": 20}),
            rows(SEARCH_SQL, [text, 20]),
        ),
    }


def measure(root: Path, review: list[str], repeat: int) -> None:
    open_s = timed(lambda: StoreTools(root, review).close())
    plain_open_s = timed(lambda: connect(root, run_ids=review).close())
    print(f"opening: tools {open_s:.3f} s, plain connection {plain_open_s:.3f} s")
    rnd = random.Random(0)
    with StoreTools(root, review) as tools:
        plain = connect(root, run_ids=review)
        episodes = [e for (e,) in plain.execute("SELECT episode_id FROM episodes").fetchall()]
        times: dict[str, tuple[list[float], list[float]]] = {}
        for _ in range(repeat):
            for name, (tool, baseline) in cases(tools, plain, episodes, rnd).items():
                tool_times, plain_times = times.setdefault(name, ([], []))
                plain_times.append(timed(baseline))
                tool_times.append(timed(tool))
        print(f"\n{'tool':<24}{'p50 ms':>10}{'p95 ms':>10}{'plain p50':>12}{'ratio':>8}")
        for name, (tool_times, plain_times) in times.items():
            p50, p95 = percentiles(tool_times)
            base, _ = percentiles(plain_times)
            print(f"{name:<24}{p50 * 1e3:>10.1f}{p95 * 1e3:>10.1f}{base * 1e3:>12.1f}"
                  f"{p50 / base:>8.1f}")  # fmt: skip
        plain.close()
        print(f"\nhostile queries through the sql tool (cap {tools._sql.timeout_s:g} s):")
        walls = []
        for query in HOSTILE:
            answer = ""

            def run(query: str = query) -> None:
                nonlocal answer
                answer = tools.call("sql", {"query": query})

            wall = timed(run)
            walls.append((wall, query))
            print(f"  {wall:6.2f} s  {len(answer):>6} chars  {answer.splitlines()[0][:40]!r:<44}"
                  f"{query[:70]}")  # fmt: skip
        wall, query = max(walls)
        cap = tools._sql.timeout_s + 1
        verdict = "met" if wall <= cap else "MISSED"
        print(f"slowest: {wall:.2f} s (goal ≤ cap + 1 s = {cap:g} s) {verdict}: {query}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/automem-store-scale"))
    parser.add_argument("--runs", type=int, default=10, help="runs of 100 × 1 000 steps")
    parser.add_argument("--review", type=int, default=1, help="how many runs are reviewed")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    root = cloned_store(args.cache / f"cloned-{args.runs}", args.runs)
    review = [run.run_id for run in scan(root) if run.run_id.startswith("c")][: args.review]
    print(f"store of {args.runs * 100_000:,} steps; reviewing {', '.join(review)}")
    measure(root, review, args.repeat)


if __name__ == "__main__":
    main()
