"""``OpenAIChatClient``: any OpenAI-compatible chat endpoint (OpenAI, vLLM, SGLang, llama.cpp,
Ollama, LM Studio) through the ``openai`` package, with our own retries and failure rows.

Retries: HTTP 408/429/5xx, timeouts and connection errors are retried up to ``max_retries`` times
with full-jitter exponential backoff, honouring ``Retry-After`` (capped by ``backoff_max_s``).
Anything else fails at once. A failure that survives the retries is returned as a ``Completion``
with ``error`` set, never raised. The API key is read from the environment and never appears in
the label, logs, errors or completions.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import os
import random
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import urlsplit

import httpx2  # the HTTP library the ``openai`` package is built on
import openai

from automem_core.llm.base import Completion, LLMConfigError, TurnRequest
from automem_core.llm.config import ModelConfig

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
LOCAL_PLACEHOLDER_KEY = "not-needed"
# The runner keeps dozens of episodes in flight on one loop; never make them queue for a socket.
MAX_CONNECTIONS = 512
MAX_KEEPALIVE_CONNECTIONS = 256
# Connections are spread over several pools: the HTTP pool scans every connection for every
# request, so one pool of 64 busy connections costs more CPU than the rest of an engine step.
POOL_SHARDS = 8
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})
_RETRYABLE_STATUS = frozenset({408, 429})
_MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class _Failure:
    retryable: bool
    message: str
    retry_after_s: float | None = None


def client_label(config: ModelConfig) -> str:
    """How the client of ``config`` names itself in what it records (model and endpoint)."""
    return f"openai:{config.model}@{config.base_url or DEFAULT_BASE_URL}"


class OpenAIChatClient:
    """A few ``AsyncOpenAI`` clients (each with its own connection pool) shared by every call;
    an episode always uses the same one, so its requests reuse a warm connection."""

    def __init__(self, config: ModelConfig) -> None:
        if not config.model:
            raise LLMConfigError(
                "the openai backend needs a model name; set `model:` in the config or pass --model"
            )
        self.config = config
        self.base_url = config.base_url or DEFAULT_BASE_URL
        self.label = client_label(config)
        self._key = _read_api_key(config.api_key_env, self.base_url)
        timeout = httpx2.Timeout(config.timeout_s, connect=min(config.timeout_s, 10.0))
        limits = httpx2.Limits(
            max_connections=MAX_CONNECTIONS // POOL_SHARDS,
            max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS // POOL_SHARDS,
        )
        self._clients = [
            openai.AsyncOpenAI(
                api_key=self._key,
                base_url=self.base_url,
                timeout=timeout,
                max_retries=0,  # retries are ours, so they are counted and logged per turn
                http_client=openai.DefaultAsyncHttpxClient(timeout=timeout, limits=limits),
            )
            for _ in range(POOL_SHARDS)
        ]
        self._client = self._clients[0]

    def _client_for(self, request: TurnRequest) -> openai.AsyncOpenAI:
        return self._clients[zlib.crc32(request.episode_id.encode()) % len(self._clients)]

    def __repr__(self) -> str:
        return f"OpenAIChatClient({self.label!r})"

    async def complete(self, request: TurnRequest) -> Completion:
        started = time.perf_counter()
        cfg = self.config
        retries = 0
        while True:
            try:
                async with asyncio.timeout(cfg.timeout_s):
                    response = await self._client_for(request).post(
                        "/chat/completions",
                        body=self._body(request),
                        cast_to=httpx2.Response,  # the client's own timeout applies
                    )
                data = response.json()
            except Exception as exc:
                failure = self._classify(exc)
            else:
                return self._to_completion(data, started, retries)
            if not failure.retryable or retries >= cfg.max_retries:
                return self._failed(failure, started, retries)
            delay_s = _retry_delay_s(
                retries, cfg.backoff_base_s, cfg.backoff_max_s, failure.retry_after_s
            )
            log.info(
                "%s: %s; retry %d of %d in %.2f s",
                self.label,
                failure.message,
                retries + 1,
                cfg.max_retries,
                delay_s,
            )
            retries += 1
            await asyncio.sleep(delay_s)

    async def check(self) -> str | None:
        """None when the endpoint answers at all (any HTTP status); else a one-line reason.

        Run before a run starts, so a dead endpoint is one clear error instead of thousands of
        failed turns.
        """
        try:
            async with asyncio.timeout(min(self.config.timeout_s, 10.0)):
                await self._client.models.list()
        except (openai.APIConnectionError, TimeoutError) as exc:
            return (
                f"cannot reach {self.base_url} ({_cause(exc)}); "
                "start the model server or fix --base-url"
            )
        except openai.APIStatusError:
            return None  # it answered; some servers just do not list models
        return None

    async def aclose(self) -> None:
        for client in self._clients:
            await client.close()  # closes the HTTP client it was given too

    async def __aenter__(self) -> OpenAIChatClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _body(self, request: TurnRequest) -> dict[str, Any]:
        """The JSON body of a chat completion request.

        It is posted as is through the client's generic ``post``: the typed ``create`` method
        re-validates every message on every call, which costs more CPU than the whole engine step
        when dozens of episodes share one process.
        """
        cfg = self.config
        body: dict[str, Any] = {
            "model": cfg.model,
            "messages": request.messages,
            "temperature": cfg.temperature,
            "max_tokens": cfg.max_tokens,
        }
        if cfg.top_p is not None:
            body["top_p"] = cfg.top_p
        body.update(cfg.extra_body)
        return body

    def _to_completion(self, data: object, started: float, retries: int) -> Completion:
        latency_ms = (time.perf_counter() - started) * 1000
        choices = data.get("choices") if isinstance(data, dict) else None
        first = choices[0] if isinstance(choices, list) and choices else None
        if not isinstance(data, dict) or not isinstance(first, dict):
            failure = _Failure(
                False,
                "the server's answer is not a chat completion (no choices); "
                "check that base_url points at an OpenAI-compatible /v1 endpoint",
            )
            return self._failed(failure, started, retries)
        usage = data.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        tokens_in = _count(usage.get("prompt_tokens"))
        tokens_out = _count(usage.get("completion_tokens"))
        message = first.get("message")
        text = message.get("content") if isinstance(message, dict) else None
        error = None
        if not isinstance(text, str):
            reason = first.get("finish_reason")
            fix = "raise max_tokens" if reason == "length" else "check the model and server"
            error = self._scrub(f"the model returned no text (finish_reason={reason}); {fix}")
            text = None
        return Completion(
            text=text or "",
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            latency_ms=latency_ms,
            retries=retries,
            error=error,
        )

    def _failed(self, failure: _Failure, started: float, retries: int) -> Completion:
        after = f" after {retries} retr{'y' if retries == 1 else 'ies'}" if retries else ""
        message = f"{self.label}: {failure.message}{after}"
        log.warning("%s", message)
        return Completion(
            text="",
            latency_ms=(time.perf_counter() - started) * 1000,
            retries=retries,
            error=message,
        )

    def _classify(self, exc: Exception) -> _Failure:
        """What failed, whether to retry it, and the one-line message (key scrubbed)."""
        timeout_s = self.config.timeout_s
        if isinstance(exc, openai.APITimeoutError | TimeoutError):
            return _Failure(True, f"no answer within timeout_s={timeout_s:g}; raise timeout_s")
        if isinstance(exc, openai.APIConnectionError):
            return _Failure(
                True,
                self._scrub(
                    f"cannot connect to {self.base_url} ({_cause(exc)}); "
                    "check that the server is running and base_url is right"
                ),
            )
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            detail = self._scrub(_server_message(exc))
            retryable = status in _RETRYABLE_STATUS or status >= 500
            what = f"HTTP {status} ({detail})" if detail else f"HTTP {status}"
            return _Failure(
                retryable,
                f"{what}; {_status_fix(status, self.config.api_key_env)}",
                _retry_after_s(exc.response.headers) if retryable else None,
            )
        return _Failure(
            False,
            self._scrub(
                f"unreadable answer ({type(exc).__name__}: {exc}); "
                "check that base_url points at an OpenAI-compatible /v1 endpoint"
            ),
        )

    def _scrub(self, text: str) -> str:
        text = " ".join(text.split())
        if self._key and self._key != LOCAL_PLACEHOLDER_KEY:
            text = text.replace(self._key, "***")
        if len(text) > _MAX_ERROR_CHARS:
            text = text[: _MAX_ERROR_CHARS - 1] + "…"
        return text


def _read_api_key(env_name: str, base_url: str) -> str:
    key = os.environ.get(env_name, "").strip()
    if key:
        return key
    if is_local_url(base_url):
        return LOCAL_PLACEHOLDER_KEY
    raise LLMConfigError(
        f"environment variable {env_name} is not set; export it or set api_key_env"
    )


def is_local_url(url: str) -> bool:
    """Whether ``url`` points at this machine (where servers usually need no key)."""
    host = (urlsplit(url).hostname or "").lower()
    return host in _LOCAL_HOSTS or host.endswith(".localhost")


def backoff_s(attempt: int, base_s: float, max_s: float, rng: random.Random | None = None) -> float:
    """Full-jitter exponential backoff: uniform in ``[0, min(max_s, base_s * 2**attempt)]``."""
    cap = min(max_s, base_s * 2.0 ** min(attempt, 62))
    return (rng or random).uniform(0.0, cap)


def _retry_delay_s(attempt: int, base_s: float, max_s: float, retry_after_s: float | None) -> float:
    if retry_after_s is not None:
        return min(retry_after_s, max_s)
    return backoff_s(attempt, base_s, max_s)


def parse_retry_after_s(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = _non_negative(lowered.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    seconds = _non_negative(raw)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _non_negative(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _retry_after_s(headers: httpx2.Headers) -> float | None:
    return parse_retry_after_s(cast(Mapping[str, str], headers))


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping):
            return str(inner.get("message") or "")
        return str(inner or "")
    return body if isinstance(body, str) else ""


def _status_fix(status: int, api_key_env: str) -> str:
    if status == 401 or status == 403:
        return f"check the key in ${api_key_env}"
    if status == 404:
        return "check `model` and that base_url ends in /v1"
    if status == 429:
        return "lower concurrency or raise max_retries/backoff_max_s"
    if status >= 500 or status == 408:
        return "check the server's health and logs, or raise max_retries"
    return "check the request settings (sampling, max_tokens, extra_body)"


def _cause(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    return type(cause).__name__ if cause is not None else type(exc).__name__


def _count(value: object) -> int:
    """A token count from a server's ``usage``; anything that is not a sane count is 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return int(value) if math.isfinite(value) and 0 <= value < 2**53 else 0
