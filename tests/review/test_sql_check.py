"""A reviewer's query passes only as one SELECT over the views that neither reads nor changes
the session; the parser's syntax tree decides, so spelling, comments and nesting do not."""

from __future__ import annotations

import pytest

from automem_core.review.scope import VIEWS
from automem_core.review.sql_check import (
    TABLE_FUNCTIONS,
    check_query,
    check_tree,
    strip_semicolon,
)

CATALOG = ("sqlite_master", "duckdb_views", "pg_settings", "_run_rows")


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM steps",
        "FROM steps SELECT step",
        "select * from STEPS s join Turns t using (episode_id, step)",
        "SELECT * FROM memory.main.steps",
        "WITH a AS (SELECT * FROM steps), b AS (SELECT * FROM a) SELECT * FROM b",
        "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) FROM t",
        "DESCRIBE steps",
        "SUMMARIZE turns",
        "SHOW TABLES",
        "SHOW ALL TABLES",
        "SHOW steps",
        "VALUES (1), (2)",
        "SELECT * FROM range(10) JOIN unnest([1, 2]) u(x) ON true",
        "SELECT * FROM steps PIVOT (count(*) FOR action IN ('north'))",
        "SELECT [x FOR x IN [1, 2] IF x > 1], list_transform([1], lambda x: x + 1)",
        "SELECT 'duckdb_settings() current_setting sqlite_master' AS words",
        "SELECT count(*) FROM read_parquet('any.parquet')",
        "SELECT 1; -- a closing comment",
    ],
)
def test_queries_over_the_views_pass(query):
    checked, refusal = check_query(query, VIEWS, CATALOG)
    assert checked is not None and refusal == ""


@pytest.mark.parametrize(
    ("query", "start"),
    [
        ("SELECT * FROM duckdb_settings()", "refused: the table function duckdb_settings is not"),
        ("SELECT * FROM DuckDB_Settings()", "refused: the table function duckdb_settings is not"),
        ("SELECT current_setting('threads')", "refused: current_setting() reads or changes"),
        ("SELECT pg_catalog.current_setting('x')", "refused: current_setting() reads"),
        ("SELECT (SELECT 1 WHERE current_setting('a') = '')", "refused: current_setting()"),
        ("SELECT list_transform([1], lambda x: getenv('HOME'))", "refused: getenv()"),
        ("SELECT setseed(0.1)", "refused: setseed()"),
        ("SELECT duckdb_secret_value('x')", "refused: duckdb_secret_value()"),
        ("FROM sqlite_master", "refused: sqlite_master is not one of the reviewer's views"),
        ("FROM information_schema.tables", "refused: tables is not one of the reviewer's views"),
        ("FROM system.main.steps", "refused: steps is not one of the reviewer's views"),
        ("FROM temp.main.steps", "refused: steps is not one of the reviewer's views"),
        ("FROM _run_rows", "refused: _run_rows is not one of"),
        ("FROM '/etc/passwd'", "refused: /etc/passwd is not one of the reviewer's views"),
        ("SUMMARIZE sqlite_master", "refused: sqlite_master is not one of"),
        ("DESCRIBE SELECT * FROM duckdb_views()", "refused: the table function duckdb_views"),
        ("SHOW home_directory", "refused: SHOW home_directory is not about the reviewer's views"),
        ("SHOW DATABASES", 'refused: SHOW "databases" is not about the reviewer'),
        ("WITH sqlite_master AS (SELECT 1) FROM sqlite_master", "refused: a CTE may not be na"),
        ("SELECT * FROM read_csv('x', store_rejects=true)", "refused: the table function read_"),
        ("SELECT * FROM query('SELECT 1')", "refused: the table function query is not"),
        ("SELECT * FROM query_table('steps')", "refused: the table function query_table is not"),
        ("COPY steps TO 'x.csv'", "refused: only a read-only query (SELECT, "),
        ("SELECT 1; SELECT 2", "refused: send exactly one statement (got 2)"),
        ("", "refused: no statement; send one SELECT query"),
        ("SELEC 1", "error: cannot parse the query (Parser Error: "),
        ("SELECT '\udcff'", "error: cannot read the query ("),
    ],
)
def test_what_describes_or_changes_the_session_is_refused(query, start):
    checked, refusal = check_query(query, VIEWS, CATALOG)
    assert checked is None
    assert refusal.startswith(start), refusal
    assert "\n" not in refusal


def test_the_allowed_table_functions_read_nothing_but_the_views_files():
    assert {"read_parquet", "parquet_scan", "range", "unnest"} <= TABLE_FUNCTIONS
    assert not {f for f in TABLE_FUNCTIONS if f.startswith(("duckdb_", "pragma_", "query"))}
    assert not {"read_csv", "read_text", "read_blob", "glob"} & TABLE_FUNCTIONS


def test_a_tree_too_deep_to_walk_is_refused_in_one_line():
    deep = "SELECT " + "(" * 5_000 + "1" + ")" * 5_000
    checked, refusal = check_query(deep, VIEWS, CATALOG)
    assert checked is None and "\n" not in refusal and len(refusal) < 400


def test_the_wrapped_query_is_checked_like_the_query():
    assert check_tree("SELECT * FROM (\nSELECT 1\n) AS _q(c0)", VIEWS) == ""
    assert check_tree("SELECT * FROM (\nFROM duckdb_settings()\n) AS _q(c0)", VIEWS)


@pytest.mark.parametrize(
    ("text", "body"),
    [
        ("SELECT 1", "SELECT 1"),
        ("SELECT 1;", "SELECT 1"),
        ("SELECT 1 ;; -- done\n", "SELECT 1"),
        ("SELECT ';' ; /* c */ ", "SELECT ';'"),
        ("SELECT 1 -- a comment", "SELECT 1"),
    ],
)
def test_the_closing_semicolon_and_comments_are_dropped(text, body):
    assert strip_semicolon(text) == body
