"""The reviewer's SQL: it reads the reviewed runs' views, refuses anything but one query, and the
connection itself (DuckDB's settings, not a word list) keeps every other file out of reach."""

from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb
import pytest

from automem_core.review.scope import FILE_VIEWS, VIEWS
from automem_core.review.sql import open_confined
from automem_core.review.sql_check import check_query
from automem_core.review.sql_render import render_table
from automem_core.store.reader import connect, view_files
from automem_core.testing.sample_store import play_fake_run

MARKER = "automem-secret-7f3a"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("sql")
    root = base / "data"
    play_fake_run(root, seeds=(0, 1), steps=12, run_id="rev")
    play_fake_run(root, seeds=(0,), steps=12, run_id="other")
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(f"{MARKER}\n")
    (outside / "secret.csv").write_text(f"a,b\n{MARKER},1\n")
    (root / "secret_inside.txt").write_text(f"{MARKER}\n")  # in the data folder, not a view's
    return {"root": root, "outside": outside}


@pytest.fixture()
def sql(store):
    confined = open_confined(store["root"], ["rev"], timeout_s=5)
    yield confined
    confined.close()


def files_under(folder: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_views_hold_the_reviewed_runs_and_nothing_else(store, sql):
    plain = connect(store["root"], run_ids=["rev"])
    for table in FILE_VIEWS:
        expected = plain.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        answer = sql.query(f"SELECT count(*) AS n FROM {table}")
        assert answer.ok and answer.text.splitlines()[1] == str(expected), table
    runs = sql.query("SELECT DISTINCT run_id FROM episodes")
    assert runs.text.splitlines()[1:] == ["rev", "(1 row)"]


def test_a_query_answers_a_table_of_what_the_store_holds(store, sql):
    plain = connect(store["root"], run_ids=["rev"])
    query = "SELECT episode_id, step, action, reward FROM steps ORDER BY episode_id, step"
    rows = plain.execute(query).fetchall()
    answer = sql.query(query)
    assert answer.ok and answer.rows == len(rows) == 24
    lines = answer.text.splitlines()
    assert lines[0] == "episode_id | step | action | reward"
    body = [line.split(" | ") for line in lines[1:-1]]
    assert body == [[e, str(s), a, f"{r:.6g}"] for e, s, a, r in rows]
    assert lines[-1] == "(24 rows)"


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("COPY steps TO '{out}/copy.csv'", "COPY"),
        ("copy (select * from steps) to '{out}/copy.parquet' (format parquet)", "COPY"),
        ("/* a comment */ CoPy steps TO '{out}/copy2.csv'", "COPY"),
        ("ATTACH '{out}/new.duckdb' AS other", "ATTACH"),
        ("INSTALL httpfs", "LOAD"),
        ("LOAD httpfs", "LOAD"),
        ("CREATE TABLE t AS SELECT * FROM steps", "CREATE"),
        ("create or replace view steps as select 1", "CREATE"),
        ("CREATE MACRO m(x) AS x", "CREATE"),
        ("DROP VIEW steps", "DROP"),
        ("INSERT INTO steps SELECT * FROM steps", "INSERT"),
        ("UPDATE steps SET reward = 99", "UPDATE"),
        ("DELETE FROM steps", "DELETE"),
        ("ALTER VIEW steps RENAME TO s", "ALTER"),
        ("PRAGMA enable_profiling", "PRAGMA"),
        ("SET enable_external_access = true", "SET"),
        ("set lock_configuration=false", "SET"),
        ("RESET allowed_paths", "SET"),
        ("EXPORT DATABASE '{out}/export'", "EXPORT"),
        ("IMPORT DATABASE '{out}'", "PRAGMA"),
        ("CALL pragma_version()", "CALL"),
    ],
)
def test_anything_but_a_query_is_refused(store, sql, query, kind):
    before = files_under(store["root"].parent)
    answer = sql.query(query.format(out=store["outside"]))
    assert not answer.ok
    assert answer.text == (
        "refused: only a read-only query (SELECT, WITH … SELECT, FROM, DESCRIBE, SHOW, "
        f"SUMMARIZE) is allowed, got a {kind} statement; the store is read-only"
    )
    assert files_under(store["root"].parent) == before  # nothing written anywhere
    assert sql.query("SELECT count(*) FROM steps").text.splitlines()[1] == "24"


@pytest.mark.parametrize(
    "query",
    [
        "SELECT 1; SELECT 2",
        "SELECT 1; COPY steps TO '/tmp/x.csv'",
        "select 1;\n-- a comment\nselect * from read_text('/etc/passwd');",
    ],
)
def test_several_statements_are_refused(sql, query):
    answer = sql.query(query)
    assert not answer.ok and answer.text.startswith("refused: send exactly one statement (got ")


def outside_paths(store) -> dict[str, object]:
    outside = store["outside"]
    other_files = view_files(store["root"], ["steps"], ["other"]).files["steps"]
    view_file = next(iter(view_files(store["root"], ["steps"], ["rev"]).files["steps"]))
    return {
        "secret": outside / "secret.txt",
        "csv": outside / "secret.csv",
        "outside": outside,
        "secret_dir": outside,
        "inside": store["root"] / "secret_inside.txt",
        "other_run": next(iter(other_files)),
        "view_file": view_file,
    }


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM read_parquet('/etc/passwd')",
        "SELECT * FROM read_parquet('{other_run}')",  # a run that is not reviewed
        "SELECT * FROM read_parquet('{view_file}/../../../../../outside/secret.txt')",
        "SELECT * FROM read_parquet(['{view_file}', '{secret}'])",
        "SELECT * FROM read_parquet('{secret_dir}' || '/secret.txt')",
        "sElEcT * FrOm ReAd_PaRqUeT('{inside}')",  # in the data folder, but no view's file
        "SELECT/**/*/**/FROM/* hidden */read_parquet('{secret}') -- trailing",
        "WITH s AS (SELECT * FROM read_parquet('{secret}')) SELECT * FROM s",
        "SELECT (SELECT count(*) FROM read_parquet('{other_run}')) AS x, step FROM steps",
        "SELECT * FROM read_parquet('https://example.com/x.parquet')",
        "FROM parquet_scan('{secret}')",
    ],
)
def test_reading_a_file_outside_the_reviewed_runs_is_refused_by_the_confinement(store, sql, query):
    answer = sql.query(query.format(**outside_paths(store)))
    assert not answer.ok
    assert answer.text.startswith(
        "refused: the query reaches outside the reviewed runs' data; only the views ("
    ), answer.text
    assert "disabled by configuration" in answer.text  # DuckDB's own refusal
    assert MARKER not in answer.text
    assert "\n" not in answer.text


@pytest.mark.parametrize(
    ("query", "function"),
    [
        ("SELECT content FROM read_text('{secret}')", "read_text"),
        ("SELECT * FROM read_csv('{csv}')", "read_csv"),
        ("SELECT * FROM read_csv_auto('{csv}', header = true)", "read_csv_auto"),
        ("SELECT content FROM read_blob('{secret}')", "read_blob"),
        ("SELECT * FROM read_json('{secret}')", "read_json"),
        ("SELECT * FROM read_text('/etc/passwd')", "read_text"),
        ("SELECT * FROM glob('/*')", "glob"),
        ("SELECT * FROM glob('{outside}/*')", "glob"),
        ("SELECT * FROM sniff_csv('{csv}')", "sniff_csv"),
        ("SELECT * FROM read_text('{inside}')", "read_text"),
        ("SELECT * FROM parquet_metadata('{other_run}')", "parquet_metadata"),
        ("SELECT * FROM read_text(['{view_file}', '{secret}'])", "read_text"),
        ("sElEcT * FrOm ReAd_TeXt('{secret}')", "read_text"),
        ("SELECT (SELECT content FROM read_text('{secret}')) AS x, step FROM steps", "read_text"),
        ("SELECT * FROM query('SELECT * FROM read_text(''{secret}'')')", "query"),
    ],
)
def test_other_readers_are_refused_and_the_confinement_would_refuse_them_too(
    store, sql, query, function
):
    text = query.format(**outside_paths(store))
    answer = sql.query(text)
    assert not answer.ok and MARKER not in answer.text and "\n" not in answer.text
    assert answer.text.startswith(
        f"refused: the table function {function} is not available to the reviewer; read the "
        "views (runs, episodes, steps, "
    ), answer.text
    with pytest.raises(duckdb.PermissionException, match="disabled by configuration"):
        sql._con.execute(text).fetchall()  # past the check, DuckDB itself refuses


def test_the_connection_itself_refuses_what_the_statement_check_would(store, sql):
    """Run past the statement check: DuckDB's settings still refuse, so the check is not what
    keeps files out of reach, and the settings cannot be changed back."""
    con = sql._con
    target = store["outside"] / "written.csv"
    for statement in [
        f"COPY (SELECT 1) TO '{target}'",
        f"ATTACH '{store['outside'] / 'x.duckdb'}'",
        "INSTALL httpfs",
        f"SELECT * FROM read_text('{store['outside'] / 'secret.txt'}')",
    ]:
        with pytest.raises(duckdb.PermissionException):
            con.execute(statement).fetchall()
    for statement in [
        "SET enable_external_access = true",
        "SET allowed_directories = ['/']",
        "SET lock_configuration = false",
        "RESET allowed_paths",
    ]:
        with pytest.raises(duckdb.Error, match="locked"):
            con.execute(statement)
    assert not target.exists()
    settings = dict(
        con.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN "
            "('enable_external_access', 'lock_configuration', 'allowed_directories')"
        ).fetchall()
    )
    assert settings == {
        "enable_external_access": "false",
        "lock_configuration": "true",
        "allowed_directories": "[]",
    }


def test_the_refusals_are_not_a_word_list(store, sql):
    view_file = next(iter(view_files(store["root"], ["steps"], ["rev"]).files["steps"]))
    words = sql.query("SELECT 'copy attach read_text install' AS words")
    assert words.ok and "copy attach read_text install" in words.text
    same_file = sql.query(f"SELECT count(*) AS n FROM read_parquet('{view_file}')")
    assert same_file.ok and same_file.text.splitlines()[1] == "24"


def test_rows_are_capped_and_the_rest_counted(store):
    with_cap = open_confined(store["root"], ["rev"], max_rows=5)
    try:
        answer = with_cap.query("SELECT step FROM steps ORDER BY episode_id, step")
    finally:
        with_cap.close()
    lines = answer.text.splitlines()
    assert answer.ok and answer.rows == 24
    assert lines[1:6] == ["0", "1", "2", "3", "4"]
    assert lines[-1] == "(5 rows shown of 24; 19 more: add WHERE/LIMIT/OFFSET or aggregate)"


def test_a_long_query_is_interrupted_and_the_connection_still_answers(store):
    quick = open_confined(store["root"], ["rev"], timeout_s=0.5)
    try:
        started = time.perf_counter()
        answer = quick.query("SELECT count(*) FROM range(1000000000000) a")
        elapsed = time.perf_counter() - started
        assert not answer.ok
        assert answer.text.startswith("stopped: the query ran past 0.5 s; narrow it")
        assert elapsed < 10
        assert quick.query("SELECT 42 AS x").text.splitlines()[1] == "42"
    finally:
        quick.close()


@pytest.mark.parametrize(
    ("query", "start"),
    [
        ("", "refused: no statement; send one SELECT query"),
        ("   -- only a comment", "refused: no statement"),
        ("SELEC 1", "error: cannot parse the query (Parser Error: "),
        ("SELECT * FROM no_such_view", "refused: no_such_view is not one of the reviewer's views"),
        ("SELECT 1/0 AS x, 'a'::INT AS y", "error: Conversion Error: "),
        ("SELECT getenv('HOME')", "refused: getenv() reads or changes the session"),
    ],
)
def test_bad_queries_answer_a_one_line_error(sql, query, start):
    answer = sql.query(query)
    assert not answer.ok and answer.text.startswith(start) and "\n" not in answer.text


def test_cells_are_one_line_and_cut():
    text = render_table(["a", "b\nc"], [("x\ny\x00", b"\x00" * 9), ("z" * 50, None)], 2, 10)
    assert text.splitlines() == [
        "a | b\\nc",
        "x\\ny\\x00 | <9 bytes>",
        "zzzzzzzzzz…[+40 chars] | NULL",
        "(2 rows)",
    ]


def test_only_a_single_select_passes_the_statement_check():
    assert check_query("WITH a AS (SELECT 1) SELECT * FROM a", VIEWS)[0] is not None
    assert check_query("DESCRIBE steps", VIEWS)[0] is not None
    assert check_query("EXPLAIN SELECT 1", VIEWS)[0] is None


def test_no_run_to_review_is_a_misconfiguration(store):
    with pytest.raises(ValueError, match="at least one run"):
        open_confined(store["root"], [])


def test_nothing_was_written_outside_the_data_folder(store, sql):
    outside = store["outside"]
    for query in [
        f"COPY steps TO '{outside}/a.csv'",
        f"EXPORT DATABASE '{outside}/db'",
        f"ATTACH '{outside}/b.duckdb'",
    ]:
        sql.query(query)
    assert sorted(os.listdir(outside)) == ["secret.csv", "secret.txt"]


def test_after_a_compaction_a_stopped_query_is_not_run_again_and_lookups_reconnect(tmp_path):
    """A compaction moved the reviewed rows: a query stopped for its time still answers
    "stopped" (it is never run a second time), and the tools' own lookups reconnect once."""
    from automem_core.store.compact import compact_run
    from automem_core.testing.sample_store import clone_episodes

    root = tmp_path / "data"
    play_fake_run(root, seeds=(0,), steps=6, run_id="r")
    clone_episodes(root, "r.grid.s0", "r", 3)
    quick = open_confined(root, ["r"], timeout_s=0.5)
    reopened: list[int] = []
    reopen = quick._reopen
    assert reopen is not None

    def counted():
        reopened.append(1)
        return reopen()

    quick._reopen = counted
    try:
        assert compact_run(root, "r") == 4
        started = time.perf_counter()
        answer = quick.query("SELECT count(*) FROM range(1000000000000) a")
        assert answer.text.startswith("stopped: the query ran past 0.5 s")
        assert time.perf_counter() - started < 5 and reopened == []
        assert quick.query("SELECT 'a'::INT AS y").text.startswith("error: ") and reopened == []
        assert quick.rows("SELECT count(*) FROM steps") == [(24,)]
        assert reopened == [1]
        assert quick.query("SELECT count(*) AS n FROM steps").text.splitlines()[1] == "24"
    finally:
        quick.close()
