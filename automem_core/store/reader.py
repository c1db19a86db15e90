"""Reading the store: DuckDB views over the Parquet files, resume state, unreadable files.

The views are built from the runs' manifests (``catalog.py``): a compacted part is trusted from
its manifest entry (schema version, size), so building them does not open every file; only loose
episode folders and run rows have their footers read. ``connect(root, tables=…, run_ids=…)``
builds only the views a page needs, over only the runs it shows. Files written by an earlier
schema are upgraded as they are read (``migrations.py``); unreadable files are left out and
reported with the run and episodes they hold, so one bad file never hides the rest.

Writers move files while we read (docs/architecture.md, "Reading while others write"): a file
the view was given that is gone, or not the size its manifest says, sends the reader back to a
fresh listing; only a file missing the same way twice in a row is a problem of the store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from automem_core.store.catalog import RunFiles, locate_episode, scan
from automem_core.store.layout import Layout
from automem_core.store.migrations import file_version, needs_upgrade, read_upgraded
from automem_core.store.part_stats import stats_table
from automem_core.store.records import record_files
from automem_core.store.remote import remote_of
from automem_core.store.remote_lazy import fetch_missing
from automem_core.store.run_index import read_run_rows
from automem_core.store.schema import (
    DERIVED_TABLES,
    EPISODE_TABLES,
    SCHEMA_VERSION,
    SCHEMAS,
    TABLES,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
READ_ERRORS = (OSError, pa.ArrowException)
# Mining a run again appends all its decisions again (records are never rewritten). The
# ``decisions`` view shows each run's latest mining only, so every decision appears once;
# ``decisions_mined`` keeps every row ever mined. Labels refer to decision ids and so stay.
# Two commands resampling one decision at once may both append its sample k (the same
# ``alternative_id``, mining/resample.py): the ``alternatives`` view shows the first appended
# (partitioned by decision too, which the id implies, so a filter on a decision reaches the files).
_RAW_VIEWS = {"decisions": "decisions_mined", "alternatives": "alternatives_appended"}
FIRST_ALTERNATIVE_SQL = """
CREATE OR REPLACE VIEW alternatives AS
SELECT * FROM alternatives_appended
QUALIFY row_number() OVER (PARTITION BY decision_id, alternative_id ORDER BY created_at) = 1
"""
LATEST_MINING_SQL = """
CREATE OR REPLACE VIEW decisions AS
SELECT d.* FROM decisions_mined d
SEMI JOIN (SELECT run_id, max(mined_at) AS mined_at FROM decisions_mined GROUP BY run_id) latest
  ON d.run_id = latest.run_id AND d.mined_at = latest.mined_at
"""
VIEW_ATTEMPTS = 5  # fresh listings a view may take while writers keep moving its files


@dataclass(frozen=True)
class Problem:
    """A file left out of every query, and what it holds."""

    path: str
    run_id: str
    episodes: tuple[str, ...]
    reason: str
    moved: bool = False  # not there (or not as its manifest said): a writer may have moved it


@dataclass
class ViewFiles:
    """Per table, the readable files and their schema versions; and the problems found."""

    files: dict[str, dict[str, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # The episodes files whose totals no part's manifest entry holds, and those totals.
    unsummarised: dict[str, int] = field(default_factory=dict)
    part_stats: list[dict[str, object]] = field(default_factory=list)
    upgraded_runs: set[Path] = field(default_factory=set)  # run files of an earlier schema


def _footer_version(path: Path, run_id: str, episodes: tuple[str, ...], out: ViewFiles) -> int:
    """The schema version from the footer (-1, with a problem noted, when it cannot be used)."""
    try:
        version = file_version(path)
    except FileNotFoundError:
        out.problems.append(Problem(str(path), run_id, episodes, "missing", moved=True))
        return -1
    except READ_ERRORS as exc:
        out.problems.append(Problem(str(path), run_id, episodes, f"unreadable: {exc}"))
        return -1
    if version > SCHEMA_VERSION:
        reason = f"written by a newer AutoMem (schema {version} > {SCHEMA_VERSION}); upgrade"
        out.problems.append(Problem(str(path), run_id, episodes, reason))
        return -1
    return version


def _collect(run: RunFiles, table: str, verify: bool, out: ViewFiles, fetch: bool) -> None:
    files = out.files.setdefault(table, {})
    if table == "runs":
        if run.run_file.exists():
            version = _footer_version(run.run_file, run.run_id, (), out)
            if version >= 0:
                files[str(run.run_file)] = version
        return
    derived = table in DERIVED_TABLES  # absent where the episodes predate it: not a problem
    for part in run.parts:
        path = run.part_file(part, table)
        if derived and table not in part.sizes:
            continue
        if not run.part_ok(part, table, fetch):
            if not fetch and run.part_held(part, table):
                continue  # left in the store by a mirror's pull: not looked at (nor a problem)
            reason = "missing or not the size written"
            out.problems.append(Problem(str(path), run.run_id, part.episodes, reason, True))
        elif verify:
            version = _footer_version(path, run.run_id, part.episodes, out)
            if version >= 0:
                files[str(path)] = version
        else:
            files[str(path)] = part.version
        if table == "episodes" and str(path) in files:
            if part.task_stats is None:
                out.unsummarised[str(path)] = files[str(path)]
            else:
                out.part_stats.extend({**row, "run_id": run.run_id} for row in part.task_stats)
    for episode_id, folder in run.loose.items():
        path = folder / f"{table}.parquet"
        if derived and not path.exists():
            continue
        version = _footer_version(path, run.run_id, (episode_id,), out)
        if version >= 0:
            files[str(path)] = version
            if table == "episodes":
                out.unsummarised[str(path)] = version


def view_files(
    root: Path,
    tables: Iterable[str] = TABLES,
    run_ids: Sequence[str] | None = None,
    verify: bool = False,
    runs: list[RunFiles] | None = None,
    fetch: bool = True,
) -> ViewFiles:
    """The files each table's view reads. ``verify`` also opens the parts' footers (slow; used
    after a query failed on a file the manifest vouched for). ``runs``: the scan, when done.
    ``fetch`` off: a mirror's part files left in the store are neither fetched nor listed."""
    out = ViewFiles()
    if runs is None:
        runs = scan(root, list(run_ids) if run_ids is not None else None)
    tables = tuple(tables)
    if fetch and remote_of(root) is not None:  # a mirror: what its pull left, in one batch
        parts = [(run, part) for run in runs for part in run.parts]
        fetch_missing(root, [(run.part_file(part, t), part.sizes[t]) for run, part in parts
                             for t in tables if t in part.sizes])  # fmt: skip
    for table in tables:
        out.files.setdefault(table, {})
        if table not in (*EPISODE_TABLES, *DERIVED_TABLES, "runs"):  # an append-only record table
            for path in record_files(root, table):
                version = _footer_version(path, "", (), out)
                if version >= 0:
                    out.files[table][str(path)] = version
            continue
        for run in runs:
            _collect(run, table, verify, out, fetch)
    return out


def _quote(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


def connect(
    root: Path,
    con: duckdb.DuckDBPyConnection | None = None,
    tables: Iterable[str] = TABLES,
    run_ids: Sequence[str] | None = None,
    verify: bool = False,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with a view per table (only ``tables``, over only
    ``run_ids`` when given). Tables with no files are empty views with the right columns."""
    con = con or duckdb.connect()
    connect_views(root, con, tables, run_ids, verify)
    return con


def connect_views(
    root: Path,
    con: duckdb.DuckDBPyConnection,
    tables: Iterable[str] = TABLES,
    run_ids: Sequence[str] | None = None,
    verify: bool = False,
) -> ViewFiles:
    """Build the views of :func:`connect` on ``con``; the files they read. A view whose files
    a writer moved meanwhile is built again from a fresh listing (see the module's note)."""
    con.execute("SET enable_progress_bar = false")  # DuckDB's own bar would print to stdout
    tables = tuple(tables)
    seen: set[str] | None = None
    for attempt in range(1, VIEW_ATTEMPTS + 1):
        try:
            plan, older = _build_views(root, con, tables, run_ids, verify)
        except FileNotFoundError:  # an older file read into memory was moved: list again
            if attempt == VIEW_ATTEMPTS:
                raise
            continue
        moved = {p.path for p in plan.problems if p.moved}
        if not moved or moved == seen or attempt == VIEW_ATTEMPTS:
            break
        seen = moved
    for problem in plan.problems:
        log.warning(
            "left out %s (%s): delete it or re-run its episodes", problem.path, problem.reason
        )
    if older:
        log.warning(
            "%d files were written by an earlier AutoMem and are upgraded each time they are "
            "read; `automem upgrade --data %s` rewrites them once",
            older,
            root,
        )
    return plan


def _build_views(
    root: Path,
    con: duckdb.DuckDBPyConnection,
    tables: tuple[str, ...],
    run_ids: Sequence[str] | None,
    verify: bool,
) -> tuple[ViewFiles, int]:
    """One listing of the store and the views over it; the files, and how many are older."""
    runs = scan(root, list(run_ids) if run_ids is not None else None) if tables else []
    plan = view_files(root, [t for t in tables if t != "runs"], run_ids, verify, runs)
    older = 0
    if "runs" in tables:  # through the index: no run file opened unless it changed
        rows, _ = read_run_rows(root, runs, lambda run: _read_run(run, plan))
        older += sum(1 for run in runs if run.run_file in plan.upgraded_runs)
        con.register("_run_rows", rows)
        con.execute("CREATE OR REPLACE VIEW runs AS SELECT * FROM _run_rows")
    for table, files in plan.files.items():
        older += _create_view(con, _RAW_VIEWS.get(table, table), table, files)
    if "decisions" in plan.files:
        con.execute(LATEST_MINING_SQL)
    if "alternatives" in plan.files:
        con.execute(FIRST_ALTERNATIVE_SQL)
    if "episodes" in plan.files:  # for the per-task totals (analysis/runs.py TASK_STATS_SQL)
        _create_view(con, "unsummarised_episodes", "episodes", plan.unsummarised)
        con.register("part_task_stats", stats_table(plan.part_stats))
    return plan, older


def _read_run(run: RunFiles, plan: ViewFiles) -> pa.Table | None:
    """A run's row read afresh, upgraded when an earlier schema wrote it (None, with the
    problem noted, when it cannot be used)."""
    version = _footer_version(run.run_file, run.run_id, (), plan)
    if version < 0:
        return None
    if needs_upgrade("runs", version):
        plan.upgraded_runs.add(run.run_file)
    return _upgraded("runs", str(run.run_file))


def _create_view(
    con: duckdb.DuckDBPyConnection, view: str, table: str, files: dict[str, int]
) -> int:
    """View ``view`` over ``files`` of ``table`` (path → schema version); how many of them
    were written by an earlier schema (upgraded in memory as they are read)."""
    current = [p for p, v in files.items() if not needs_upgrade(table, v)]
    parts = [f"SELECT * FROM read_parquet([{', '.join(_quote(p) for p in current)}])"]
    parts = parts if current else []
    upgraded = [_upgraded(table, p) for p, v in files.items() if needs_upgrade(table, v)]
    upgraded = [t for t in upgraded if t is not None]
    if upgraded:
        con.register(f"_upgraded_{view}", pa.concat_tables(upgraded))
        parts.append(f"SELECT * FROM _upgraded_{view}")
    if not parts:
        con.register(f"_empty_{view}", SCHEMAS[table].empty_table())
        parts.append(f"SELECT * FROM _empty_{view}")
    con.execute(f"CREATE OR REPLACE VIEW {view} AS {' UNION ALL BY NAME '.join(parts)}")
    return len(upgraded)


def _upgraded(table: str, path: str) -> pa.Table | None:
    try:
        return read_upgraded(table, Path(path))
    except FileNotFoundError:
        raise  # moved by a writer: the view is built again from a fresh listing
    except READ_ERRORS as exc:
        log.warning("skipping unreadable file %s (%s): delete it or re-run its episode", path, exc)
        return None


def query_store(
    root: Path,
    query: Callable[[duckdb.DuckDBPyConnection], T],
    tables: Iterable[str] = TABLES,
    run_ids: Sequence[str] | None = None,
) -> T:
    """``query`` on a fresh connection to the store under ``root``.

    The views are built over the files present when connecting. When a writer replaced or
    compacted a folder since, DuckDB raises: connect again and retry; the last try also opens
    every footer, in case a file the manifest vouched for is damaged.
    """
    tables = tuple(tables)
    attempts = 3
    for attempt in range(1, attempts + 1):
        con = duckdb.connect()
        try:
            connect(root, con, tables=tables, run_ids=run_ids, verify=attempt == attempts)
            return query(con)
        except (duckdb.IOException, duckdb.InvalidInputException):
            if attempt == attempts:
                raise
        finally:
            con.close()
    raise AssertionError("unreachable")


def store_problems(root: Path, run_ids: Sequence[str] | None = None) -> list[Problem]:
    """Every file of the store that is left out of the views, with what it holds (a mirror's
    part files left in the store are not fetched to be looked at)."""
    return view_files(root, ("runs", *EPISODE_TABLES), run_ids, fetch=False).problems


def episode_dir(root: Path, episode_id: str) -> Path:
    """The folder of a loose (not yet compacted) episode; StoreError when it is not one."""
    found = locate_episode(root, episode_id)
    return found.files["episodes"].parent


def finished_episodes(layout: Layout, run_id: str) -> dict[str, str]:
    """episode_id → status for every episode of a run whose files all read (used to resume: an
    episode with a corrupt or missing file counts as not played). A folder a compaction took
    meanwhile sends it back to a fresh listing, so a compacted episode is never played again."""
    for _ in range(VIEW_ATTEMPTS):
        out, moved = _finished(layout, run_id)
        if not moved:
            break
    return out


def _finished(layout: Layout, run_id: str) -> tuple[dict[str, str], bool]:
    """The finished episodes of one listing, and whether a folder of it went away meanwhile."""
    out: dict[str, str] = {}
    for run in scan(layout.root, [run_id]):
        for part in run.parts:
            if all(run.part_held(part, t) for t in EPISODE_TABLES):  # none fetched
                out.update(dict.fromkeys(part.episodes, "ok"))  # parts hold clean episodes
            else:
                log.warning("a part of run %s cannot be read; its episodes will be played again",
                            run_id)  # fmt: skip
        for episode_id, folder in run.loose.items():
            status = _complete_status(folder)
            if status is None and not folder.exists():
                return out, True
            if status is not None:
                out[episode_id] = status
    return out, False


def _complete_status(folder: Path) -> str | None:
    """The episode's status when every table file of its folder is there and reads (the writer
    writes each table, empty or not, so a missing one was deleted); None otherwise."""
    try:
        for table in EPISODE_TABLES:
            pq.read_metadata(folder / f"{table}.parquet")
        status = pq.read_table(folder / "episodes.parquet", columns=["status"])["status"][0]
    except (*READ_ERRORS, IndexError):
        if folder.exists():
            log.warning("episode folder %s has a missing or unreadable table; it will be played "
                        "again", folder.name)  # fmt: skip
        return None
    return str(status.as_py())
