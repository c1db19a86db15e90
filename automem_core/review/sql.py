"""The reviewer's SQL: a DuckDB connection that can read the reviewed runs and nothing else.

:func:`open_confined` builds the reviewer's views (``scope.py``: only rows of the reviewed runs),
then confines the connection with DuckDB's own settings, in this order:

- ``temp_directory = ''``: nothing spills to disk (a query past ``memory_limit`` fails instead);
- ``autoinstall_known_extensions`` / ``autoload_known_extensions`` off (set at connect), and no
  scan of Python variables by name (``python_enable_replacements = false``);
- ``allowed_paths`` = exactly the reviewed runs' files the views read, and no
  ``allowed_directories``;
- ``enable_external_access = false``: every other file, directory, glob, URL, ATTACH, COPY and
  extension is refused by DuckDB itself, whatever the SQL looks like;
- ``lock_configuration = true``: no SET/PRAGMA/RESET can undo any of it.

:meth:`ConfinedSQL.query` accepts one query that passes ``sql_check.py`` (one SELECT over the
views, nothing that reads or changes the session), and keeps its promises for the whole call:

- time: one deadline from the call's start; past ``timeout_s`` DuckDB is interrupted
  (``con.interrupt()``) and the answer is the ``stopped:`` message, wherever the work was;
- memory and size: the query runs wrapped (``sql_render.py``) so that each cell reaching Python
  is bounded inside DuckDB (text cut by ``left()``, blobs as their size, rows past ``max_rows``
  only counted), under DuckDB's ``memory_limit``;
- the session: each query runs in a transaction that is rolled back, and the catalog's tables
  and views are compared after it; a changed session is closed (its queries then answer an
  error) rather than used. :meth:`~ConfinedSQL.fingerprint` is the whole session (macros,
  types and settings too), for a caller that can afford 15 ms to compare it.

A compaction can move the reviewed runs' rows into new files while a review goes on; a query that
failed opening a file while a file the views read is gone, with at least half its time left, is
run again once, on a fresh connection built the same way over the files as they are now (a query
stopped for its time never runs again).

Answers are compact text, never exceptions.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from automem_core.errors import AutoMemError
from automem_core.review.scope import VIEWS, build_views
from automem_core.review.sql_check import check_query, check_tree, first_line
from automem_core.review.sql_render import bounded_select, read_cells, render_table

log = logging.getLogger(__name__)

MAX_ROWS = 200
MAX_COLUMNS = 40
MAX_CELL_CHARS = 300
TIMEOUT_S = 10.0
MEMORY_LIMIT = "2GB"
_BATCH_ROWS = 65_536
# The catalog as the views left it: every object a query could add, drop or redefine. The
# check after each query reads the first lines only (1 ms: what a query reaching the catalog
# would make, a temp table or view); the whole of it adds macros, types and settings (15 ms).
_OBJECTS_SQL = """
SELECT 'view', database_name, schema_name, view_name, sql FROM duckdb_views() WHERE NOT internal
UNION ALL SELECT 'table', database_name, schema_name, table_name, sql FROM duckdb_tables()
UNION ALL SELECT 'sequence', database_name, schema_name, sequence_name, sql
    FROM duckdb_sequences()
UNION ALL SELECT 'index', database_name, schema_name, index_name, sql FROM duckdb_indexes()
UNION ALL SELECT 'database', database_name, '', '', coalesce(path, '') FROM duckdb_databases()
"""
FINGERPRINT_SQL = """
SELECT 'view', database_name, schema_name, view_name, sql FROM duckdb_views() WHERE NOT internal
UNION ALL SELECT 'table', database_name, schema_name, table_name, sql FROM duckdb_tables()
UNION ALL SELECT 'function', database_name, schema_name, function_name,
    coalesce(macro_definition, '') FROM duckdb_functions() WHERE NOT internal
UNION ALL SELECT 'sequence', database_name, schema_name, sequence_name, sql
    FROM duckdb_sequences()
UNION ALL SELECT 'index', database_name, schema_name, index_name, sql FROM duckdb_indexes()
UNION ALL SELECT 'type', database_name, schema_name, type_name, logical_type
    FROM duckdb_types() WHERE NOT internal
UNION ALL SELECT 'database', database_name, '', '', coalesce(path, '') FROM duckdb_databases()
UNION ALL SELECT 'setting', name, '', '', coalesce(value, '') FROM duckdb_settings()
ORDER BY ALL
"""
_CATALOG_SQL = """
SELECT DISTINCT lower(table_name) FROM duckdb_tables()
UNION SELECT DISTINCT lower(view_name) FROM duckdb_views()
"""


class ConfinementError(AutoMemError, RuntimeError):
    """The installed DuckDB cannot confine the connection (it lacks a setting); nothing runs."""


@dataclass(frozen=True)
class SqlResult:
    """A query's answer as text; ``ok`` is False when it was refused, failed or stopped."""

    text: str
    ok: bool
    rows: int = 0  # rows the query returned (all of them, not only those shown)


class _Deadline:
    """Interrupts the connection ``seconds`` from now, and remembers that it did."""

    def __init__(self, con: duckdb.DuckDBPyConnection, seconds: float) -> None:
        self.fired = threading.Event()
        self._con = con
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired.set()
        self._con.interrupt()

    def cancel(self) -> None:
        self._timer.cancel()


class ConfinedSQL:
    """One confined DuckDB connection over the reviewed runs. Thread-safe (one query at a time)."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        *,
        views: Sequence[str] = VIEWS,
        files: Sequence[str] = (),
        max_rows: int = MAX_ROWS,
        timeout_s: float = TIMEOUT_S,
        max_cell_chars: int = MAX_CELL_CHARS,
        max_columns: int = MAX_COLUMNS,
        reopen: Callable[[], tuple[duckdb.DuckDBPyConnection, list[str]]] | None = None,
    ) -> None:
        self._con = con
        self._reopen = reopen  # a fresh confined connection and its files, the same way
        self.views = tuple(views)
        self.files = tuple(files)  # the only files the connection may open
        self.max_rows = max_rows
        self.timeout_s = timeout_s
        self.max_cell_chars = max_cell_chars
        self.max_columns = max_columns
        self._lock = threading.Lock()
        self._catalog = frozenset(str(n) for (n,) in con.execute(_CATALOG_SQL).fetchall())
        self._objects = self._catalog_objects()
        self._closed = ""  # why the connection was closed, once it is
        self._error: BaseException | None = None  # what the last query failed with

    def query(self, sql: str) -> SqlResult:
        """Run one read-only query and answer as text (refusals, errors and stops too)."""
        started = time.perf_counter()
        with self._lock:
            if self._closed:
                return SqlResult(f"error: the SQL connection is closed ({self._closed})", False)
            for attempt in range(2):
                left_s = max(0.0, self.timeout_s - (time.perf_counter() - started))
                deadline = _Deadline(self._con, left_s)
                self._error = None
                try:
                    result = self._run(sql, deadline)
                finally:
                    deadline.cancel()
                    self._end_transaction()
                self._verify_session()
                if result.ok or attempt or self._closed or deadline.fired.is_set():
                    break
                if not self._retry(self._error, started):
                    break
        return result

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of a query written by AutoMem itself (the tools' own lookups), under the same
        time cap; raises ``duckdb.Error`` (``InterruptException`` past the cap)."""
        started = time.perf_counter()
        with self._lock:
            for attempt in range(2):
                left_s = max(0.0, self.timeout_s - (time.perf_counter() - started))
                deadline = _Deadline(self._con, left_s)
                try:
                    return self._con.execute(sql, list(params)).fetchall()
                except duckdb.Error as exc:
                    error: duckdb.Error = exc
                finally:
                    deadline.cancel()
                if attempt or deadline.fired.is_set() or not self._retry(error, started):
                    raise error
            raise AssertionError("unreachable")

    def fingerprint(self) -> tuple[tuple[str, ...], ...]:
        """Every catalog object and setting of the session, with its definition."""
        return tuple(tuple(map(str, row)) for row in self._con.execute(FINGERPRINT_SQL).fetchall())

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def _retry(self, error: BaseException | None, started: float) -> bool:
        """Whether a query that failed with ``error`` should run again: it failed opening a
        file, a file the views read has gone (a compaction moved its rows), at least half the
        time is left, and a fresh connection over the files as they are now was made."""
        if not isinstance(error, (duckdb.IOException, duckdb.PermissionException)):
            return False
        if time.perf_counter() - started > self.timeout_s / 2:
            return False  # a query stopped for its time is never run again
        if self._reopen is None or all(os.path.exists(f) for f in self.files):
            return False
        try:
            con, files = self._reopen()
        except Exception as exc:  # the store itself cannot be read now: the first answer stands
            log.warning("could not reopen the reviewer's SQL: %s", first_line(exc))
            return False
        self._con.close()
        self._con, self.files = con, tuple(files)
        self._catalog = frozenset(str(n) for (n,) in con.execute(_CATALOG_SQL).fetchall())
        self._objects = self._catalog_objects()
        log.info("the reviewed runs' files moved (a compaction); SQL reconnected")
        return True

    def _catalog_objects(self) -> list[tuple[Any, ...]]:
        return sorted(self._con.execute(_OBJECTS_SQL).fetchall(), key=str)

    def _run(self, sql: str, deadline: _Deadline) -> SqlResult:
        checked, refusal = check_query(sql, self.views, self._catalog)
        if checked is None:
            return SqlResult(refusal, ok=False)
        try:
            self._con.begin()  # rolled back whatever the query does
            relation = self._con.sql(checked.body)  # bound, not run: its columns and types
            columns, types = list(relation.columns), list(relation.types)
            bounded = bounded_select(
                checked.body, types, max_rows=self.max_rows,
                max_cell_chars=self.max_cell_chars, max_columns=self.max_columns,
            )  # fmt: skip
            refusal = check_tree(bounded.sql, self.views, self._catalog)  # what runs is checked
            if refusal:
                return SqlResult(refusal, ok=False)
            shown: list[tuple[object, ...]] = []
            total = 0
            for batch in self._con.sql(bounded.sql).to_arrow_reader(_BATCH_ROWS):
                if len(shown) < self.max_rows:
                    head = batch.slice(0, self.max_rows - len(shown))
                    values = zip(*(column.to_pylist() for column in head.columns), strict=True)
                    shown.extend(read_cells(bounded, row) for row in values)
                total += batch.num_rows
        except (duckdb.Error, pa.ArrowException, OSError) as exc:
            self._error = exc
            return self._failure(exc, deadline)
        hidden = max(0, len(columns) - self.max_columns)
        text = render_table(columns[: self.max_columns], shown, total, self.max_cell_chars, hidden)
        return SqlResult(text, ok=True, rows=total)

    def _failure(self, exc: BaseException, deadline: _Deadline) -> SqlResult:
        if deadline.fired.is_set() or isinstance(exc, duckdb.InterruptException):
            return SqlResult(
                f"stopped: the query ran past {self.timeout_s:g} s; narrow it "
                "(WHERE episode_id = …, a step range, LIMIT) or aggregate",
                ok=False,
            )
        if isinstance(exc, duckdb.PermissionException):
            return SqlResult(
                "refused: the query reaches outside the reviewed runs' data; only the views "
                f"({', '.join(self.views)}) can be read ({first_line(exc)})",
                ok=False,
            )
        return SqlResult(f"error: {first_line(exc)}", ok=False)

    def _end_transaction(self) -> None:
        for _ in range(2):  # an interrupt landing on the rollback itself: once more
            try:
                self._con.rollback()
                return
            except duckdb.TransactionException:
                return  # none was open (the query was refused before it began)
            except duckdb.Error as exc:
                log.warning("rolling back a reviewer query failed: %s", first_line(exc))

    def _verify_session(self) -> None:
        try:
            same = self._catalog_objects() == self._objects
        except duckdb.Error as exc:
            same, exc_text = False, first_line(exc)
        else:
            exc_text = "its catalog changed"
        if not same:
            log.error("a reviewer query changed the SQL session (%s); closing it", exc_text)
            self._closed = f"a query changed the session: {exc_text}; the other tools still answer"
            self._con.close()


def open_confined(
    root: Path,
    run_ids: Sequence[str],
    *,
    max_rows: int = MAX_ROWS,
    timeout_s: float = TIMEOUT_S,
    memory_limit: str = MEMORY_LIMIT,
    max_cell_chars: int = MAX_CELL_CHARS,
) -> ConfinedSQL:
    """The reviewer's views over ``run_ids`` under ``root``, on a connection confined to their
    files."""
    if not run_ids:
        raise ValueError("open_confined needs at least one run id to review")

    def reopen() -> tuple[duckdb.DuckDBPyConnection, list[str]]:
        return _connect_confined(Path(root), list(run_ids), memory_limit)

    con, files = reopen()
    try:
        return ConfinedSQL(
            con, views=VIEWS, files=files, max_rows=max_rows, timeout_s=timeout_s,
            max_cell_chars=max_cell_chars, reopen=reopen,
        )  # fmt: skip
    except BaseException:
        con.close()
        raise


def _connect_confined(
    root: Path, run_ids: list[str], memory_limit: str
) -> tuple[duckdb.DuckDBPyConnection, list[str]]:
    """A connection with the reviewer's views over ``run_ids``, confined to their files."""
    con = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    try:
        con.execute("SET temp_directory = ''")  # before external access goes off
        con.execute("SET memory_limit = $limit", {"limit": memory_limit})
        files = build_views(con, root, run_ids)
        _confine(con, files)
        return con, files
    except BaseException:
        con.close()
        raise


def _confine(con: duckdb.DuckDBPyConnection, files: list[str]) -> None:
    try:
        con.execute("SET python_enable_replacements = false")
        con.execute("SET allowed_directories = []")
        con.execute("SET allowed_paths = $files", {"files": files})
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except duckdb.Error as exc:
        raise ConfinementError(
            f"DuckDB {duckdb.__version__} cannot confine the reviewer's SQL "
            f"({first_line(exc)}); install duckdb>=1.3"
        ) from None
    locked = con.execute(
        "SELECT current_setting('enable_external_access'), current_setting('lock_configuration')"
    ).fetchall()
    if locked != [(False, True)]:
        raise ConfinementError(f"the reviewer's SQL connection is not confined ({locked})")
