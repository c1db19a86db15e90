"""Past one machine: the Ray executor against worker processes, and reads from object storage.

1. Steps per second with N concurrent MiniHack episodes against a model that answers after
   100 ms, played by ``ProcessExecutor`` with W worker processes and by the Ray executor on a
   local cluster of W nodes (one CPU each, Ray's own test cluster), each against the ideal
   N ÷ (model wait per step), as in benchmarks/concurrency.py. Goal: ≥ 85 % of ideal at N = 256
   (on a machine with the cores for it: this one has os.cpu_count() of them).
2. ``automem runs`` on a store in a local folder, against the same store on an S3 server
   (moto's, on this machine; in a process of its own unless ``--server thread``) read through
   a mirror that has never read it (cold) and one that has (warm), with the number of S3
   requests each made. Goal: ≤ 3× cold, ≤ 1.2× warm.
3. The dashboard's pages over the same two stores (Streamlit's AppTest, in this process): the
   Overview's first load, the Replay's first load and a step change, in a mirror that has never
   read the store (cold), then again once its pull is due (warm), with the S3 requests each
   page load made. Goal: ≤ 3× cold, ≤ 1.2× warm; requests independent of the episodes.
   Measured right after the run and again once the objects its compaction replaced are
   deleted (an hour later; ``--episodes`` changes the store's size).

    python benchmarks/cluster.py [--ns 64,256] [--steps 40] [--workers 2] [--episodes 48]
                                 [--latency-ms 20] [--server process|thread]
                                 [--skip-executors]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from concurrency import DELAY_MS, start_server  # noqa: E402

from automem_core.llm.config import ModelConfig  # noqa: E402
from automem_core.run.config import RunConfig  # noqa: E402
from automem_core.run.runner import run  # noqa: E402
from automem_core.store.reader import connect  # noqa: E402


def cpu_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far, in clock ticks (Linux; (0, 0)
    elsewhere): the model server, the driver and every worker together."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def busy_since(start: tuple[int, int]) -> str:
    busy, total = (a - b for a, b in zip(cpu_jiffies(), start, strict=True))
    return f"{busy / total:.0%}" if total else "n/a"


def measure(
    n: int, steps: int, url: str, workers: int, executor: str
) -> tuple[float, float, float]:
    """(steps, model-wait seconds per step, wall seconds) of one run."""
    with tempfile.TemporaryDirectory() as data:
        cfg = RunConfig(
            game="minihack", tasks=["MazeWalk-15x15"], seeds=list(range(n)), data=Path(data),
            model=ModelConfig(base_url=url, model="bench", timeout_s=30), max_steps=steps,
            concurrency=n, workers=workers, executor=executor,
        )  # fmt: skip
        t0 = time.perf_counter()
        asyncio.run(run(cfg, progress=False))
        wall = time.perf_counter() - t0
        total, turns = (
            connect(Path(data))
            .execute("SELECT (SELECT count(*) FROM steps), (SELECT count(*) FROM turns)")
            .fetchone()
        )
    return total, turns * DELAY_MS / 1000 / total, wall


def executors(ns: list[int], steps: int, workers: int) -> None:
    from automem_core.testing.ray_cluster import local_cluster

    with local_cluster(workers):
        _executors(ns, steps, workers)


def _executors(ns: list[int], steps: int, workers: int) -> None:
    proc, url = start_server()
    try:
        print(f"model answers after {DELAY_MS:.0f} ms; {steps} steps per episode; "
              f"{workers} workers; {os.cpu_count()} CPUs")  # fmt: skip
        print(f"{'N':>4} {'executor':>9} {'ideal':>7} {'whole run':>17} {'steady state':>17} "
              f"{'CPUs busy':>9}")  # fmt: skip
        for n in ns:
            for executor in ("local", "ray"):
                start = cpu_jiffies()
                total, wait, wall = measure(n, steps, url, workers, executor)
                busy = busy_since(start)
                half, _, half_wall = measure(n, steps // 2, url, workers, executor)
                rate, steady, ideal = total / wall, (total - half) / (wall - half_wall), n / wait
                name = "processes" if executor == "local" else "ray"
                print(f"{n:>4} {name:>9} {ideal:>7.1f} {rate:>8.1f} {rate / ideal:>7.1%} "
                      f"{steady:>8.1f} {steady / ideal:>7.1%} {busy:>9}")  # fmt: skip
    finally:
        proc.terminate()
        proc.wait()
    print(
        "goal: steady state >= 85% of ideal at N = 256 (needs the cores to step N games: "
        "CPUs busy near 100% means the machine, not the executor, sets the rate)"
    )


class Requests(logging.Handler):
    """Counts the requests moto's server logs (one line each)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1

    def count_line(self, line: str) -> None:
        self.count += 1

    def settle(self, quiet_s: float = 0.2) -> None:
        """Wait until no request has been reported for ``quiet_s``."""
        seen = -1
        while seen != self.count:
            seen = self.count
            time.sleep(quiet_s)


def reads(episodes: int, latency_ms: float, own_process: bool) -> None:
    from automem_core.analysis.reports import render_runs_table
    from automem_core.cli import main as automem
    from automem_core.store.remote import open_root, remote_of
    from automem_core.store.remote_compact import clean_store
    from automem_core.store.remote_pull import pull
    from automem_core.testing.s3_server import in_environment, s3_server

    counter = Requests()
    werkzeug = logging.getLogger("werkzeug")
    werkzeug.addHandler(counter)
    werkzeug.setLevel(logging.INFO)
    werkzeug.propagate = False
    bucket = s3_server("automem-bench", latency_ms / 1000, own_process, counter.count_line)
    with tempfile.TemporaryDirectory() as tmp, bucket as env:
        local, url = Path(tmp) / "local", "s3://automem-bench/store"
        args = ["run", "--game", "minihack", "--tasks", "MazeWalk-9x9", "--episodes",
                str(episodes), "--max-steps", "30", "--run-id", "b", "--quiet"]  # fmt: skip
        with in_environment({**env, "AUTOMEM_CACHE": str(Path(tmp) / "writer")}):
            automem([*args, "--data", str(local)])
            automem([*args, "--data", url])

        def timed(read: object) -> tuple[float, int]:
            before = counter.count
            t0 = time.perf_counter()
            read()  # type: ignore[operator]
            took = time.perf_counter() - t0
            counter.settle()  # a server in its own process reports its requests a bit later
            return took, counter.count - before

        base = statistics.median(timed(lambda: render_runs_table(local))[0] for _ in range(3))
        colds, warms = [], []
        for i in range(3):  # three new mirrors (cold), the last one read three more times (warm)
            with in_environment({**env, "AUTOMEM_CACHE": str(Path(tmp) / f"reader-{i}")}):
                root = open_root(url)
                colds.append(timed(lambda r=root: (pull(r), render_runs_table(r))))
        with in_environment({**env, "AUTOMEM_CACHE": str(Path(tmp) / "reader-2")}):
            warms = [timed(lambda: (pull(root), render_runs_table(root))) for _ in range(3)]
        cold, cold_n = statistics.median(t for t, _ in colds), max(n for _, n in colds)
        warm, warm_n = statistics.median(t for t, _ in warms), max(n for _, n in warms)
        where = "in its own process" if own_process else "in a thread of this process"
        print(f"`automem runs` over {episodes} episodes (medians of 3): local folder "
              f"{base * 1000:.0f} ms; the S3 server runs {where}, each request answered "
              f"{latency_ms:g} ms late")  # fmt: skip
        print(f"  S3 (moto), cold mirror: {cold * 1000:.0f} ms = {cold / base:.1f}x "
              f"({cold_n} requests; goal <= 3x)")  # fmt: skip
        print(f"  S3 (moto), warm mirror: {warm * 1000:.0f} ms = {warm / base:.1f}x "
              f"({warm_n} requests; goal <= 1.2x)")  # fmt: skip
        full = folder_bytes(local / "runs")
        print(f"  the mirror then holds {folder_bytes(root / 'runs') / 1024:.0f} KiB of runs' "
              f"files; the same run in a local folder: {full / 1024:.0f} KiB")  # fmt: skip

        episode = connect(local).execute("SELECT min(episode_id) FROM episodes").fetchone()[0]
        with in_environment(env):
            forget()
            pages(str(local), episode, timed)  # the app's imports, out of the timings
            forget()
            local_pages = [pages(str(local), episode, timed) for _ in ("cold", "warm")]
            print("dashboard pages (AppTest), right after the run:")
            remote_pages(local_pages, url, episode, Path(tmp) / "pages-1", timed)
            with in_environment({"AUTOMEM_CACHE": str(Path(tmp) / "pages-1")}):
                held = folder_bytes(open_root(url) / "runs")
            print(f"  the pages' mirror then holds {held / 1024:.0f} KiB of runs' files "
                  f"({held / full:.0%} of the local folder's)")  # fmt: skip
            writer = open_root(url)  # an hour later: what the parts replaced is deleted
            deleted = clean_store(remote_of(writer), writer, "b", grace_s=0.0)
            print(f"dashboard pages once the {deleted} objects the parts replaced are deleted:")
            remote_pages(local_pages, url, episode, Path(tmp) / "pages-2", timed)


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


Timed = Callable[[object], "tuple[float, int]"]
Counts = dict[str, int]


def remote_pages(
    local: list[tuple[dict[str, float], Counts]], url: str, episode: str, cache: Path, timed: Timed
) -> None:
    """:func:`pages` over the store ``url`` from a new mirror, cold then warm, against
    ``local`` (the same pages over the local folder, cold then warm)."""
    from automem_core.testing.s3_server import in_environment

    with in_environment({"AUTOMEM_CACHE": str(cache)}):
        forget()
        for state, (base_times, _) in zip(("cold", "warm"), local, strict=True):
            times, counts = pages(url, episode, timed)
            for page, seconds in times.items():
                base = base_times[page]
                print(f"  {page:<18} {state}: {seconds * 1000:5.0f} ms vs {base * 1000:4.0f} ms "
                      f"local = {seconds / base:4.1f}x ({counts[page]} requests)")  # fmt: skip


def forget() -> None:
    """Streamlit's caches emptied: the next page loads are cold."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    for name in logging.root.manager.loggerDict:  # "missing ScriptRunContext" outside the app
        if name.startswith("streamlit"):
            logging.getLogger(name).setLevel(logging.ERROR)


def pages(data: str, episode: str, timed: Timed) -> tuple[dict[str, float], Counts]:
    """Seconds for the Overview's first load, the Replay's first load at step 3 and its step
    change over ``data`` (each page load pulls a store URL's mirror first, as when its pull is
    due), and the S3 requests each made."""
    from streamlit.testing.v1 import AppTest

    from dashboard import data as dashboard_data

    app = str(ROOT / "dashboard" / "app.py")
    times: dict[str, float] = {}
    counts: Counts = {}
    os.environ["AUTOMEM_DATA"] = data

    def load(page: str, at: AppTest) -> None:
        times[page], counts[page] = timed(at.run)
        if at.exception:
            raise RuntimeError(at.exception[0].value)

    dashboard_data._pulled_at.clear()  # a page load whose pull is due
    load("Overview", AppTest.from_file(app, default_timeout=120))
    dashboard_data._pulled_at.clear()
    replay = AppTest.from_file(app, default_timeout=120)
    replay.query_params = {"run": "b", "episode": episode, "step": "3"}
    load("Replay", replay)
    replay.button(key="replay.next").click()  # within PULL_EVERY_S: no pull
    load("Replay step change", replay)
    return times, counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ns", default="64,256")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--episodes", type=int, default=48, help="in the store that is read")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0,
        help="the S3 server's delay per request (a network round trip; moto's own is ~0)",
    )  # fmt: skip
    parser.add_argument(
        "--server", choices=["process", "thread"], default="process",
        help="moto in a process of its own (as an object store runs elsewhere), or in a thread "
        "of the reading process (its work then counts in the reads' time)",
    )  # fmt: skip
    parser.add_argument("--skip-executors", action="store_true")
    args = parser.parse_args()
    reads(args.episodes, args.latency_ms, args.server == "process")
    if not args.skip_executors:
        executors([int(n) for n in args.ns.split(",")], args.steps, args.workers)


if __name__ == "__main__":
    main()
