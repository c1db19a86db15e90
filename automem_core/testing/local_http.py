"""HTTP/1.1 for the local OpenAI-compatible server: request heads and bodies in, responses out.

Everything here is pure except :func:`read_body`, which reads a request body (``Content-Length``
or chunked) from an asyncio stream.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

MAX_HEADER_BYTES = 64 * 1024
MODEL_ID = "local"


class HttpError(Exception):
    """A request answered with ``status`` and an OpenAI-style error body carrying the message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RequestHead:
    method: str
    path: str  # without the query string and any trailing slash
    headers: dict[str, str]  # names lower-cased
    keep_alive: bool


def parse_request_head(head: bytes) -> RequestHead:
    """The request line and headers up to the blank line; a malformed request line is a 400."""
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, version = lines[0].split(" ", 2)
    except ValueError:
        raise HttpError(400, "malformed request line") from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    connection = headers.get("connection", "").lower()
    keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
    return RequestHead(method, target.split("?", 1)[0].rstrip("/"), headers, keep_alive)


async def read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers expected
                return b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    length = int(headers.get("content-length", "0") or 0)
    return await reader.readexactly(length) if length else b""


def render_response(
    status: int, payload: str, keep_alive: bool, extra: dict[str, str] | None = None
) -> bytes:
    """The status line, headers (JSON content, length, connection, ``extra``) and body."""
    data = payload.encode("utf-8")
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Status"
    head = [
        f"HTTP/1.1 {status} {phrase}",
        "Content-Type: application/json",
        f"Content-Length: {len(data)}",
        f"Connection: {'keep-alive' if keep_alive else 'close'}",
    ]
    head += [f"{name}: {value}" for name, value in (extra or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data


def _estimate_tokens(text: str) -> int:
    return len(text) // 4


def _message_text(message: dict[str, Any]) -> str:
    """The text a message puts in the prompt: its content and any tool calls' arguments."""
    content = message.get("content")
    text = "" if content is None else str(content)
    for call in message.get("tool_calls") or []:
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            text += str(function.get("name") or "") + str(function.get("arguments") or "")
    return text


def completion_body(
    model: str,
    messages: list[Any],
    text: str,
    tool_calls: Sequence[tuple[str, str]] = (),
) -> str:
    """A chat completion answering ``text``; with ``tool_calls`` (name, arguments as a JSON
    string) the message carries them and ``finish_reason`` is ``tool_calls``."""
    prompt = "".join(_message_text(m) for m in messages if isinstance(m, dict))
    called = "".join(name + arguments for name, arguments in tool_calls)
    prompt_tokens, completion_tokens = _estimate_tokens(prompt), _estimate_tokens(text + called)
    message: dict[str, Any] = {"role": "assistant", "content": text}
    finish_reason = "stop"
    if tool_calls:
        message["content"] = text or None
        message["tool_calls"] = [
            {
                "id": f"call_{uuid.uuid4().hex[:24]}",
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
            for name, arguments in tool_calls
        ]
        finish_reason = "tool_calls"
    return json.dumps(
        {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )


def models_body() -> str:
    return json.dumps(
        {
            "object": "list",
            "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "automem"}],
        }
    )


def error_body(message: str, status: int) -> str:
    kind = "rate_limit_error" if status == 429 else "server_error" if status >= 500 else "error"
    return json.dumps({"error": {"message": message, "type": kind, "code": status}})
