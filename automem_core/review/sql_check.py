"""What a reviewer's query may be: one SELECT that reads the reviewer's views, and nothing that
describes or changes the session.

DuckDB's own parser decides, twice: ``extract_statements`` gives the statement's type (anything
but ``SELECT`` is refused: COPY, ATTACH, INSTALL/LOAD, DDL, DML, PRAGMA, SET/RESET, EXPORT,
CALL, …), and ``json_serialize_sql`` gives its syntax tree, which is walked whole (subqueries,
CTEs, lambdas, ``DESCRIBE``/``SUMMARIZE`` targets included):

- a table it reads by name must be one of the views (or a CTE of the query that shadows no
  catalog entry): the catalog's own tables (``duckdb_settings``, ``sqlite_master``,
  ``information_schema.*``, ``pg_catalog.*``, the views' hidden sources) and replacement scans of
  a file name (``FROM 'x.parquet'``) are out;
- a table function must be one of :data:`TABLE_FUNCTIONS` (ranges, ``unnest``, JSON walks and
  ``read_parquet``, which DuckDB confines to the views' own files): the catalog's functions
  (``duckdb_*``, ``pragma_*``), dynamic SQL (``query``, ``query_table``), and readers whose
  options create catalog objects (``read_csv``'s ``store_rejects``) are out;
- a function that reads or changes the session (:data:`SESSION_FUNCTIONS`: settings, variables,
  the random seed, the log) is out, wherever it is called.

Which files can be read is not decided here: the connection's confinement does that, whatever
the query (``sql.py``). This check keeps the session's settings, the views' definitions (which
name the store's absolute paths) and the catalog out of the answers, and keeps the catalog as it
was built.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

import duckdb

REFUSED = "refused:"
ALLOWED_TYPES = frozenset({"SELECT"})
TABLE_FUNCTIONS = frozenset(
    {
        "range",
        "generate_series",
        "unnest",
        "repeat",
        "repeat_row",
        "json_each",
        "json_tree",
        "read_parquet",
        "parquet_scan",
    }
)
SESSION_FUNCTIONS = frozenset({"current_setting", "getenv", "getvariable", "setseed", "write_log"})
SESSION_PREFIXES = ("duckdb_", "pragma_")
# What ``SHOW TABLES`` / ``SHOW ALL TABLES`` / a bare ``DESCRIBE`` name: table names only.
_SHOW_SPECIAL = frozenset({'"tables"', "__show_tables_expanded"})
_MAIN = ("", "main", "memory")
_local = threading.local()


@dataclass(frozen=True)
class CheckedQuery:
    """A statement that passed the check, and its text without a closing semicolon."""

    statement: duckdb.Statement
    body: str


def check_query(
    sql: str, views: Collection[str], catalog: Collection[str] = ()
) -> tuple[CheckedQuery | None, str]:
    """The one allowed statement in ``sql``, or None and the one-line refusal. ``views``: the
    names it may read; ``catalog``: every name of the connection's catalog (a CTE may not take
    one, or a name out of its scope would reach it)."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        return None, f"error: cannot parse the query ({first_line(exc)})"
    except Exception as exc:  # text DuckDB cannot take at all (e.g. unpaired surrogates)
        return None, f"error: cannot read the query ({type(exc).__name__}); send plain text"
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
    body = strip_semicolon(statement.query)
    refusal = check_tree(body, views, catalog)
    if refusal:
        return None, refusal
    return CheckedQuery(statement, body), ""


def check_tree(sql: str, views: Collection[str], catalog: Collection[str] = ()) -> str:
    """The refusal for what the query reads or calls ('' when it may run)."""
    tree = _syntax_tree(sql)
    if tree.get("error"):
        reason = str(tree.get("error_message") or "unknown")[:160]
        return f"{REFUSED} the query cannot be checked ({reason}); write it as a plain SELECT"
    allowed = {v.lower() for v in views}
    ctes = set(_cte_names(tree))
    taken = sorted(ctes & ({c.lower() for c in catalog} - allowed))
    if taken:
        return f"{REFUSED} a CTE may not be named {taken[0]!r} (a name of the catalog); rename it"
    names = ", ".join(views)
    for node in _nodes(tree):
        kind = node.get("type")
        if kind == "BASE_TABLE" and not _is_view(node, allowed | ctes):
            table = _short(str(node.get("table_name")))
            return f"{REFUSED} {table} is not one of the reviewer's views ({names})"
        if kind == "SHOW_REF" and not _shows_views(node, allowed):
            table = _short(str(node.get("table_name")))
            return f"{REFUSED} SHOW {table} is not about the reviewer's views ({names})"
        if kind == "TABLE_FUNCTION":
            function = str(_dict(node.get("function")).get("function_name", "")).lower()
            if function not in TABLE_FUNCTIONS:
                return (
                    f"{REFUSED} the table function {_short(function)} is not available to the "
                    f"reviewer; read the views ({names}) or {', '.join(sorted(TABLE_FUNCTIONS))}"
                )
        if "function_name" in node:
            function = str(node["function_name"]).lower()
            if function in SESSION_FUNCTIONS or function.startswith(SESSION_PREFIXES):
                return (
                    f"{REFUSED} {_short(function)}() reads or changes the session, not the "
                    f"reviewed runs; query the views ({names})"
                )
    return ""


def strip_semicolon(text: str) -> str:
    """``text`` without its closing semicolon(s) and trailing comments."""
    tokens = duckdb.tokenize(text)
    end = len(text)
    for position, kind in reversed(tokens):
        if kind == duckdb.token_type.comment:
            end = position
            continue
        if kind == duckdb.token_type.operator and text[position:end].strip() == ";":
            end = position
            continue
        break
    return text[:end].rstrip()


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _syntax_tree(sql: str) -> dict[str, Any]:
    con = getattr(_local, "con", None)
    if con is None:  # a bare connection of this thread: parsing needs no views
        con = _local.con = duckdb.connect()
    try:
        text = con.execute("SELECT json_serialize_sql($sql)", {"sql": sql}).fetchall()[0][0]
        tree = json.loads(text)
    except (duckdb.Error, ValueError, RecursionError) as exc:
        return {"error": True, "error_message": f"{type(exc).__name__}: {first_line(exc)}"}
    return tree if isinstance(tree, dict) else {"error": True, "error_message": "no tree"}


def _nodes(tree: object) -> Iterator[dict[str, Any]]:
    """Every object of the tree, depth first, without recursion (trees can be deep)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _cte_names(tree: object) -> Iterator[str]:
    for node in _nodes(tree):
        cte_map = node.get("cte_map")
        for entry in _dict(cte_map).get("map") or []:
            yield str(_dict(entry).get("key", "")).lower()


def _is_view(node: dict[str, Any], allowed: set[str]) -> bool:
    catalog, schema = str(node.get("catalog_name") or ""), str(node.get("schema_name") or "")
    name = str(node.get("table_name")).lower()
    return catalog in _MAIN and schema in _MAIN and name in allowed


def _shows_views(node: dict[str, Any], allowed: set[str]) -> bool:
    table = str(node.get("table_name") or "")
    if node.get("show_type") == "SHOW_SPECIAL":
        return table in _SHOW_SPECIAL
    return not table or (table.lower() in allowed and not node.get("schema_name"))


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _short(text: str, chars: int = 60) -> str:
    return text if len(text) <= chars else f"{text[:chars]}…"
