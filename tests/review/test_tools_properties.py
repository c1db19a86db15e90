"""Whatever a model sends (any tool name; arguments deep, long, of the wrong types, with extra
keys, not UTF-8), a tool call never raises, never answers past the budget, never runs past the
time cap + 1 s, and leaves the session as it was."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from automem_core.review.tools import BUDGET_CHARS, TOOLS, StoreTools
from tests.review.two_runs import TwoRuns

TIMEOUT_S = 1.0
QUERIES = [
    "SELECT repeat(chr(10), 3000000) AS big FROM range(200)",
    "SELECT count(*) FROM range(1000000000000)",
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t",
    "SELECT * FROM duckdb_settings()",
    "SELECT current_setting('home_directory')",
    "SELECT * FROM read_csv('/etc/passwd', store_rejects=true, rejects_table='steps')",
    "SELECT * FROM read_parquet('/etc/passwd')",
    "SELECT * FROM steps",
    "SELECT * FROM labels, decisions",
    "DESCRIBE turns",
    "SELECT 1; DROP VIEW steps",
    "CREATE TEMP TABLE turns AS SELECT 1",
    "SELECT '\udcff'",
    "/* unterminated",
]
EPISODES = ["rev.grid.s0", "rev.grid.s1", "other.grid.s0", ""]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=80),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner),
    max_leaves=12,
)
texts = st.one_of(
    st.text(max_size=300),
    st.sampled_from(QUERIES),
    st.sampled_from(EPISODES),
    st.integers(0, 200_000).map(lambda n: "x" * n),
    st.binary(max_size=100).map(lambda b: b.decode("utf-8", "surrogateescape")),
)
fields = {
    "query": texts,
    "episode_id": texts,
    "text": texts,
    "step": st.integers(-3, 10**20) | json_values,
    "start": st.integers(-3, 10**20) | json_values,
    "end": st.integers(-3, 200) | json_values,
    "limit": st.integers(-3, 10**6) | json_values,
    "full_prompts": st.booleans() | json_values,
}
objects = st.dictionaries(
    st.sampled_from(sorted(fields)) | st.text(max_size=30), json_values, max_size=6
).flatmap(
    lambda extra: st.fixed_dictionaries(
        {},
        optional={k: v for k, v in fields.items()},
    ).map(lambda known: {**extra, **known})
)
arguments = st.one_of(
    objects,
    objects.map(json.dumps),
    json_values,
    json_values.map(json.dumps),
    st.integers(1, 200_000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 200_000).map(lambda n: '{"query": ' * n),
    st.integers(0, 2_000_000).map(lambda n: json.dumps({"text": "a" * n, "limit": 1})),
    st.binary(max_size=300),
    st.binary(max_size=300).map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.text(max_size=300),
)
names = st.one_of(st.sampled_from(list(TOOLS)), st.text(max_size=40), st.integers())


def mostly(values: list[str]) -> st.SearchStrategy[str]:
    """One of ``values`` three times in four, else any text."""
    return st.integers(0, 3).flatmap(lambda i: texts if i == 0 else st.sampled_from(values))


episode_ids = mostly(EPISODES[:2])
steps = st.integers(-1, 25)
# Calls as the schemas describe them, with values good and bad: most of them run the tool.
calls = st.one_of(
    st.tuples(st.just("sql"), st.fixed_dictionaries({"query": mostly(QUERIES)})),
    st.tuples(
        st.just("steps"),
        st.fixed_dictionaries({"episode_id": episode_ids, "start": steps, "end": steps}),
    ),
    st.tuples(
        st.just("step"),
        st.fixed_dictionaries(
            {"episode_id": episode_ids, "step": steps}, optional={"full_prompts": st.booleans()}
        ),
    ),
    st.tuples(st.just("memory"), st.fixed_dictionaries({"episode_id": episode_ids, "step": steps})),
    st.tuples(
        st.just("search"),
        st.fixed_dictionaries({"text": texts}, optional={"limit": st.integers(1, 50)}),
    ),
)


@pytest.fixture(scope="module")
def tools(two_runs: TwoRuns):
    with StoreTools(two_runs.root, [two_runs.reviewed], sql_timeout_s=TIMEOUT_S) as store_tools:
        yield store_tools


def check_call(tools: StoreTools, name: object, args: object) -> None:
    before = tools._sql.fingerprint()
    started = time.perf_counter()
    answer = tools.answer(name, args)
    elapsed = time.perf_counter() - started
    assert isinstance(answer.text, str) and answer.text
    assert len(answer.text) <= BUDGET_CHARS
    assert elapsed <= TIMEOUT_S + 1
    answer.text.encode("utf-8")
    event(answer.text.split(" ", 1)[0] if answer.failed else "answered")
    assert answer.crash is None, answer.crash  # a crash would be a bug of a tool
    assert tools._sql.fingerprint() == before


BOUNDED = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@BOUNDED
@given(name=names, args=arguments)
def test_no_call_raises_overruns_the_budget_or_the_time_cap(tools: StoreTools, name, args):
    check_call(tools, name, args)


@BOUNDED
@given(call=calls, as_text=st.booleans())
def test_calls_shaped_like_the_schemas_keep_the_same_promises(tools: StoreTools, call, as_text):
    name, args = call
    check_call(tools, name, json.dumps(args) if as_text else args)


def test_the_tools_still_answer_after_the_examples(tools: StoreTools):
    query: dict[str, Any] = {"query": "SELECT count(*) AS n FROM steps"}
    assert tools.call("sql", query) == "n\n40\n(1 row)"
