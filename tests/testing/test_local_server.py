"""The OpenAI-compatible test server, spoken to with the standard library's HTTP client."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from automem_core.testing.local_server import ChatRequest, LocalServer, Reply, ScriptedResponder

REPO_ROOT = Path(__file__).resolve().parents[2]
MESSAGES = [{"role": "user", "content": "hello from the test"}]


def connect(base_url: str) -> http.client.HTTPConnection:
    parts = urlsplit(base_url)
    return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)


def post_chat(
    conn: http.client.HTTPConnection,
    messages: object = MESSAGES,
    model: str = "m",
    **extra: object,
) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"model": model, "messages": messages, **extra})
    conn.request(
        "POST",
        "/v1/chat/completions",
        body=body,
        headers={"Content-Type": "application/json", "Authorization": "Bearer test-key"},
    )
    response = conn.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def chat_once(base_url: str) -> tuple[int, dict[str, str], bytes]:
    conn = connect(base_url)
    try:
        return post_chat(conn)
    finally:
        conn.close()


def test_start_returns_a_v1_base_url_on_localhost():
    with LocalServer(lambda messages: "x") as server:
        parts = urlsplit(server.base_url)
        assert parts.hostname == "127.0.0.1"
        assert parts.port and parts.port > 0
        assert parts.path == "/v1"


def test_models_endpoint_lists_a_model():
    with (
        LocalServer(lambda messages: "x") as server,
        urllib.request.urlopen(f"{server.base_url}/models", timeout=10) as response,
    ):
        payload = json.load(response)
    assert payload["object"] == "list"
    assert payload["data"][0]["id"]


def test_chat_completion_follows_the_openai_schema():
    text = "twelve chars"
    with LocalServer(lambda messages: text) as server:
        conn = connect(server.base_url)
        status, headers, raw = post_chat(conn, model="qwen")
        conn.close()
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    payload = json.loads(raw)
    assert payload["object"] == "chat.completion"
    assert payload["model"] == "qwen"
    assert payload["id"] and isinstance(payload["created"], int)
    choice = payload["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": text}
    assert choice["finish_reason"] == "stop"
    usage = payload["usage"]
    assert usage["prompt_tokens"] == len(MESSAGES[0]["content"]) // 4
    assert usage["completion_tokens"] == len(text) // 4
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "sql",
            "description": "run a query",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
        },
    }
]


def test_tool_call_reply_follows_the_openai_schema():
    reply = Reply(tool_calls=[("sql", {"query": "SELECT 1"}), ("steps", '{"broken')])
    with LocalServer(ScriptedResponder([reply])) as server:
        conn = connect(server.base_url)
        status, _, raw = post_chat(conn, tools=TOOLS)
        conn.close()
    assert status == 200
    choice = json.loads(raw)["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert message["role"] == "assistant" and message["content"] is None
    calls = message["tool_calls"]
    assert [c["type"] for c in calls] == ["function", "function"]
    assert [c["function"]["name"] for c in calls] == ["sql", "steps"]
    assert json.loads(calls[0]["function"]["arguments"]) == {"query": "SELECT 1"}
    assert calls[1]["function"]["arguments"] == '{"broken'  # a string is sent verbatim
    assert len({c["id"] for c in calls}) == 2 and all(c["id"].startswith("call_") for c in calls)


def test_responder_sees_tools_and_tool_messages_of_the_request():
    seen: list[ChatRequest] = []

    def responder(request: ChatRequest) -> str:
        seen.append(request)
        return "done"

    messages = [
        {"role": "user", "content": "count the steps"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "sql", "arguments": '{"query": "SELECT 1"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "1"},
    ]
    with LocalServer(responder) as server:
        conn = connect(server.base_url)
        status, _, raw = post_chat(conn, messages, tools=TOOLS, tool_choice="auto")
        conn.close()
    assert status == 200
    (request,) = seen
    assert list(request) == messages == request.messages  # still the list of messages
    assert request.tools == TOOLS and request.tool_names == ["sql"]
    assert request.body["tool_choice"] == "auto"
    payload = json.loads(raw)
    assert payload["choices"][0]["message"] == {"role": "assistant", "content": "done"}
    assert payload["choices"][0]["finish_reason"] == "stop"
    # the tool call's arguments and the tool message count towards the prompt's tokens
    prompt = "count the steps" + "sql" + '{"query": "SELECT 1"}' + "1"
    assert payload["usage"]["prompt_tokens"] == len(prompt) // 4


def test_keep_alive_serves_several_requests_on_one_connection():
    with LocalServer(lambda messages: "again") as server:
        conn = connect(server.base_url)
        post_chat(conn)
        first_socket = conn.sock
        for _ in range(3):
            status, headers, _ = post_chat(conn)
            assert status == 200
            assert headers["Connection"] == "keep-alive"
        assert conn.sock is first_socket
        conn.close()
        assert server.requests == 4


def test_error_reply_sends_status_retry_after_and_error_body():
    replies = [Reply(status=429, text="slow down", retry_after_s=1.5)]
    with LocalServer(ScriptedResponder(replies)) as server:
        status, headers, raw = chat_once(server.base_url)
    assert status == 429
    assert headers["Retry-After"] == "1.5"
    assert json.loads(raw)["error"]["message"] == "slow down"


def test_raw_body_is_sent_verbatim():
    with LocalServer(ScriptedResponder([Reply(raw_body="{broken", status=200)])) as server:
        status, _, raw = chat_once(server.base_url)
    assert status == 200
    assert raw == b"{broken"


def test_unknown_route_is_404_and_bad_json_is_400():
    with LocalServer(lambda messages: "x") as server:
        conn = connect(server.base_url)
        conn.request("GET", "/v1/nothing")
        response = conn.getresponse()
        response.read()
        assert response.status == 404
        conn.request("POST", "/v1/chat/completions", body="not json")
        response = conn.getresponse()
        response.read()
        assert response.status == 400
        conn.close()
        assert server.by_status == Counter({404: 1, 400: 1})


def test_responder_exception_becomes_500():
    def broken(messages: list[dict[str, str]]) -> str:
        raise RuntimeError("responder bug")

    with LocalServer(broken) as server:
        status, _, raw = chat_once(server.base_url)
    assert status == 500
    assert "responder bug" in json.loads(raw)["error"]["message"]


def test_counters_record_requests_statuses_and_authorization():
    replies = [Reply(status=503), "ok"]
    with LocalServer(ScriptedResponder(replies)) as server:
        conn = connect(server.base_url)
        for _ in range(3):
            post_chat(conn)
        conn.close()
        assert server.requests == 3
        assert server.by_status == Counter({200: 2, 503: 1})
        assert server.seen_authorization == ["Bearer test-key"] * 3


def test_scripted_responder_replays_in_order_then_repeats_fallback():
    responder = ScriptedResponder([Reply("a"), "b"], fallback=Reply(status=500))
    assert [responder(MESSAGES) for _ in range(4)] == [
        Reply("a"),
        Reply("b"),
        Reply(status=500),
        Reply(status=500),
    ]
    assert responder.remaining == 0


def test_scripted_responder_hands_each_reply_out_once_across_threads():
    responder = ScriptedResponder([str(i) for i in range(400)], fallback="fallback")
    seen: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(60):
            text = responder(MESSAGES).text
            with lock:
                seen.append(text)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    numbered = [t for t in seen if t != "fallback"]
    assert sorted(numbered, key=int) == [str(i) for i in range(400)]
    assert seen.count("fallback") == 8 * 60 - 400


def test_delay_does_not_serialise_concurrent_requests():
    n = 16
    with LocalServer(lambda messages: "late", delay_ms=200) as server:
        statuses: list[int] = []

        def worker() -> None:
            statuses.append(chat_once(server.base_url)[0])

        started = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    assert statuses == [200] * n
    assert 0.2 <= elapsed < n * 0.2 / 2


def test_stop_returns_promptly_while_a_request_hangs():
    server = LocalServer(ScriptedResponder([Reply(hang_s=60)]))
    server.start()
    outcome: list[object] = []

    def worker() -> None:
        try:
            outcome.append(chat_once(server.base_url)[0])
        except (OSError, http.client.HTTPException) as exc:
            outcome.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    while server.requests == 0:
        time.sleep(0.01)
    started = time.perf_counter()
    server.stop()
    assert time.perf_counter() - started < 5
    thread.join(timeout=10)
    assert outcome and not isinstance(outcome[0], int)


@pytest.mark.parametrize(
    "responder",
    [None, "automem_core.testing.local_server:echo_responder"],
    ids=["default", "named"],
)
def test_cli_prints_base_url_and_serves(responder):
    command = [sys.executable, "-m", "automem_core.testing.local_server", "--port", "0"]
    if responder:
        command += ["--responder", responder, "--delay-ms", "10"]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    with subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            base_url = process.stdout.readline().strip()
            assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
            status, _, raw = chat_once(base_url)
            assert status == 200
            content = json.loads(raw)["choices"][0]["message"]["content"]
            assert content == MESSAGES[-1]["content"]
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_cli_rejects_a_malformed_responder_spec():
    result = subprocess.run(
        [sys.executable, "-m", "automem_core.testing.local_server", "--responder", "no_colon"],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "module:function" in result.stderr
