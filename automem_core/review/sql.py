"""The reviewer's SQL: a DuckDB connection that can read the reviewed runs and nothing else.

:func:`open_confined` builds the store's views (``runs, episodes, steps, turns, memory_ops,
memory_snapshots, frames, labels``) over only the reviewed runs' files, then confines the
connection with DuckDB's own settings, in this order:

- ``temp_directory = ''``: nothing spills to disk (a query past ``memory_limit`` fails instead);
- ``autoinstall_known_extensions`` / ``autoload_known_extensions`` off (set at connect);
- ``allowed_paths`` = exactly the files the views read, and no ``allowed_directories``;
- ``enable_external_access = false``: every other file, directory, glob, URL, ATTACH, COPY and
  extension is refused by DuckDB itself, whatever the SQL looks like;
- ``lock_configuration = true``: no SET/PRAGMA/RESET can undo any of it.

:meth:`ConfinedSQL.query` then accepts one statement, and only a query: DuckDB's parser
(``duckdb.extract_statements``) gives the statement type, and anything but ``SELECT`` (COPY,
ATTACH, INSTALL/LOAD, DDL, DML, PRAGMA, SET/RESET, EXPORT/IMPORT, CALL, …) is refused before it
runs. The statement type check keeps the in-memory catalog and the allowed files unwritten; the
confinement is what keeps the rest of the machine out of reach (no list of forbidden words).

Answers are compact text, never exceptions: the first ``max_rows`` rows as a small table and how
many more there were; a query past ``timeout_s`` is interrupted (``con.interrupt()`` from a
timer) and answered with a message.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from automem_core.store.reader import connect_views
from automem_core.store.schema import TABLES

log = logging.getLogger(__name__)

MAX_ROWS = 200
MAX_CELL_CHARS = 300
TIMEOUT_S = 10.0
MEMORY_LIMIT = "2GB"
REFUSED = "refused:"
ALLOWED_TYPES = frozenset({"SELECT"})
_BATCH_ROWS = 2048
# Control characters as escapes, so a cell (and a row) stays on one line.
_ONE_LINE = {c: f"\\x{c:02x}" for c in range(32)} | {10: "\\n", 13: "\\r", 9: "\\t"}


class ConfinementError(RuntimeError):
    """The installed DuckDB cannot confine the connection (it lacks a setting); nothing runs."""


@dataclass(frozen=True)
class SqlResult:
    """A query's answer as text; ``ok`` is False when it was refused, failed or timed out."""

    text: str
    ok: bool
    rows: int = 0  # rows the query returned (all of them, not only those shown)


class ConfinedSQL:
    """One confined DuckDB connection over the reviewed runs. Thread-safe (one query at a time)."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        *,
        max_rows: int = MAX_ROWS,
        timeout_s: float = TIMEOUT_S,
        max_cell_chars: int = MAX_CELL_CHARS,
    ) -> None:
        self._con = con
        self.max_rows = max_rows
        self.timeout_s = timeout_s
        self.max_cell_chars = max_cell_chars
        self._lock = threading.Lock()

    def query(self, sql: str) -> SqlResult:
        """Run one read-only statement and answer as text (refusals and errors too)."""
        statement, refusal = check_statement(sql)
        if statement is None:
            return SqlResult(refusal, ok=False)
        with self._lock:
            return self._run(statement)

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of a query written by AutoMem itself (the tools' own lookups), under the same
        time cap; raises ``duckdb.Error`` (``InterruptException`` past the cap)."""
        with self._lock:
            timer = self._start_timer()
            try:
                return self._con.execute(sql, list(params)).fetchall()
            finally:
                timer.cancel()

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def _start_timer(self) -> threading.Timer:
        timer = threading.Timer(self.timeout_s, self._con.interrupt)
        timer.daemon = True
        timer.start()
        return timer

    def _run(self, statement: duckdb.Statement) -> SqlResult:
        timer = self._start_timer()
        shown: list[tuple[object, ...]] = []
        total = 0
        try:
            reader = self._con.sql(statement).to_arrow_reader(_BATCH_ROWS)
            columns = list(reader.schema.names)
            for batch in reader:
                if len(shown) < self.max_rows:
                    head = batch.slice(0, self.max_rows - len(shown)).to_pylist()
                    shown.extend(tuple(row.values()) for row in head)
                total += batch.num_rows
        except duckdb.InterruptException:
            return SqlResult(
                f"stopped: the query ran past {self.timeout_s:g} s; narrow it "
                "(WHERE episode_id = …, a step range, LIMIT) or aggregate",
                ok=False,
            )
        except duckdb.PermissionException as exc:
            return SqlResult(
                f"{REFUSED} the query reaches outside the reviewed runs' data; only the views "
                f"({', '.join(TABLES)}) can be read ({_first_line(exc)})",
                ok=False,
            )
        except duckdb.Error as exc:
            return SqlResult(f"error: {_first_line(exc)}", ok=False)
        finally:
            timer.cancel()
        return SqlResult(
            render_table(columns, shown, total, self.max_cell_chars), ok=True, rows=total
        )


def check_statement(sql: str) -> tuple[duckdb.Statement | None, str]:
    """The one read-only statement in ``sql``, or None and the one-line refusal."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        return None, f"error: cannot parse the query ({_first_line(exc)})"
    if not statements:
        return None, f"{REFUSED} no statement; send one SELECT query"
    if len(statements) > 1:
        return None, f"{REFUSED} send exactly one statement (got {len(statements)})"
    (statement,) = statements
    kind = statement.type.name
    if kind not in ALLOWED_TYPES:
        return None, (
            f"{REFUSED} only a read-only query (SELECT, WITH … SELECT, FROM, DESCRIBE, SHOW, "
            f"SUMMARIZE) is allowed, got a {kind} statement; the store is read-only"
        )
    return statement, ""


def open_confined(
    root: Path,
    run_ids: Sequence[str],
    *,
    max_rows: int = MAX_ROWS,
    timeout_s: float = TIMEOUT_S,
    memory_limit: str = MEMORY_LIMIT,
    max_cell_chars: int = MAX_CELL_CHARS,
) -> ConfinedSQL:
    """Views over ``run_ids`` under ``root``, on a connection confined to their files."""
    if not run_ids:
        raise ValueError("open_confined needs at least one run id to review")
    run_ids = list(run_ids)
    con = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    try:
        con.execute("SET temp_directory = ''")  # before external access goes off
        con.execute("SET memory_limit = $limit", {"limit": memory_limit})
        plan = connect_views(Path(root), con, tables=TABLES, run_ids=run_ids)
        files = sorted({path for table_files in plan.files.values() for path in table_files})
        _confine(con, files)
    except BaseException:
        con.close()
        raise
    return ConfinedSQL(con, max_rows=max_rows, timeout_s=timeout_s, max_cell_chars=max_cell_chars)


def _confine(con: duckdb.DuckDBPyConnection, files: list[str]) -> None:
    try:
        con.execute("SET allowed_directories = []")
        con.execute("SET allowed_paths = $files", {"files": files})
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except duckdb.Error as exc:
        raise ConfinementError(
            f"DuckDB {duckdb.__version__} cannot confine the reviewer's SQL "
            f"({_first_line(exc)}); install duckdb>=1.3"
        ) from None
    locked = con.execute(
        "SELECT current_setting('enable_external_access'), current_setting('lock_configuration')"
    ).fetchall()
    if locked != [(False, True)]:
        raise ConfinementError(f"the reviewer's SQL connection is not confined ({locked})")


def render_table(
    columns: Sequence[str], rows: Sequence[Sequence[object]], total: int, max_cell_chars: int
) -> str:
    """A small ``|``-separated table: the header, the rows shown, and how many there were."""
    lines = [" | ".join(render_cell(c, max_cell_chars) for c in columns)]
    lines += [" | ".join(render_cell(v, max_cell_chars) for v in row) for row in rows]
    if total == len(rows):
        lines.append(f"({total} row{'' if total == 1 else 's'})")
    else:
        lines.append(
            f"({len(rows)} rows shown of {total}; {total - len(rows)} more: "
            "add WHERE/LIMIT/OFFSET or aggregate)"
        )
    return "\n".join(lines)


def render_cell(value: object, max_chars: int) -> str:
    """One value on one line: NULL, byte counts for binary, control characters escaped (a newline
    as ``\\n``), long text cut."""
    if value is None:
        return "NULL"
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(bytes(value))} bytes>"
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    text = text.translate(_ONE_LINE)
    if len(text) > max_chars:
        text = f"{text[:max_chars]}…[+{len(text) - max_chars} chars]"
    return text


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
