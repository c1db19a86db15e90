"""The reviewer sees the reviewed runs and nothing of another run: the record views hold only
their rows, the loop records are left out, and the connection may open only their files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from automem_core.review.scope import FILE_VIEWS, LEFT_OUT, RECORD_VIEWS, VIEWS
from automem_core.review.tools import StoreTools
from automem_core.store.reader import connect, view_files
from automem_core.store.records import record_files
from automem_core.store.schema import TABLES
from tests.review.two_runs import CANARY, OTHER_NOTE, TwoRuns

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tools(two_runs: TwoRuns):
    with StoreTools(two_runs.root, [two_runs.reviewed]) as store_tools:
        yield store_tools


def sql_rows(tools: StoreTools, query: str) -> list[list[str]]:
    """The rows of a sql answer (header and count left out)."""
    answer = tools.call("sql", json.dumps({"query": query}))
    assert not answer.startswith(("error:", "refused:", "stopped:")), answer
    return [line.split(" | ") for line in answer.splitlines()[1:-1]]


def plain(two_runs: TwoRuns, query: str) -> list[tuple[object, ...]]:
    """The same query on a plain connection over the whole store."""
    con = connect(two_runs.root)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def test_decisions_list_only_episodes_of_the_reviewed_runs(two_runs, tools):
    query = "SELECT DISTINCT run_id, episode_id FROM decisions ORDER BY ALL"
    everything = plain(two_runs, query)
    assert {r for r, _ in everything} == {"rev", "other"}  # the store holds both
    assert sql_rows(tools, query) == [[r, e] for r, e in everything if r == "rev"]
    assert sql_rows(tools, "SELECT count(*) FROM decisions") == [
        [str(len(plain(two_runs, "SELECT * FROM decisions WHERE run_id = 'rev'")))]
    ]


def test_labels_and_alternatives_are_those_on_the_reviewed_runs_decisions(two_runs, tools):
    labels = sql_rows(tools, "SELECT target_id, note FROM labels ORDER BY ALL")
    assert len(labels) == 3
    assert all(target.startswith("rev.") for target, _ in labels)
    assert all(note == "a person's note on the reviewed run" for _, note in labels)
    everything = plain(two_runs, "SELECT note FROM labels")
    assert (OTHER_NOTE,) in everything  # the store holds notes on the other run
    answer = tools.call("sql", {"query": "SELECT * FROM labels"})
    assert OTHER_NOTE not in answer and CANARY not in answer
    alternatives = sql_rows(tools, "SELECT decision_id, completion FROM alternatives")
    assert len(alternatives) == 3
    assert all(d.startswith("rev.") and c == "an alternative for rev" for d, c in alternatives)


@pytest.mark.parametrize("table", LEFT_OUT)
def test_loop_records_are_left_out(tools, table):
    answer = tools.call("sql", {"query": f"SELECT * FROM {table}"})
    assert answer.startswith(f"refused: {table} is not one of the reviewer's views (runs, ")
    assert CANARY not in answer


def test_no_answer_names_the_other_run(two_runs, tools):
    queries = [f"SELECT * FROM {view}" for view in VIEWS] + [
        "SELECT DISTINCT run_id FROM episodes",
        "SELECT DISTINCT episode_id FROM steps",
        "SELECT run_id FROM runs",
    ]
    for query in queries:
        answer = tools.call("sql", {"query": query})
        assert not answer.startswith(("error:", "refused:")), (query, answer)
        assert "other" not in answer.replace("another", ""), query


def test_the_connection_may_open_only_the_reviewed_runs_files(two_runs, tools):
    confined = tools._sql
    expected = view_files(two_runs.root, FILE_VIEWS, ["rev"]).files
    assert set(confined.files) == {p for files in expected.values() for p in files}
    runs_folder = str(two_runs.root / "runs" / "rev")
    assert confined.files and all(p.startswith(runs_folder) for p in confined.files)
    (allowed,) = confined._con.execute("SELECT current_setting('allowed_paths')").fetchall()[0]
    assert sorted(allowed) == sorted(confined.files)  # what DuckDB itself holds


@pytest.mark.parametrize("table", ["labels", "decisions", "alternatives", "proposals"])
def test_a_record_file_is_out_of_reach(two_runs, tools, table):
    (path, *_) = record_files(two_runs.root, table)
    answer = tools.call("sql", {"query": f"SELECT * FROM read_parquet('{path}')"})
    assert answer.startswith("refused: the query reaches outside the reviewed runs' data")
    assert "disabled by configuration" in answer and CANARY not in answer
    with pytest.raises(duckdb.PermissionException):
        tools._sql._con.execute(f"SELECT * FROM read_parquet('{path}')").fetchall()


def test_every_table_is_a_view_or_left_out():
    assert set(VIEWS) | set(LEFT_OUT) == set(TABLES)
    assert not set(VIEWS) & set(LEFT_OUT)
    assert set(RECORD_VIEWS) <= set(VIEWS) and set(FILE_VIEWS) <= set(VIEWS)


def test_the_readme_lists_what_the_reviewer_can_see():
    readme = (REPO / "README.md").read_text()
    section = readme.split("What the reviewer can see", 1)[1].split("\n\n", 2)[:2]
    text = "\n".join(section)
    for name in (*VIEWS, *LEFT_OUT):
        assert re.search(rf"`{name}`", text), name


def test_the_sql_tool_describes_the_views(tools):
    (sql,) = [s for s in tools.schemas() if s["function"]["name"] == "sql"]
    assert all(view in sql["function"]["description"] for view in VIEWS)
    assert not any(f" {table}" in sql["function"]["description"] for table in LEFT_OUT)
