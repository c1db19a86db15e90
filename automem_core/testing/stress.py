"""A store used as a busy lab uses one, all at once, then checked for what was lost or doubled.

For ``seconds``: a run of the fake game with worker processes is SIGKILLed at random moments and
resumed (up to ``kills`` times); ``automem compact`` runs over and over and is SIGKILLed at random
moments half-way; so is a merge of the labels; labellers append labels one at a time (each append
may merge the table); readers read throughout: ``automem runs`` and ``automem episodes``, the
store's own readers (``read_records``, ``query_store``, ``memory_at``), and ``page`` (the caller's
dashboard pages). Then the run is resumed to the end and compacted once more, and the store is
checked: every episode once with contiguous steps, every label written once, no leftovers, no
process of a killed run alive, and no reader error. Seeded (kill moments, choices), bounded in
time; the interleavings themselves are the machine's.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from automem_core.store.catalog import scan_run
from automem_core.store.layout import Layout
from automem_core.store.leftovers import store_leftovers
from automem_core.store.memory_at import memory_at
from automem_core.store.reader import connect, query_store
from automem_core.store.records import read_records
from automem_core.testing.stress_roles import committed, label_id

RUN_ID = "stress"
REPO = Path(__file__).resolve().parents[2]
Page = Callable[[Path, random.Random], None]  # opens a page; raises what the page raised


@dataclass(frozen=True)
class StressConfig:
    seed: int = 0
    seconds: float = 20.0  # writers and readers at once; then the run is let finish
    episodes: int = 40
    steps: int = 30
    workers: int = 2
    kills: int = 4  # the run is killed and resumed at most this many times
    labellers: int = 3
    labels_each: int = 150
    kill_share: float = 0.6  # compactions and merges killed half-way


@dataclass
class StressReport:
    kills_survived: int = 0
    processes_left: int = 0  # of killed runs, still alive 10 s after the kill
    compactions: int = 0
    compactions_killed: int = 0
    merges: int = 0
    merges_killed: int = 0
    labels_written: int = 0
    labels_found: int = 0
    episodes_expected: int = 0
    episodes_found: int = 0
    reads: int = 0
    page_loads: int = 0
    reader_errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what the final checks found
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.reader_errors and not self.problems and not self.processes_left

    def render(self) -> str:
        lines = [
            f"run kills survived        {self.kills_survived}",
            f"processes left after kill {self.processes_left}",
            f"compactions done / killed {self.compactions} / {self.compactions_killed}",
            f"label merges done / killed {self.merges} / {self.merges_killed}",
            f"labels written / found    {self.labels_written} / {self.labels_found}",
            f"episodes planned / found  {self.episodes_expected} / {self.episodes_found}",
            f"reads / page loads        {self.reads} / {self.page_loads}",
            f"reader errors             {len(self.reader_errors)}",
            f"final check problems      {len(self.problems)}",
            f"wall time                 {self.seconds:.1f}s",
        ]
        lines += [f"  reader error: {e}" for e in self.reader_errors[:10]]
        lines += [f"  problem: {p}" for p in self.problems[:10]]
        return "\n".join(lines)


def _episode_counts(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    row = con.execute("SELECT count(*), count(DISTINCT episode_id) FROM episodes").fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _session_alive(sid: int) -> int:
    """Live (not zombie) processes of session ``sid`` (Linux; 0 elsewhere)."""
    alive = 0
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        alive += fields[0] != "Z" and int(fields[3]) == sid
    return alive


class Scenario:
    def __init__(self, root: Path, cfg: StressConfig, page: Page | None = None) -> None:
        self.root, self.cfg, self.page = Path(root), cfg, page
        self.report = StressReport(episodes_expected=cfg.episodes)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.tally: dict[tuple[str, bool], int] = {}  # (what, killed) → how many

    # ----------------------------------------------------------------- processes

    def _spawn(self, *args: str, session: bool = False) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", *args],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=session,
        )

    def _role(self, *args: str, session: bool = False) -> subprocess.Popen[str]:
        return self._spawn("automem_core.testing.stress_roles", *args, session=session)

    def _cli(self, *args: str) -> subprocess.Popen[str]:
        return self._spawn("automem_core.cli", *args, "--data", str(self.root), "--quiet")

    def _run_process(self) -> subprocess.Popen[str]:
        cfg = self.cfg
        seeds = f"0-{cfg.episodes - 1}"
        return self._role("run", str(self.root), RUN_ID, seeds, str(cfg.steps), str(cfg.workers),
                          session=True)  # fmt: skip

    def _compact(self) -> subprocess.Popen[str]:
        return self._cli("compact")

    def _merge(self) -> subprocess.Popen[str]:
        return self._role("merge", str(self.root))

    def _error(self, what: str, line: str) -> None:
        with self.lock:
            self.report.reader_errors.append(f"{what}: {line.strip()[:300]}")

    # ----------------------------------------------------------------- writers

    def _runner(self) -> None:
        """Start the run, kill it at a random moment, resume it; the last resume runs on."""
        rng = random.Random(self.cfg.seed * 101 + 1)
        for attempt in range(self.cfg.kills + 1):
            proc = self._run_process()
            if attempt == self.cfg.kills:
                _out, err = proc.communicate()
                if proc.returncode != 0:
                    self.report.problems.append(f"the last resume failed: {_last_line(err)}")
                return
            try:
                proc.wait(timeout=rng.uniform(1.5, 4.0))
                return  # it finished before its kill
            except subprocess.TimeoutExpired:
                pass
            os.kill(proc.pid, signal.SIGKILL)
            proc.communicate()
            deadline = time.monotonic() + 10
            while _session_alive(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            with self.lock:
                self.report.kills_survived += 1
                self.report.processes_left += _session_alive(proc.pid)

    def _killable(self, name: str, start: Callable[[], subprocess.Popen[str]], salt: int) -> None:
        """Start, and kill half-way in ``kill_share`` of the cases, until stopped."""
        rng = random.Random(self.cfg.seed * 101 + salt)
        while not self.stop.is_set():
            proc = start()
            killed = False
            if rng.random() < self.cfg.kill_share:
                time.sleep(rng.uniform(0.05, 1.2))
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                    killed = True
            _out, err = proc.communicate()
            with self.lock:
                self.tally[(name, killed)] = self.tally.get((name, killed), 0) + 1
            if not killed and (proc.returncode != 0 or err.strip()):
                self._error(
                    f"{name} (exit {proc.returncode})", (err.strip().splitlines() or [""])[-1]
                )
            time.sleep(rng.uniform(0.0, 0.3))

    # ----------------------------------------------------------------- readers

    def _cli_reader(self) -> None:
        commands = (("runs",), ("episodes", "--run", RUN_ID))
        i = 0
        while not self.stop.is_set():
            proc = self._cli(*commands[i % 2])
            _out, err = proc.communicate()
            if proc.returncode != 0 or err.strip():
                self._error(f"automem {commands[i % 2][0]}", _last_line(err))
            with self.lock:
                self.report.reads += 1
            i += 1

    def _store_reader(self) -> None:
        rng = random.Random(self.cfg.seed * 101 + 7)
        seen_episodes = 0
        while not self.stop.is_set():
            lower = committed(self.root)
            try:
                ids = read_records(self.root, "labels").column("label_id").to_pylist()
                if len(ids) != len(set(ids)) or len(ids) < lower:
                    self._error("read_records", f"{len(ids)} labels ({len(set(ids))} distinct), "
                                f"{lower} committed before")  # fmt: skip
                count, distinct = query_store(
                    self.root, _episode_counts, tables=("episodes",), run_ids=[RUN_ID]
                )
                if count != distinct or count < seen_episodes:
                    self._error("query_store", f"{count} episodes ({distinct} distinct), "
                                f"{seen_episodes} seen before")  # fmt: skip
                seen_episodes = max(seen_episodes, count)
                published = scan_run(Layout(self.root).run_dir(RUN_ID)).episodes()
                if published:
                    memory_at(self.root, rng.choice(published), rng.randrange(self.cfg.steps))
            except Exception as exc:
                self._error(type(exc).__name__, str(exc))
            with self.lock:
                self.report.reads += 1

    # ----------------------------------------------------------------- the whole

    def run(self) -> StressReport:
        start = time.monotonic()
        cfg = self.cfg
        labellers = [
            self._role("label", str(self.root), f"person{i}", str(cfg.labels_each), str(seed))
            for i, seed in enumerate(
                range(cfg.seed * 101 + 20, cfg.seed * 101 + 20 + cfg.labellers)
            )
        ]
        threads = [
            threading.Thread(target=self._runner),
            threading.Thread(target=self._killable, args=("compact", self._compact, 2)),
            threading.Thread(target=self._killable, args=("merge", self._merge, 3)),
            threading.Thread(target=self._cli_reader),
            threading.Thread(target=self._store_reader),
        ]
        for thread in threads:
            thread.start()
        page_rng = random.Random(cfg.seed * 101 + 9)
        while time.monotonic() - start < cfg.seconds:
            if self.page is None:
                time.sleep(0.2)
                continue
            try:
                self.page(self.root, page_rng)
            except Exception as exc:
                self._error(f"page {type(exc).__name__}", str(exc))
            self.report.page_loads += 1
        for proc in labellers:
            _out, err = proc.communicate(timeout=300)
            if proc.returncode != 0:
                self._error("labeller", _last_line(err))
        self.stop.set()
        for thread in threads:
            thread.join()
        report = self.report
        report.compactions = self.tally.get(("compact", False), 0)
        report.compactions_killed = self.tally.get(("compact", True), 0)
        report.merges = self.tally.get(("merge", False), 0)
        report.merges_killed = self.tally.get(("merge", True), 0)
        self._finish()
        self.report.seconds = time.monotonic() - start
        return self.report

    def _finish(self) -> None:
        """Resume the run to its end, compact once more, and check the store."""
        for args in ((), ("compact",)):
            proc = self._run_process() if not args else self._cli(*args)
            _out, err = proc.communicate(timeout=600)
            if proc.returncode != 0:
                self.report.problems.append(f"final {args or 'run'}: {err.strip()[-300:]}")
        con = connect(self.root, run_ids=[RUN_ID])
        found = con.execute(
            "SELECT e.episode_id, e.steps, count(s.step), min(s.step), max(s.step) "
            "FROM episodes e LEFT JOIN steps s USING (episode_id) GROUP BY ALL"
        ).fetchall()
        ids = [row[0] for row in found]
        self.report.episodes_found = len(ids)
        expected = {f"{RUN_ID}.grid.s{s}" for s in range(self.cfg.episodes)}
        if len(ids) != len(set(ids)) or set(ids) != expected:
            self.report.problems.append(f"episodes: {len(ids)} rows, {len(set(ids))} distinct")
        for eid, steps, n, lo, hi in found:
            if not (n == steps and (n == 0 or (lo == 0 and hi == steps - 1))):
                self.report.problems.append(f"{eid}: {n} step rows for {steps} steps")
        labels = read_records(self.root, "labels").column("label_id").to_pylist()
        written = {label_id(f"person{i}", j) for i in range(self.cfg.labellers)
                   for j in range(self.cfg.labels_each)}  # fmt: skip
        self.report.labels_written, self.report.labels_found = len(written), len(labels)
        if len(labels) != len(set(labels)) or set(labels) != written:
            self.report.problems.append(f"labels: {len(labels)} found, {len(set(labels))} distinct")
        left = [str(item.path) for item in store_leftovers(self.root) if not item.young]
        self.report.problems += [f"leftover {path}" for path in left]


def run_stress(root: Path, cfg: StressConfig, page: Page | None = None) -> StressReport:
    """The scenario on a new store at ``root``; what it found."""
    return Scenario(root, cfg, page).run()
