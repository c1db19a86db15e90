"""The reviewer's tools against a hostile model, through ``StoreTools.call`` with the arguments
that once broke them: no call raises, every answer (errors included) is within the budget and
the time cap, the session is the same after each call, and nothing names the machine."""

from __future__ import annotations

import re
import time
import tracemalloc
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from automem_core.review import tools as tools_module
from automem_core.review.tools import BUDGET_CHARS, TOOLS, StoreTools
from automem_core.store.reader import view_files
from automem_core.testing.sample_store import play_fake_run
from tests.review.two_runs import CANARY, TwoRuns

TIMEOUT_S = 2.0
EPISODE = "rev.grid.s0"
REPEAT = "SELECT repeat(chr(10), 3000000) AS big FROM range(200)"


BUILT: dict[str, object] = {}  # the session's fingerprint as the tools opened it


@pytest.fixture(scope="module")
def tools(two_runs: TwoRuns):
    with StoreTools(two_runs.root, [two_runs.reviewed], sql_timeout_s=TIMEOUT_S) as store_tools:
        BUILT["fingerprint"] = store_tools._sql.fingerprint()
        yield store_tools


def hostile(tools: StoreTools, name: object, arguments: object) -> str:
    """One call that must keep every promise; its answer."""
    before = tools._sql.fingerprint()
    started = time.perf_counter()
    answer = tools.answer(name, arguments)
    elapsed = time.perf_counter() - started
    assert len(answer.text) <= BUDGET_CHARS
    assert elapsed <= TIMEOUT_S + 1, (name, elapsed)
    assert answer.elapsed_s <= elapsed
    answer.text.encode("utf-8")  # valid Unicode: it can go into the next request
    assert tools._sql.fingerprint() == before  # the session did not change
    return answer.text


def still_answers(tools: StoreTools) -> None:
    """The tools that read the views still work after the call."""
    assert hostile(tools, "sql", {"query": "SELECT count(*) AS n FROM steps"}) == "n\n40\n(1 row)"
    assert re.match(r"\d+ hits? for 'gold'", hostile(tools, "search", {"text": "gold", "limit": 1}))
    assert hostile(tools, "step", {"episode_id": EPISODE, "step": 3}).startswith(
        f"episode {EPISODE} step 3 (rev)"
    )


# ---------------------------------------------------------------- 2: parsing cannot raise

DEEP = 100_000
WITHIN_SIZE = 30_000  # deep, yet short enough that only the depth refuses it


@pytest.mark.parametrize("name", list(TOOLS))
def test_arguments_nested_100000_deep_answer_one_line(tools, name):
    for arguments in [
        "[" * DEEP + "]" * DEEP,
        '{"query": ' + "[" * DEEP + "]" * DEEP + "}",
        '{"a": ' * DEEP + "1" + "}" * DEEP,
    ]:
        answer = hostile(tools, name, arguments)
        assert answer.startswith(f"error: the arguments of {name} are {len(arguments)} char")
    for arguments in [
        "[" * WITHIN_SIZE + "]" * WITHIN_SIZE,
        '{"query": ' + "[" * WITHIN_SIZE + "]" * WITHIN_SIZE + "}",
        "{" * (DEEP // 2),  # not even closed
        '{"a": ' * 5_000 + "1" + "}" * 5_000,
    ]:
        answer = hostile(tools, name, arguments)
        assert answer.startswith(f"error: the arguments of {name} are nested deeper than 8 ")
        assert "\n" not in answer
    still_answers(tools)


def test_a_deep_mapping_answers_one_line(tools):
    nested: dict[str, object] = {}
    for _ in range(DEEP):
        nested = {"a": nested}
    answer = hostile(tools, "sql", nested)
    assert answer == "error: the arguments of sql are nested too deeply; send a flat object"


def test_a_recursion_error_inside_a_tool_is_a_one_line_answer_and_recorded(tools, monkeypatch):
    def recurse(store_tools: StoreTools, args: object) -> str:
        return recurse(store_tools, args)

    broken = tools_module._Tool(TOOLS["sql"].args, "", recurse)
    monkeypatch.setitem(TOOLS, "sql", broken)
    answer = tools.answer("sql", {"query": "SELECT 1"})
    assert answer.failed and answer.crash is not None
    assert answer.crash.startswith("RecursionError: maximum recursion depth exceeded")
    assert answer.text == f"error: sql failed ({answer.crash}); try other arguments or another tool"
    monkeypatch.undo()
    still_answers(tools)


def test_a_damaged_turn_row_is_a_one_line_answer_and_recorded(tmp_path):
    root = tmp_path / "data"
    play_fake_run(root, seeds=(0,), steps=4, run_id="rev")
    (turns_file,) = view_files(root, ["turns"], ["rev"]).files["turns"]
    table = pq.read_table(turns_file)
    index = table.schema.get_field_index("messages_json")
    damaged = table.set_column(index, "messages_json", pa.array(["{not json"] * len(table)))
    pq.write_table(damaged, turns_file)  # a turn row damaged by hand, same file, same size class
    with StoreTools(root, ["rev"]) as store_tools:
        answer = store_tools.answer("step", {"episode_id": EPISODE, "step": 1})
        assert answer.failed and (answer.crash or "").startswith("JSONDecodeError: ")
        assert answer.text.startswith("error: step failed (JSONDecodeError: ")
        assert "\n" not in answer.text
        assert store_tools.call("memory", {"episode_id": EPISODE, "step": 1}).startswith("memory")


# ---------------------------------------------------------------- 3: errors within the budget

LONG_ID = "x" * 100_000


@pytest.mark.parametrize(
    ("name", "arguments", "start"),
    [
        ("step", {"episode_id": LONG_ID, "step": 1}, "error: the arguments of step are 100029 c"),
        ("memory", {"episode_id": LONG_ID, "step": 1}, "error: the arguments of memory are 100029"),
        ("step", {"episode_id": "x" * 60_000, "step": 1}, "error: bad arguments for step: `epis"),
        ("memory", {"episode_id": "x" * 60_000, "step": 1}, "error: bad arguments for memory: `"),
        ("search", {"text": "q" * 1_000_000}, "error: the arguments of search are 1000012 char"),
        ("search", {"text": "q" * 60_000}, "error: bad arguments for search: `text`: String sh"),
        ("sql", {"query": "SELECT 1", "k" * 100_000: 1}, "error: the arguments of sql are 100"),
        ("sql", {"query": "SELECT 1", "k" * 50_000: 1}, "error: bad arguments for sql: `kkkk"),
        ("sql", {"query": "SELECT 1"} | {f"extra{i}": i for i in range(5_000)}, "error: the arg"),
        ("sql", {"query": "SELECT 1"} | {f"e{i}": i for i in range(2_000)}, "error: bad argum"),
        ("sql", {"query": "SELECT '" + "y" * 30_000 + "'"}, "error: bad arguments for sql: `q"),
        ("n" * 100_000, {}, "error: no tool named 'nnnnnnnn"),
        ("step", {"episode_id": "no-such-episode-" + "z" * 150, "step": 1}, "error: episode 'no"),
    ],
)
def test_error_answers_stay_short_and_within_the_budget(tools, name, arguments, start):
    answer = hostile(tools, name, arguments)
    assert answer.startswith(start), answer[:200]
    assert len(answer) < 1_000 and "\n" not in answer


def test_an_error_past_a_small_budget_is_cut_and_says_so(two_runs):
    with StoreTools(two_runs.root, ["rev"], budget_chars=120) as small:
        answer = small.call("sql", {"query": "SELECT * FROM read_csv('/etc/passwd')"})
    assert len(answer) <= 120 and "[cut: the answer was " in answer


# ---------------------------------------------------------------- 4: time and memory caps


def test_huge_cells_are_cut_inside_duckdb_within_the_time_cap(tools):
    tracemalloc.start()
    try:
        answer = hostile(tools, "sql", {"query": REPEAT})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000  # the 600 MB of cells never reached Python
    lines = answer.splitlines()
    assert lines[0] == "big"
    assert lines[1] == "\\n" * 150 + "…[+2999850 chars]"
    assert "[cut: the answer was" in answer  # 200 such rows are over the budget


@pytest.mark.parametrize(
    "query",
    [
        "SELECT range FROM range(1000000000000)",  # interrupted while its rows stream
        "SELECT count(*) FROM range(1000000000000)",  # interrupted inside DuckDB
        "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t",
        "SELECT sum(a.range * b.range) FROM range(100000) a, range(100000) b",
    ],
)
def test_a_query_stopped_at_the_cap_answers_the_stopped_message(tools, query):
    answer = hostile(tools, "sql", {"query": query})
    assert answer == (
        f"stopped: the query ran past {TIMEOUT_S:g} s; narrow it (WHERE episode_id = …, a step "
        "range, LIMIT) or aggregate"
    )
    assert "Interrupted" not in answer and "OSError" not in answer
    still_answers(tools)


def test_many_rows_are_counted_not_shown(tools):
    query = "SELECT range, repeat('w', 1000) AS w FROM range(300000)"
    result = tools._sql.query(query)
    assert result.ok and result.rows == 300_000
    lines = result.text.splitlines()
    assert len(lines) == 202 and lines[1] == "0 | " + "w" * 300 + "…[+700 chars]"
    assert lines[-1] == (
        "(200 rows shown of 300000; 299800 more: add WHERE/LIMIT/OFFSET or aggregate)"
    )
    assert "[cut: the answer was" in hostile(tools, "sql", {"query": query})


# ---------------------------------------------------------------- 5: the session cannot change


def rejects_query(two_runs: TwoRuns) -> str:
    (steps_file, *_) = view_files(two_runs.root, ["steps"], ["rev"]).files["steps"]
    return (
        f"SELECT * FROM read_csv('{steps_file}', store_rejects=true, rejects_table='steps', "
        "rejects_scan='turns', auto_detect=false, columns={'line': 'INTEGER'}, header=false, "
        "strict_mode=false, delim='|', quote='', escape='')"
    )


def test_the_rejects_query_would_hide_the_views_on_a_plain_connection(two_runs, tools):
    con = tools._sql._con  # past the check, inside a transaction: what the query would do
    con.begin()
    try:
        con.execute(rejects_query(two_runs)).fetchall()
        tables = con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
        assert sorted(tables) == [("steps",), ("turns",)]  # temp tables named like the views
    finally:
        con.rollback()
    assert con.execute("SELECT count(*) FROM duckdb_tables()").fetchall() == [(0,)]


def test_store_rejects_is_refused_and_search_still_works(two_runs, tools):
    answer = hostile(tools, "sql", {"query": rejects_query(two_runs)})
    assert answer.startswith("refused: the table function read_csv is not available")
    still_answers(tools)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT setseed(0.5)",
        "SELECT write_log('x')",
        "SELECT * FROM enable_logging()",
        "SELECT * FROM checkpoint()",
        "SELECT * FROM query('CREATE TEMP TABLE steps AS SELECT 1')",
        "SELECT * FROM json_execute_serialized_sql('{}')",
        "CREATE TEMP TABLE steps AS SELECT 1",
        "CREATE TEMP MACRO m() AS 1",
        "SELECT 1; CREATE TEMP VIEW turns AS SELECT 1",
        "SET VARIABLE x = 1",
        "PRAGMA enable_profiling",
    ],
)
def test_nothing_else_changes_the_session(tools, query):
    answer = hostile(tools, "sql", {"query": query})
    assert answer.startswith("refused:") and "\n" not in answer


def test_a_changed_session_is_closed_not_used(two_runs):
    with StoreTools(two_runs.root, ["rev"]) as own:
        own._sql._con.execute("CREATE TEMP VIEW steps AS SELECT 1 AS step")  # past every check
        first = own.call("sql", {"query": "SELECT 1 AS one"})
        assert first == "one\n1\n(1 row)"  # answered before the change was seen
        answer = own.call("sql", {"query": "SELECT count(*) FROM steps"})
        assert answer.startswith("error: the SQL connection is closed (a query changed the se")
        assert own.call("step", {"episode_id": EPISODE, "step": 1}).startswith("episode rev")


# ---------------------------------------------------------------- 6: nothing names the machine


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM duckdb_settings()",
        "SELECT current_setting('home_directory')",
        "SELECT current_setting('allowed_paths')",
        "SELECT pg_catalog.current_setting('secret_directory')",
        "SELECT * FROM duckdb_views()",
        "SELECT sql FROM duckdb_views",
        "FROM sqlite_master",
        "SELECT view_definition FROM information_schema.views",
        "SELECT * FROM pg_catalog.pg_settings",
        "SUMMARIZE pg_catalog.pg_settings",
        "SHOW home_directory",
        "SELECT * FROM duckdb_extensions()",
        "SELECT * FROM duckdb_databases()",
        "SELECT * FROM pragma_database_list",
        "SELECT * FROM duckdb_external_file_cache()",
        "SELECT (SELECT value FROM duckdb_settings() WHERE name = 'allowed_paths') AS p",
        "SELECT [x FOR x IN [1] IF current_setting('home_directory') = '']",
        "WITH duckdb_views AS (SELECT 1) SELECT * FROM duckdb_views",
        "SELECT getenv('HOME')",
    ],
)
def test_settings_and_catalog_are_not_queryable(tools, query):
    answer = hostile(tools, "sql", {"query": query})
    assert answer.startswith("refused:"), answer
    assert "\n" not in answer


def test_no_answer_shows_the_store_path_or_the_home_directory(two_runs, tools):
    home = str(Path.home())
    root = str(two_runs.root.resolve())
    answers = [
        hostile(tools, "sql", {"query": f"SELECT * FROM read_parquet('{root}/nope.parquet')"}),
        hostile(tools, "sql", {"query": f"SELECT '{root}' AS here, '{home}' AS home"}),
        hostile(tools, "sql", {"query": "SHOW ALL TABLES"}),
    ]
    for answer in answers:
        assert root not in answer and home not in answer
    assert '"<store>/nope.parquet"' in answers[0]
    assert answers[1].splitlines()[1] == "<store> | ~"
    assert CANARY not in "".join(answers)


def test_every_call_above_left_the_session_as_it_was_built(tools):
    confined = tools._sql
    views = {row[3] for row in confined.fingerprint() if row[0] == "view"}
    assert {"steps", "turns", "episodes", "decisions", "labels"} <= views
    assert confined.fingerprint() == BUILT["fingerprint"]
