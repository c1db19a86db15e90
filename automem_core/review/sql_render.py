"""A query's answer as a small text table, with every cell bounded inside DuckDB.

:func:`bounded_select` wraps a checked query so that what reaches Python is small whatever the
query computes: numbers and booleans as they are; blobs as their byte count; every other value
(text, lists, structs, maps, dates, …) as text cut to ``max_cell_chars`` characters by
``left()``, with its full length beside it; past ``max_rows`` every cell is NULL (the rows are
only counted), and past ``max_columns`` columns are not selected at all. A query's 10 MB cell
therefore costs DuckDB its work, under the connection's time and memory caps, and costs Python
a few hundred characters.

:func:`render_table` and :func:`render_cell` then write the rows one per line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from duckdb.sqltypes import DuckDBPyType

# Values that are small whatever the query: passed as they are.
_NATIVE = frozenset(
    {
        "boolean",
        "tinyint",
        "smallint",
        "integer",
        "bigint",
        "hugeint",
        "utinyint",
        "usmallint",
        "uinteger",
        "ubigint",
        "uhugeint",
        "float",
        "double",
        "decimal",
    }
)
# Control characters and line separators as escapes, so a cell (and a row) stays on one line.
_ONE_LINE = (
    {c: f"\\x{c:02x}" for c in (*range(32), 0x7F, 0x85)}
    | {c: f"\\u{c:04x}" for c in (0x2028, 0x2029)}
    | {10: "\\n", 13: "\\r", 9: "\\t"}
)


@dataclass(frozen=True)
class Cut:
    """The start of a long value, and its whole length in characters."""

    head: str
    length: int


@dataclass(frozen=True)
class BlobSize:
    size: int


@dataclass(frozen=True)
class Bounded:
    """The wrapped query, and how to read its columns back into cells."""

    sql: str
    kinds: tuple[str, ...]  # per shown column: "native", "blob" or "text"


def bounded_select(
    body: str,
    types: Sequence[DuckDBPyType],
    *,
    max_rows: int,
    max_cell_chars: int,
    max_columns: int,
) -> Bounded:
    """``body`` (one checked query) wrapped so that every cell reaching Python is bounded."""
    names = [f"c{i}" for i in range(len(types))]
    kinds: list[str] = []
    outer: list[str] = []
    shown = f"_n <= {int(max_rows)}"
    for name, sql_type in list(zip(names, types, strict=True))[:max_columns]:
        kind = _kind(sql_type)
        kinds.append(kind)
        if kind == "native":
            outer.append(name)
        elif kind == "blob":
            outer.append(f"octet_length({name})")
        else:
            text = name if str(sql_type.id) == "varchar" else f"CAST({name} AS VARCHAR)"
            outer += [f"left({text}, {int(max_cell_chars)})", f"length({text})"]
    # Past max_rows a row is only counted: its cells are NULL, never computed as text.
    select = ", ".join(f"CASE WHEN {shown} THEN {expr} END AS o{i}" for i, expr in enumerate(outer))
    select = select or "NULL AS o0"
    # The body ends on a line of its own: a trailing line comment stays inside the parentheses.
    sql = (
        f"SELECT {select} FROM (SELECT *, row_number() OVER () AS _n FROM (\n{body}\n) "
        f"AS _q({', '.join(names)})) AS _w"
    )
    return Bounded(sql, tuple(kinds))


def read_cells(bounded: Bounded, row: Sequence[object]) -> tuple[object, ...]:
    """One row of the wrapped query as cells (a :class:`Cut` for text, a :class:`BlobSize`)."""
    cells: list[object] = []
    values = iter(row)
    for kind in bounded.kinds:
        value = next(values)
        if kind == "text":
            length = next(values)
            cells.append(None if value is None else Cut(str(value), int(str(length))))
        elif kind == "blob":
            cells.append(None if value is None else BlobSize(int(str(value))))
        else:
            cells.append(value)
    return tuple(cells)


def render_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    total: int,
    max_cell_chars: int,
    hidden_columns: int = 0,
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
    if hidden_columns:
        lines.append(f"({hidden_columns} more columns not shown: select fewer columns)")
    return "\n".join(lines)


def render_cell(value: object, max_chars: int) -> str:
    """One value on one line: NULL, byte counts for binary, control characters escaped (a newline
    as ``\\n``), long text cut with the number of characters left out."""
    if value is None:
        return "NULL"
    if isinstance(value, BlobSize):
        return f"<{value.size} bytes>"
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(bytes(value))} bytes>"
    if isinstance(value, Cut):
        head, length = value.head, value.length
    else:
        head = f"{value:.6g}" if isinstance(value, float) else str(value)
        length = len(head)
    pieces: list[str] = []
    used = 0
    for char in head[: max_chars + 1]:
        piece = _ONE_LINE.get(ord(char), char)
        if used + len(piece) > max_chars:
            break
        pieces.append(piece)
        used += len(piece)
    text = "".join(pieces)
    left_out = length - len(pieces)  # characters of the value not shown
    return f"{text}…[+{left_out} chars]" if left_out > 0 else text


def _kind(sql_type: DuckDBPyType) -> str:
    kind = str(sql_type.id)
    if kind in _NATIVE:
        return "native"
    return "blob" if kind == "blob" else "text"
