"""Every cell of a query's answer is bounded inside DuckDB and written on one line."""

from __future__ import annotations

import duckdb
import pytest

from automem_core.review.sql_render import (
    BlobSize,
    Cut,
    bounded_select,
    read_cells,
    render_cell,
    render_table,
)


def run_bounded(query: str, **limits: int) -> tuple[list[tuple[object, ...]], int]:
    """The cells of ``query`` through the wrapper, and how many rows it had."""
    con = duckdb.connect()
    try:
        types = con.sql(query).types
        settings = {"max_rows": 3, "max_cell_chars": 5, "max_columns": 10} | limits
        bounded = bounded_select(query, types, **settings)
        rows = con.execute(bounded.sql).fetchall()
        return [read_cells(bounded, row) for row in rows], len(rows)
    finally:
        con.close()


def test_each_kind_of_value_comes_back_bounded():
    query = (
        "SELECT 7 AS i, 2.5::DOUBLE AS d, true AS b, 'abcdefgh' AS t, 'ab'::BLOB AS blob, "
        "[1, 2, 3, 4] AS l, {'k': 'long text'} AS s, DATE '2024-01-02' AS day, NULL AS n"
    )
    (cells,), total = run_bounded(query)
    assert total == 1
    assert cells == (
        7, 2.5, True, Cut("abcde", 8), BlobSize(2), Cut("[1, 2", 12), Cut("{'k':", 16),
        Cut("2024-", 10), None,
    )  # fmt: skip


def test_rows_past_the_cap_are_counted_with_null_cells():
    cells, total = run_bounded("SELECT range, repeat('x', 100) AS x FROM range(10)")
    assert total == 10
    assert cells[:3] == [(0, Cut("xxxxx", 100)), (1, Cut("xxxxx", 100)), (2, Cut("xxxxx", 100))]
    assert cells[3:] == [(None, None)] * 7


def test_columns_past_the_cap_are_not_selected():
    cells, _ = run_bounded("SELECT 1 AS a, 'x' AS b, 3 AS c", max_columns=2)
    assert cells == [(1, Cut("x", 1))]


def test_a_trailing_line_comment_stays_inside_the_wrapper():
    cells, _ = run_bounded("SELECT 1 AS a -- a comment")
    assert cells == [(1,)]


def test_duplicate_and_odd_column_names_are_read_by_position():
    cells, _ = run_bounded('SELECT 1 AS a, 2 AS a, 3 AS "_n", 4 AS "c0"')
    assert cells == [(1, 2, 3, 4)]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Cut("\n" * 10, 3_000_000), "\\n" * 5 + "…[+2999995 chars]"),
        (Cut("abc", 3), "abc"),
        ("line\u2028sep\x85x\x7f", "line\\u2028…[+6 chars]"),
        (BlobSize(9), "<9 bytes>"),
        (b"\x00\x01", "<2 bytes>"),
        (1 / 3, "0.333333"),
        (None, "NULL"),
    ],
)
def test_a_cell_is_one_line_and_says_what_was_left_out(value, shown):
    assert render_cell(value, 10) == shown


def test_a_table_says_how_many_rows_and_columns_were_left_out():
    text = render_table(["a"], [(1,), (2,)], 5, 10, hidden_columns=3)
    assert text.splitlines() == [
        "a",
        "1",
        "2",
        "(2 rows shown of 5; 3 more: add WHERE/LIMIT/OFFSET or aggregate)",
        "(3 more columns not shown: select fewer columns)",
    ]
