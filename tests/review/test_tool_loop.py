"""The function-calling loop with the real ``openai`` client against ``LocalServer``: the model
calls the store's tools, gets what the store holds, and the run's calls, tokens, tool calls and
cost are recorded; caps, retries, a dead endpoint and a spent budget end it without raising."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from automem_core.analysis.episode import memory_at_step, open_episode, steps_in_range
from automem_core.llm.config import ModelConfig
from automem_core.review.tool_loop import FINAL_PROMPT, run_tool_loop
from automem_core.review.tool_records import TokenPrice, ToolLoopResult
from automem_core.review.tools import BUDGET_CHARS, StoreTools
from automem_core.store.reader import connect, view_files
from automem_core.testing.local_server import ChatRequest, LocalServer, Reply, ScriptedResponder
from automem_core.testing.sample_store import play_fake_run

EPISODE = "rev.grid.s0"
QUESTION = [
    {"role": "system", "content": "You review an agent's memory scaffold."},
    {"role": "user", "content": "Where does the agent waste its memory?"},
]
PRICE = {"reviewer": TokenPrice(usd_per_m_in=3.0, usd_per_m_out=15.0)}


class Recorder:
    """Scripted replies, and every request the "model" received."""

    def __init__(self, replies: list[Reply | str], fallback: Reply | str = "fallback") -> None:
        self.script = ScriptedResponder(replies, fallback)
        self.requests: list[ChatRequest] = []

    def __call__(self, request: ChatRequest) -> Reply:
        self.requests.append(request)
        return self.script(request)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("loop") / "data"
    play_fake_run(data, seeds=(0, 1), steps=15, run_id="rev")
    return data


@pytest.fixture(scope="module")
def tools(root: Path) -> Iterator[StoreTools]:
    with StoreTools(root, ["rev"]) as store_tools:
        yield store_tools


def config(base_url: str, **overrides: Any) -> ModelConfig:
    settings: dict[str, Any] = {
        "base_url": base_url,
        "model": "reviewer",
        "timeout_s": 5.0,
        "max_retries": 3,
        "backoff_base_s": 0.001,
        "backoff_max_s": 0.01,
        "api_key_env": "AUTOMEM_TEST_REVIEW_KEY",
    }
    return ModelConfig(**(settings | overrides))


def loop(
    recorder: Recorder, tools: StoreTools, **kwargs: Any
) -> tuple[ToolLoopResult, LocalServer]:
    settings: dict[str, Any] = {"max_tool_calls": 10, "max_turns": 10, "prices": PRICE}
    overrides = kwargs.pop("config", {})
    with LocalServer(recorder) as server:
        result = asyncio.run(
            run_tool_loop(
                config(server.base_url, **overrides), QUESTION, tools, **(settings | kwargs)
            )
        )
    return result, server


def tool_answers(request: ChatRequest) -> dict[str, str]:
    """tool_call_id → the tool message's content, in a request."""
    return {m["tool_call_id"]: m["content"] for m in request if m["role"] == "tool"}


def prompt_text(message: dict[str, Any]) -> str:
    calls = message.get("tool_calls", [])
    called = "".join(c["function"]["name"] + c["function"]["arguments"] for c in calls)
    return str(message.get("content") or "") + called


def test_a_scripted_review_reads_the_store_through_the_tools(root, tools):
    count = ("sql", {"query": "SELECT count(*) AS n FROM steps"})
    recorder = Recorder(
        [
            Reply(text="Counting first.", tool_calls=[count]),
            Reply(tool_calls=[("steps", {"episode_id": EPISODE, "start": 2, "end": 5})]),
            Reply(tool_calls=[("memory", {"episode_id": EPISODE, "step": 9})]),
            Reply(text="The agent appends every step to actions_log and never reads it."),
        ]
    )
    result, server = loop(recorder, tools)

    assert result.ok and result.stop == "answered"
    assert result.text == "The agent appends every step to actions_log and never reads it."
    assert server.requests == 4 and len(recorder.requests) == 4
    assert all(
        r.tool_names == ["sql", "steps", "step", "memory", "search"] for r in recorder.requests
    )
    assert all(r.body["tool_choice"] == "auto" for r in recorder.requests)
    assert [m["content"] for m in recorder.requests[0]] == [m["content"] for m in QUESTION]

    # what each tool answered, as the model received it in the next request
    answers = [list(tool_answers(recorder.requests[i]).values())[-1] for i in (1, 2, 3)]
    con = connect(root, run_ids=["rev"])
    n_steps = con.execute("SELECT count(*) FROM steps").fetchall()[0][0]
    assert answers[0] == f"n\n{n_steps}\n(1 row)"
    ep = open_episode(root, EPISODE)
    step_lines = [line for line in answers[1].splitlines() if line.startswith("step ")]
    assert [line.split(" | ")[:2] for line in step_lines] == [
        [f"step {r['step']}", f"action: {r['action']}"] for r in steps_in_range(ep, 2, 5)
    ]
    memory_lines = [line for line in answers[2].splitlines()[1:] if not line.startswith("──")]
    expected = [text for lines, _ in memory_at_step(ep, 9).values() for text in lines]
    assert [line.split("] ", 1)[1] for line in memory_lines] == expected

    # the assistant's tool calls went back with the ids the tool messages answer
    second = recorder.requests[1]
    assistant = next(m for m in second if m["role"] == "assistant")
    assert assistant["content"] == "Counting first."
    (call,) = assistant["tool_calls"]
    assert call["type"] == "function" and call["function"]["name"] == "sql"
    assert list(tool_answers(second)) == [call["id"]]

    # the records
    assert [(t.name, json.loads(t.arguments)) for t in result.tool_calls] == [
        ("sql", {"query": "SELECT count(*) AS n FROM steps"}),
        ("steps", {"episode_id": EPISODE, "start": 2, "end": 5}),
        ("memory", {"episode_id": EPISODE, "step": 9}),
    ]
    assert all(t.ran and not t.failed for t in result.tool_calls)
    assert [t.answer_chars for t in result.tool_calls] == [len(a) for a in answers]
    assert len(result.calls) == 4 and [c.tool_calls for c in result.calls] == [1, 1, 1, 0]
    assert [c.finish_reason for c in result.calls] == ["tool_calls"] * 3 + ["stop"]
    assert result.tokens_in == sum(c.tokens_in for c in result.calls) > 0
    assert result.tokens_out > 0 and result.retries == 0 and result.latency_ms > 0
    # the server counts a quarter token per character of the prompt: the tool answers count
    last_prompt = "".join(prompt_text(m) for m in recorder.requests[-1])
    assert result.calls[-1].tokens_in == len(last_prompt) // 4
    assert result.cost_usd == pytest.approx(
        (result.tokens_in * 3.0 + result.tokens_out * 15.0) / 1e6
    )
    assert result.messages[-1] == {"role": "assistant", "content": result.text}
    assert [m["role"] for m in result.messages] == [
        "system", "user", "assistant", "tool", "assistant", "tool", "assistant", "tool",
        "assistant",
    ]  # fmt: skip


def test_several_and_broken_tool_calls_in_one_reply_each_get_an_answer(tools):
    recorder = Recorder(
        [
            Reply(
                tool_calls=[
                    ("search", {"text": "gold", "limit": 2}),
                    ("drop_tables", {}),
                    ("step", '{"episode_id": '),
                    ("sql", {"query": "COPY steps TO '/tmp/x.csv'"}),
                ]
            ),
            "done",
        ]
    )
    result, _ = loop(recorder, tools)
    assert result.ok and result.text == "done"
    answers = list(tool_answers(recorder.requests[1]).values())
    assert len(answers) == 4
    assert " hits for 'gold', first 2 shown" in answers[0].splitlines()[0]
    assert len(answers[0].splitlines()) == 3
    assert answers[1].startswith("error: no tool named 'drop_tables'")
    assert answers[2].startswith("error: the arguments of step are not JSON")
    assert answers[3].startswith("refused: only a read-only query")
    assert [t.failed for t in result.tool_calls] == [False, True, True, True]


def test_the_tool_call_cap_ends_with_one_call_without_tools(tools):
    sql = ("sql", {"query": "SELECT 1 AS one"})
    recorder = Recorder(
        [Reply(tool_calls=[sql, sql]), Reply(tool_calls=[sql, sql]), "final answer"],
        fallback=Reply(tool_calls=[sql]),
    )
    result, _ = loop(recorder, tools, max_tool_calls=3)
    assert result.ok and result.stop == "max_tool_calls" and result.text == "final answer"
    assert [t.ran for t in result.tool_calls] == [True, True, True, False]
    not_run = list(tool_answers(recorder.requests[2]).values())[-1]
    assert not_run.startswith("not run: the limit of 3 tool calls is reached")
    final = recorder.requests[-1]
    assert len(recorder.requests) == 3 and final.body["tool_choice"] == "none"
    assert final[-1] == {
        "role": "user",
        "content": FINAL_PROMPT.format(what="all 3 tool calls"),
    }


def test_the_turn_cap_ends_with_one_call_without_tools(tools):
    call = Reply(tool_calls=[("sql", {"query": "SELECT 1 AS one"})])
    recorder = Recorder([call, call, "enough"])
    result, _ = loop(recorder, tools, max_turns=2)
    assert result.ok and result.stop == "max_turns" and result.text == "enough"
    assert len(result.calls) == 3 and len(result.tool_calls) == 2
    assert recorder.requests[-1].body["tool_choice"] == "none"
    assert recorder.requests[-1][-1]["content"] == FINAL_PROMPT.format(what="all 2 turns")


def test_tool_calls_after_the_tools_are_off_give_no_answer_but_do_not_raise(tools):
    call = Reply(tool_calls=[("sql", {"query": "SELECT 1 AS one"})])
    recorder = Recorder([call], fallback=call)
    result, _ = loop(recorder, tools, max_turns=1)
    assert not result.ok and result.text is None and result.stop == "max_turns"
    assert "gave no final answer" in (result.error or "")


def test_transient_errors_are_retried_and_counted(tools):
    recorder = Recorder([Reply(status=503, text="busy"), Reply(status=429, text="slow"), "fine"])
    result, _ = loop(recorder, tools)
    assert result.ok and result.text == "fine"
    assert result.retries == 2 and len(result.calls) == 1


def test_a_dead_endpoint_ends_with_an_error_not_an_exception(tools):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = asyncio.run(
        run_tool_loop(
            config(f"http://127.0.0.1:{port}/v1", max_retries=1),
            QUESTION,
            tools,
            max_tool_calls=5,
            max_turns=5,
        )
    )
    assert not result.ok and result.stop == "error" and result.text is None
    assert "cannot connect to" in (result.error or "") and "after 1 retry" in (result.error or "")
    assert result.calls[0].retries == 1


def test_an_exhausted_quota_is_not_retried(tools):
    quota = json.dumps(
        {
            "error": {
                "message": "You exceeded your current quota",
                "type": "insufficient_quota",
                "code": "insufficient_quota",
            }
        }
    )
    recorder = Recorder([Reply(status=429, raw_body=quota)], fallback="never reached")
    result, server = loop(recorder, tools)
    assert server.requests == 1 and result.retries == 0
    assert result.stop == "error" and "quota is exhausted" in (result.error or "")


def test_a_spent_budget_stops_the_loop(tools):
    call = Reply(tool_calls=[("steps", {"episode_id": EPISODE, "start": 0, "end": 14})])
    recorder = Recorder([call], fallback=call)
    result, _ = loop(recorder, tools, max_tokens_total=3000)
    assert result.stop == "budget" and not result.ok
    assert (result.error or "").startswith("budget exhausted: spent ")
    assert result.tokens_in + result.tokens_out > 3000
    assert len(result.calls) < 10

    priced, _ = loop(Recorder([call], fallback=call), tools, max_cost_usd=0.001)
    assert priced.stop == "budget" and "of the $0.001 budget" in (priced.error or "")
    assert priced.cost_usd is not None and priced.cost_usd > 0.001


def test_a_cost_budget_needs_a_price_and_a_missing_key_is_an_error(tools, monkeypatch):
    result, _ = loop(Recorder(["x"]), tools, prices={}, max_cost_usd=1.0)
    assert result.error and "needs a price for model 'reviewer'" in result.error
    assert result.calls == []
    monkeypatch.delenv("AUTOMEM_TEST_REVIEW_KEY", raising=False)
    remote = asyncio.run(
        run_tool_loop(
            config("https://api.example.invalid/v1"),
            QUESTION,
            tools,
            max_tool_calls=1,
            max_turns=1,
        )
    )
    assert remote.error and "AUTOMEM_TEST_REVIEW_KEY is not set" in remote.error
    assert remote.cost_usd is None  # no price for an unpriced model


def test_the_key_is_sent_but_never_logged_or_returned(tools, monkeypatch, caplog):
    key = "sk-test-secret-4242"
    monkeypatch.setenv("AUTOMEM_TEST_REVIEW_KEY", key)
    recorder = Recorder([Reply(status=401, text=f"bad key {key}")])
    with caplog.at_level(logging.DEBUG):
        result, server = loop(recorder, tools)
    assert server.seen_authorization == [f"Bearer {key}"]
    assert result.error and "HTTP 401" in result.error and key not in result.error
    assert key not in caplog.text


def test_response_format_goes_with_every_call(tools):
    schema = {"type": "json_schema", "json_schema": {"name": "p", "schema": {"type": "object"}}}
    call = Reply(tool_calls=[("sql", {"query": "SELECT 1 AS one"})])
    recorder = Recorder([call, '{"patch": []}'])
    result, _ = loop(recorder, tools, response_format=schema, config={"extra_body": {"seed": 7}})
    assert result.text == '{"patch": []}'
    assert all(r.body["response_format"] == schema for r in recorder.requests)
    assert all(r.body["seed"] == 7 and r.body["model"] == "reviewer" for r in recorder.requests)


def test_a_hostile_model_cannot_end_the_review(root, tools, monkeypatch):
    """Every hostile call gets a short answer and the review goes on to its answer; a tool
    that raises is recorded as a crash, not an end."""
    (steps_file, *_) = view_files(root, ["steps"], ["rev"]).files["steps"]
    rejects = (
        f"SELECT * FROM read_csv('{steps_file}', store_rejects=true, rejects_table='steps', "
        "rejects_scan='turns', auto_detect=false, columns={'line': 'INTEGER'}, header=false)"
    )
    hostile: list[tuple[str, dict[str, Any] | str]] = [
        ("sql", '{"query": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        ("sql", '{"query": ' + "[" * 30_000 + "]" * 30_000 + "}"),
        ("search", {"text": "q" * 1_000_000}),
        ("step", {"episode_id": "x" * 100_000, "step": 1}),
        ("sql", {"query": "SELECT 1", "k" * 50_000: 1}),
        ("sql", {"query": "SELECT repeat(chr(10), 3000000) AS big FROM range(200)"}),
        ("sql", {"query": rejects}),
        ("sql", {"query": "SELECT * FROM duckdb_settings()"}),
        ("sql", {"query": "SELECT current_setting('home_directory')"}),
        ("drop_everything", {}),
        ("memory", "\udcff\udcfe not utf-8"),
    ]
    count = ("sql", {"query": "SELECT count(*) AS n FROM steps"})
    recorder = Recorder(
        [Reply(tool_calls=[call]) for call in hostile]
        + [Reply(tool_calls=[("search", {"text": "gold", "limit": 1})])]  # crashes, see below
        + [Reply(tool_calls=[count]), "The review goes on."]
    )

    def recurse(store_tools: StoreTools, text: str, limit: int = 20) -> str:
        return recurse(store_tools, text, limit)

    real_search = StoreTools.search

    def search_once_broken(store_tools: StoreTools, text: str, limit: int = 20) -> str:
        if text == "gold":  # a bug that only this search meets
            return recurse(store_tools, text, limit)
        return real_search(store_tools, text, limit)

    monkeypatch.setattr(StoreTools, "search", search_once_broken)
    result, _ = loop(recorder, tools, max_tool_calls=20, max_turns=20)

    assert result.ok and result.stop == "answered" and result.text == "The review goes on."
    answers = [m["content"] for m in result.messages if m["role"] == "tool"]
    assert len(answers) == len(hostile) + 2
    assert all(len(a) <= BUDGET_CHARS for a in answers)
    n_steps = connect(root, run_ids=["rev"]).execute("SELECT count(*) FROM steps").fetchall()[0][0]
    assert answers[-1] == f"n\n{n_steps}\n(1 row)"  # the session is intact after them all
    records = result.tool_calls
    assert [r.failed for r in records[: len(hostile)]] == [True] * 5 + [False] + [True] * 5
    assert answers[5].startswith("big\n") and "[cut: the answer was" in answers[5]
    crashed = records[len(hostile)]
    assert crashed.failed and (crashed.crash or "").startswith("RecursionError: ")
    assert answers[len(hostile)].startswith("error: search failed (RecursionError: ")
    assert [r.crash for r in records if r is not crashed] == [None] * (len(records) - 1)
    assert max(r.latency_ms for r in records) < (tools._sql.timeout_s + 1) * 1000
