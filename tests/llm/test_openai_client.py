"""The real ``openai`` client over HTTP against ``LocalServer`` on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from automem_core.llm.base import Completion, LLMConfigError, TurnRequest
from automem_core.llm.config import ModelConfig
from automem_core.llm.openai_client import OpenAIChatClient, backoff_s, parse_retry_after_s
from automem_core.testing.local_server import LocalServer, Reply, ScriptedResponder

REQUEST = TurnRequest(
    messages=[
        {"role": "system", "content": "You play Crafter."},
        {"role": "user", "content": "What next?"},
    ],
    game="crafter",
    phase="action",
    step=3,
    turn=0,
    episode_id="ep-1",
)

ServerFactory = Callable[..., LocalServer]


@pytest.fixture
def make_server() -> Iterator[ServerFactory]:
    started: list[LocalServer] = []

    def make(replies: list[Reply | str], fallback: Reply | str = "ok", delay_ms: float = 0):
        server = LocalServer(ScriptedResponder(replies, fallback), delay_ms=delay_ms)
        server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def fast_config(base_url: str, **overrides: Any) -> ModelConfig:
    settings: dict[str, Any] = {
        "base_url": base_url,
        "model": "test-model",
        "timeout_s": 2.0,
        "max_retries": 4,
        "backoff_base_s": 0.001,
        "backoff_max_s": 0.05,
    }
    settings.update(overrides)
    return ModelConfig(**settings)


def complete_once(config: ModelConfig, request: TurnRequest = REQUEST) -> Completion:
    async def go() -> Completion:
        client = OpenAIChatClient(config)
        try:
            return await client.complete(request)
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_complete_returns_text_usage_and_latency_on_good_answer(make_server):
    text = "move right, then collect wood"
    server = make_server([text])
    completion = complete_once(fast_config(server.base_url))
    prompt = "".join(m["content"] for m in REQUEST.messages)
    assert completion.text == text
    assert completion.error is None
    assert completion.tokens_in == len(prompt) // 4
    assert completion.tokens_out == len(text) // 4
    assert completion.latency_ms > 0
    assert completion.retries == 0
    assert server.requests == 1


def test_complete_sends_the_request_messages(make_server):
    seen: list[list[dict[str, str]]] = []

    def responder(messages: list[dict[str, str]]) -> str:
        seen.append(messages)
        return "ok"

    with LocalServer(responder) as server:
        complete_once(fast_config(server.base_url))
    assert seen == [REQUEST.messages]


def test_complete_retries_once_on_429_and_honours_retry_after(make_server):
    server = make_server([Reply(status=429, retry_after_s=0.3), "after the wait"])
    completion = complete_once(fast_config(server.base_url, backoff_max_s=5.0))
    assert completion.text == "after the wait"
    assert completion.retries == 1
    assert completion.error is None
    assert completion.latency_ms >= 300
    assert server.by_status == {429: 1, 200: 1}


def test_retry_after_is_capped_by_backoff_max(make_server):
    server = make_server([Reply(status=429, retry_after_s=60), "ok"])
    started = time.perf_counter()
    completion = complete_once(fast_config(server.base_url, backoff_max_s=0.05))
    assert completion.text == "ok"
    assert completion.retries == 1
    assert time.perf_counter() - started < 5


def test_complete_retries_through_500_502_503_then_succeeds(make_server):
    server = make_server([Reply(status=500), Reply(status=502), Reply(status=503), "finally"])
    completion = complete_once(fast_config(server.base_url))
    assert completion.text == "finally"
    assert completion.retries == 3
    assert completion.error is None
    assert server.by_status == {500: 1, 502: 1, 503: 1, 200: 1}


def test_complete_retries_after_a_hang_longer_than_the_timeout(make_server):
    server = make_server([Reply(hang_s=5), "recovered"])
    completion = complete_once(fast_config(server.base_url, timeout_s=0.3))
    assert completion.text == "recovered"
    assert completion.retries == 1
    assert 300 <= completion.latency_ms < 4000


def test_persistent_500_returns_error_completion_after_max_retries(make_server):
    server = make_server([], fallback=Reply(status=500, text="model crashed"))
    completion = complete_once(fast_config(server.base_url, max_retries=2))
    assert completion.text == ""
    assert completion.retries == 2
    assert completion.error is not None
    assert "HTTP 500" in completion.error and "model crashed" in completion.error
    assert "\n" not in completion.error
    assert server.requests == 3


@pytest.mark.parametrize("status", [400, 401, 404])
def test_client_errors_fail_at_once_without_retry(make_server, status):
    server = make_server([Reply(status=status, text="nope")], fallback="should not be reached")
    completion = complete_once(fast_config(server.base_url))
    assert completion.text == ""
    assert completion.retries == 0
    assert completion.error is not None and f"HTTP {status}" in completion.error
    assert server.requests == 1


@pytest.mark.parametrize("body", ["{not json", "", '{"unexpected": true}', '{"choices": []}'])
def test_unreadable_body_gives_error_completion_not_exception(make_server, body):
    server = make_server([Reply(raw_body=body)], fallback="should not be reached")
    completion = complete_once(fast_config(server.base_url))
    assert completion.text == ""
    assert completion.error is not None
    assert "\n" not in completion.error
    assert server.requests == 1


def test_connection_refused_is_retried_then_reported(unused_port):
    config = fast_config(f"http://127.0.0.1:{unused_port}/v1", max_retries=2)
    completion = complete_once(config)
    assert completion.text == ""
    assert completion.retries == 2
    assert completion.error is not None and "cannot connect" in completion.error


@pytest.fixture
def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_concurrent_calls_overlap_on_one_client(make_server):
    server = make_server([], fallback="ok", delay_ms=100)
    n = 32

    async def go() -> tuple[list[Completion], float]:
        client = OpenAIChatClient(fast_config(server.base_url))
        try:
            await client.complete(REQUEST)  # warm-up: imports and first connection
            started = time.perf_counter()
            results = await asyncio.gather(*(client.complete(REQUEST) for _ in range(n)))
            return list(results), time.perf_counter() - started
        finally:
            await client.aclose()

    results, elapsed = asyncio.run(go())
    assert [c.text for c in results] == ["ok"] * n
    assert all(c.error is None for c in results)
    assert elapsed < n * 0.1 / 2  # serial would take 3.2 s
    assert server.requests == n + 1


def test_api_key_reaches_server_but_never_label_completion_or_logs(
    make_server, monkeypatch, caplog
):
    key = f"sk-test-{uuid.uuid4().hex}"
    monkeypatch.setenv("AUTOMEM_TEST_KEY", key)
    server = make_server(
        [
            "fine",
            Reply(status=401, text=f"Incorrect API key provided: {key}"),
            Reply(status=500, text=f"crash while serving {key}"),
        ],
        fallback=Reply(status=503, text=f"still down for {key}"),
    )
    config = fast_config(server.base_url, api_key_env="AUTOMEM_TEST_KEY", max_retries=1)
    caplog.set_level(logging.DEBUG)

    async def go() -> tuple[str, str, list[Completion]]:
        client = OpenAIChatClient(config)
        try:
            results = [await client.complete(REQUEST) for _ in range(3)]
            return client.label, repr(client), results
        finally:
            await client.aclose()

    label, client_repr, results = asyncio.run(go())
    assert server.seen_authorization == [f"Bearer {key}"] * 4
    assert results[0].text == "fine"
    assert results[1].error is not None and "***" in results[1].error
    assert results[2].error is not None and results[2].retries == 1
    assert key not in label and key not in client_repr
    for completion in results:
        assert key not in repr(completion)
    assert caplog.records, "expected the failures to be logged"
    for record in caplog.records:
        assert key not in record.getMessage()
    assert key not in caplog.text
    assert key not in repr(config) and key not in str(config.public_dict())


def test_label_names_model_and_url_without_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-label-secret")
    client = OpenAIChatClient(ModelConfig(base_url="https://llm.example.com/v1", model="qwen"))
    assert client.label == "openai:qwen@https://llm.example.com/v1"
    asyncio.run(client.aclose())


def test_default_base_url_is_openai(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-default")
    client = OpenAIChatClient(ModelConfig(backend="openai", model="gpt-4o-mini"))
    assert client.label == "openai:gpt-4o-mini@https://api.openai.com/v1"
    asyncio.run(client.aclose())


def test_missing_key_for_remote_url_raises_config_error(monkeypatch):
    monkeypatch.delenv("AUTOMEM_ABSENT_KEY", raising=False)
    config = ModelConfig(
        base_url="https://api.example.com/v1", model="m", api_key_env="AUTOMEM_ABSENT_KEY"
    )
    with pytest.raises(LLMConfigError, match="AUTOMEM_ABSENT_KEY is not set"):
        OpenAIChatClient(config)


def test_missing_key_for_localhost_uses_placeholder(make_server, monkeypatch):
    monkeypatch.delenv("AUTOMEM_ABSENT_KEY", raising=False)
    server = make_server(["local answer"])
    completion = complete_once(fast_config(server.base_url, api_key_env="AUTOMEM_ABSENT_KEY"))
    assert completion.text == "local answer"
    assert server.seen_authorization == ["Bearer not-needed"]


def test_missing_model_raises_config_error():
    with pytest.raises(LLMConfigError, match="model"):
        OpenAIChatClient(ModelConfig(base_url="http://localhost:8000/v1"))


@pytest.mark.parametrize("attempt", range(8))
def test_backoff_is_full_jitter_up_to_the_capped_exponential(attempt):
    rng = random.Random(attempt)
    cap = min(2.0, 0.1 * 2**attempt)
    samples = [backoff_s(attempt, 0.1, 2.0, rng) for _ in range(500)]
    assert all(0.0 <= s <= cap for s in samples)
    assert max(samples) > 0.9 * cap
    assert min(samples) < 0.1 * cap


def test_parse_retry_after_reads_seconds_millis_and_dates():
    assert parse_retry_after_s({"Retry-After": "2"}) == 2.0
    assert parse_retry_after_s({"retry-after": "0.25"}) == 0.25
    assert parse_retry_after_s({"retry-after-ms": "150", "retry-after": "9"}) == 0.15
    future = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    from_date = parse_retry_after_s({"Retry-After": future})
    assert from_date is not None and 25 <= from_date <= 31
    assert parse_retry_after_s({"Retry-After": "soon"}) is None
    assert parse_retry_after_s({"Retry-After": "-3"}) is None
    assert parse_retry_after_s({}) is None


@pytest.mark.parametrize("usage", ['"n/a"', "[1, 2]", "1e400", '{"prompt_tokens": "x"}'])
def test_malformed_usage_counts_zero_tokens_and_keeps_the_text(make_server, usage):
    body = (
        '{"choices": [{"message": {"role": "assistant", "content": "hi"}, '
        f'"finish_reason": "stop"}}], "usage": {usage}}}'
    )
    server = make_server([Reply(raw_body=body)], fallback="should not be reached")
    completion = complete_once(fast_config(server.base_url))
    assert completion.error is None and completion.text == "hi"
    assert completion.tokens_in == completion.tokens_out == 0
