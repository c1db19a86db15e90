"""A function-calling loop: a model reads the store through ``StoreTools`` until it answers.

:func:`run_tool_loop` sends the messages with the tools' schemas to any OpenAI-compatible
endpoint (the ``openai`` package's ``AsyncOpenAI``, set up, retried and scrubbed of the key as
:class:`~automem_core.llm.openai_client.OpenAIChatClient` does), runs every tool call the model
asks for, appends the ``tool`` messages and asks again, until the model answers without tool
calls. When ``max_tool_calls`` or ``max_turns`` is reached it makes one last call with
``tool_choice: "none"`` (the tools stay listed: some servers reject a conversation holding tool
calls without them) asking for the final answer.

Everything is recorded in the :class:`ToolLoopResult`: each model call (tokens, latency,
retries), each tool call (name, arguments, answer size, and the exception when a tool raised one,
which the model saw as a one-line error), and a cost from the caller's price table. No tool
call can end the loop: whatever the model sends, the tools answer text within their budget.
A dead endpoint, a missing key, an exhausted quota or budget ends the loop with
``error`` set; nothing raises.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx2
import openai

from automem_core.llm.base import LLMConfigError
from automem_core.llm.config import ModelConfig
from automem_core.llm.openai_client import (  # one behaviour for every OpenAI-compatible call
    OpenAIChatClient,
    _count,
    _retry_delay_s,
)
from automem_core.review.tool_records import (
    CallRecord,
    StopReason,
    TokenPrice,
    ToolCallRecord,
    ToolLoopResult,
)
from automem_core.review.tools import StoreTools

log = logging.getLogger(__name__)

FINAL_PROMPT = (
    "You have used {what}. Do not call any more tools: give your final answer now, "
    "from what you have read."
)
_QUOTA = (
    "the account's quota is exhausted (HTTP 429 insufficient_quota); add credit or use another key"
)
_NOT_RUN = "not run: the limit of {limit} tool calls is reached; give your final answer"


@dataclass(frozen=True)
class _Reply:
    message: dict[str, Any]
    record: CallRecord


class _ToolChatClient(OpenAIChatClient):
    """The engine's OpenAI client (pools, timeouts, key handling, error classes) posting a
    whole chat body and returning the assistant message with its tool calls."""

    async def chat(self, body: dict[str, Any]) -> _Reply:
        started = time.perf_counter()
        cfg = self.config
        retries = 0
        while True:
            try:
                async with asyncio.timeout(cfg.timeout_s):
                    response = await self._client.post(
                        "/chat/completions", body=body, cast_to=httpx2.Response
                    )
                data = response.json()
            except Exception as exc:
                failure = self._classify(exc)
                if isinstance(exc, openai.APIStatusError) and _quota_exhausted(exc):
                    failure = dataclasses.replace(failure, retryable=False, message=_QUOTA)
            else:
                return self._reply(data, started, retries)
            if not failure.retryable or retries >= cfg.max_retries:
                after = f" after {retries} retr{'y' if retries == 1 else 'ies'}" if retries else ""
                error = f"{self.label}: {failure.message}{after}"
                log.warning("%s", error)
                return _Reply({}, _record(started, retries, error=error))
            delay_s = _retry_delay_s(
                retries, cfg.backoff_base_s, cfg.backoff_max_s, failure.retry_after_s
            )
            log.info("%s: %s; retry %d in %.2f s", self.label, failure.message, retries + 1,
                     delay_s)  # fmt: skip
            retries += 1
            await asyncio.sleep(delay_s)

    def _reply(self, data: object, started: float, retries: int) -> _Reply:
        choices = data.get("choices") if isinstance(data, dict) else None
        first = choices[0] if isinstance(choices, list) and choices else None
        message = first.get("message") if isinstance(first, dict) else None
        if not isinstance(data, dict) or not isinstance(first, dict):
            error = self._scrub(
                f"{self.label}: the server's answer is not a chat completion (no choices); "
                "check that base_url points at an OpenAI-compatible /v1 endpoint"
            )
            return _Reply({}, _record(started, retries, error=error))
        usage = _dict(data.get("usage"))
        message = dict(_dict(message))
        calls = _list(message.get("tool_calls"))
        record = _record(
            started,
            retries,
            tokens_in=_count(usage.get("prompt_tokens")),
            tokens_out=_count(usage.get("completion_tokens")),
            tool_calls=len(calls),
            finish_reason=first.get("finish_reason"),
        )
        return _Reply(message, record)


@dataclass(frozen=True)
class _Limits:
    max_tool_calls: int
    max_turns: int
    max_cost_usd: float | None
    max_tokens_total: int | None


async def run_tool_loop(
    config: ModelConfig,
    messages: Sequence[Mapping[str, Any]],
    tools: StoreTools,
    *,
    max_tool_calls: int,
    max_turns: int,
    response_format: Mapping[str, Any] | None = None,
    prices: Mapping[str, TokenPrice] | None = None,
    max_cost_usd: float | None = None,
    max_tokens_total: int | None = None,
) -> ToolLoopResult:
    """Let the model call ``tools`` until it answers; see the module docstring.

    At most ``max_turns`` calls offer the tools, then one more asks for the answer; at most
    ``max_tool_calls`` tool calls run. ``prices`` maps model names to their price (the cost is
    None when the model has none). ``max_cost_usd`` (which needs a price) and
    ``max_tokens_total`` end the loop with ``stop="budget"`` once the calls have spent past them.
    ``response_format`` is sent with every call.
    """
    result = ToolLoopResult(None, "error", [dict(m) for m in messages])
    price = (prices or {}).get(config.model or "")
    result.cost_usd = 0.0 if price else None
    if max_cost_usd is not None and price is None:
        result.error = (
            f"max_cost_usd needs a price for model {config.model!r}; add it to prices "
            "or give max_tokens_total instead"
        )
        return result
    try:
        client = _ToolChatClient(config)
    except LLMConfigError as exc:
        result.error = str(exc)
        return result
    limits = _Limits(max_tool_calls, max_turns, max_cost_usd, max_tokens_total)
    loop = _Loop(client, config, tools, response_format, price, limits, result)
    try:
        async with client:
            await loop.run()
    except Exception as exc:  # the loop reports, it does not raise
        log.warning("tool loop failed: %s", type(exc).__name__)
        result.stop = "error"
        result.error = client._scrub(f"the tool loop failed ({type(exc).__name__}: {exc})")
    return result


@dataclass
class _Loop:
    client: _ToolChatClient
    config: ModelConfig
    tools: StoreTools
    response_format: Mapping[str, Any] | None
    price: TokenPrice | None
    limits: _Limits
    result: ToolLoopResult
    ran: int = 0  # tool calls run

    async def run(self) -> None:
        schemas = self.tools.schemas()
        for _ in range(self.limits.max_turns):
            reply = await self._ask(self._body(schemas, final=False))
            if reply is None:
                return
            calls = _list(reply.message.get("tool_calls"))
            if not calls:
                self._finish(reply, "answered")
                return
            await self._run_calls(reply.message, calls)
            if self.ran >= self.limits.max_tool_calls:
                await self._final(schemas, "max_tool_calls")
                return
        await self._final(schemas, "max_turns")

    async def _run_calls(self, message: Mapping[str, Any], calls: list[Any]) -> None:
        assistant = _assistant(message, calls)
        self.result.messages.append(assistant)
        for call in assistant["tool_calls"]:
            name, arguments = call["function"]["name"], call["function"]["arguments"]
            started = time.perf_counter()
            ran = self.ran < self.limits.max_tool_calls
            crash = None
            if ran:
                reply = await asyncio.to_thread(self.tools.answer, name, arguments)
                answer, failed, crash = reply.text, reply.failed, reply.crash
                self.ran += 1
            else:
                answer, failed = _NOT_RUN.format(limit=self.limits.max_tool_calls), True
            self.result.tool_calls.append(
                ToolCallRecord(
                    call_id=call["id"],
                    name=name,
                    arguments=arguments,
                    answer_chars=len(answer),
                    latency_ms=(time.perf_counter() - started) * 1000,
                    ran=ran,
                    failed=failed,
                    crash=crash,
                )
            )
            self.result.messages.append(
                {"role": "tool", "tool_call_id": call["id"], "content": answer}
            )

    async def _final(self, schemas: list[dict[str, Any]], stop: StopReason) -> None:
        """One last call, tools off, asking for the answer."""
        what = (
            f"all {self.limits.max_tool_calls} tool calls"
            if stop == "max_tool_calls"
            else f"all {self.limits.max_turns} turns"
        )
        self.result.messages.append({"role": "user", "content": FINAL_PROMPT.format(what=what)})
        reply = await self._ask(self._body(schemas, final=True))
        if reply is not None:
            self._finish(reply, stop)

    def _body(self, schemas: list[dict[str, Any]], *, final: bool) -> dict[str, Any]:
        cfg = self.config
        body: dict[str, Any] = {
            "model": cfg.model,
            "messages": self.result.messages,
            "temperature": cfg.temperature,
            "max_tokens": cfg.max_tokens,
            "tools": schemas,
            "tool_choice": "none" if final else "auto",
        }
        if cfg.top_p is not None:
            body["top_p"] = cfg.top_p
        if self.response_format is not None:
            body["response_format"] = dict(self.response_format)
        body.update(cfg.extra_body)
        return body

    async def _ask(self, body: dict[str, Any]) -> _Reply | None:
        """One model call, recorded; None when it failed or spent the budget (the result says
        which)."""
        result = self.result
        reply = await self.client.chat(body)
        result.calls.append(reply.record)
        if self.price is not None and result.cost_usd is not None:
            result.cost_usd += self.price.cost_usd(reply.record.tokens_in, reply.record.tokens_out)
        if reply.record.error is not None:
            result.stop, result.error = "error", reply.record.error
            return None
        spent = self._overspent()
        if spent:
            result.stop = "budget"
            result.error = f"budget exhausted: spent {spent}; raise it or ask for less"
            return None
        return reply

    def _overspent(self) -> str:
        """What was spent past the budget ('' when within it)."""
        result, limits = self.result, self.limits
        spent = []
        cost = result.cost_usd
        if limits.max_cost_usd is not None and cost is not None and cost > limits.max_cost_usd:
            spent.append(f"${cost:.4f} of the ${limits.max_cost_usd:g} budget")
        tokens = result.tokens_in + result.tokens_out
        if limits.max_tokens_total is not None and tokens > limits.max_tokens_total:
            spent.append(f"{tokens} of the {limits.max_tokens_total} tokens budget")
        return " and ".join(spent)

    def _finish(self, reply: _Reply, stop: StopReason) -> None:
        """The model's answer ends the loop (tool calls it still asked for are ignored)."""
        content = reply.message.get("content")
        text = content if isinstance(content, str) else ""
        self.result.messages.append({"role": "assistant", "content": text})
        self.result.stop = stop
        if text.strip():
            self.result.text = text
            return
        finish = reply.record.finish_reason
        fix = "raise max_tokens" if finish == "length" else "check the model and server"
        self.result.error = f"the model gave no final answer (finish_reason={finish}); {fix}"


def _assistant(message: Mapping[str, Any], calls: list[Any]) -> dict[str, Any]:
    """The assistant message as it goes back to the model: every tool call with an id, a name
    and its arguments as a string (servers differ in what they leave out), all valid UTF-8."""
    fixed = []
    for item in calls:
        call = _dict(item)
        function = _dict(call.get("function"))
        arguments = function.get("arguments")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments if arguments is not None else {})
        fixed.append(
            {
                "id": _utf8(str(call.get("id") or f"call_{uuid.uuid4().hex[:24]}")),
                "type": "function",
                "function": {
                    "name": _utf8(str(function.get("name") or "")),
                    "arguments": _utf8(arguments),
                },
            }
        )
    content = message.get("content")
    return {
        "role": "assistant",
        "content": _utf8(content) if isinstance(content, str) else None,
        "tool_calls": fixed,
    }


def _utf8(text: str) -> str:
    """``text`` as valid UTF-8: a model's JSON can hold lone surrogates (``"\\udcff"``), which
    would make the next request impossible to send."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _quota_exhausted(exc: openai.APIStatusError) -> bool:
    body = _dict(exc.body)
    inner = _dict(body.get("error", body))
    return exc.status_code == 429 and "insufficient_quota" in {inner.get("code"), inner.get("type")}


def _record(started: float, retries: int, **fields: Any) -> CallRecord:
    defaults: dict[str, Any] = {"tokens_in": 0, "tokens_out": 0, "tool_calls": 0}
    defaults["finish_reason"] = None
    return CallRecord(
        latency_ms=(time.perf_counter() - started) * 1000, retries=retries, **(defaults | fields)
    )
