"""A small OpenAI-compatible HTTP server for tests and benchmarks (standard library only).

Serves ``POST /v1/chat/completions`` and ``GET /v1/models`` over HTTP/1.1 with keep-alive on
asyncio streams. What it answers is decided by a *responder*: a function from the request's
messages to a ``Reply`` (or plain text), which can also ask for tool calls, an HTTP error, a hang,
a ``Retry-After`` header or a verbatim (e.g. broken) body. The messages come as a
``ChatRequest``: the list of messages (``tool`` messages included) that also carries the whole
request body, so a responder can read ``request.tools``, ``tool_choice`` or ``response_format``.

Run it in-process with ``LocalServer`` (a background thread with its own event loop) or as a
separate process::

    python -m automem_core.testing.local_server --port 8000 --delay-ms 100 \
        --responder automem_core.testing.local_server:echo_responder

The wire format (request heads and bodies, response bytes, JSON bodies) is in
:mod:`automem_core.testing.local_http`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from automem_core.testing.local_http import (
    MAX_HEADER_BYTES,
    MODEL_ID,
    HttpError,
    completion_body,
    error_body,
    models_body,
    parse_request_head,
    read_body,
    render_response,
)

Messages = list[dict[str, Any]]
# A tool call a reply asks for: the function's name and its arguments (a mapping, sent as its
# JSON; or a string, sent verbatim, e.g. broken JSON).
ToolCall = tuple[str, Mapping[str, Any] | str]


@dataclass(frozen=True)
class Reply:
    """One answer. ``status`` != 200 sends an OpenAI-style error body with ``text`` as message.

    ``tool_calls`` answers ``choices[0].message.tool_calls`` (ids ``call_…``, type ``function``,
    arguments as a JSON string) with ``finish_reason: "tool_calls"``; ``text``, if any, is the
    message's content beside them.
    """

    text: str = ""
    status: int = 200
    hang_s: float = 0
    retry_after_s: float | None = None
    raw_body: str | None = None
    tool_calls: Sequence[ToolCall] = ()


class ChatRequest(list[dict[str, Any]]):
    """What a responder gets: the request's messages (a plain list, as responders always had),
    also carrying the whole JSON body of the request."""

    def __init__(self, body: Mapping[str, Any]) -> None:
        super().__init__(body.get("messages") or [])
        self.body: dict[str, Any] = dict(body)

    @property
    def messages(self) -> Messages:
        return list(self)

    @property
    def tools(self) -> list[dict[str, Any]]:
        """The ``tools`` the request offered (empty when none)."""
        tools = self.body.get("tools")
        return list(tools) if isinstance(tools, list) else []

    @property
    def tool_names(self) -> list[str]:
        return [str(t.get("function", {}).get("name")) for t in self.tools if isinstance(t, dict)]


Responder = Callable[[ChatRequest], "Reply | str"]


class ScriptedResponder:
    """Returns ``replies`` in order, one per request, then ``fallback`` forever. Thread-safe."""

    def __init__(self, replies: Iterable[Reply | str], fallback: Reply | str = "ok") -> None:
        self._replies = [_as_reply(r) for r in replies]
        self._fallback = _as_reply(fallback)
        self._next = 0
        self._lock = threading.Lock()

    def __call__(self, messages: Messages) -> Reply:  # a ChatRequest is a list of messages
        with self._lock:
            if self._next < len(self._replies):
                reply = self._replies[self._next]
                self._next += 1
                return reply
            return self._fallback

    @property
    def remaining(self) -> int:
        with self._lock:
            return len(self._replies) - self._next


def echo_responder(messages: Messages) -> Reply:
    """Answers with the content of the last message (default responder of the CLI)."""
    return Reply(text=str(messages[-1].get("content") or "") if messages else "")


def _arguments_json(arguments: Mapping[str, Any] | str) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(dict(arguments))


def _as_reply(value: Reply | str) -> Reply:
    return value if isinstance(value, Reply) else Reply(text=str(value))


class _Handler:
    """Protocol logic shared by the in-process server and the CLI."""

    def __init__(self, responder: Responder, delay_ms: float) -> None:
        self.responder = responder
        self.delay_s = max(0.0, delay_ms) / 1000.0
        self.requests = 0
        self.by_status: Counter[int] = Counter()
        self.seen_authorization: list[str] = []
        self.lock = threading.Lock()
        self.tasks: set[asyncio.Task[None]] = set()

    async def serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
        try:
            while await self._serve_one(reader, writer):
                pass
        except (ConnectionError, ValueError, EOFError, asyncio.LimitOverrunError):
            pass  # the peer went away or sent something unparseable: drop the connection
        except asyncio.CancelledError:
            pass  # server shutdown; ending quietly keeps asyncio from logging the cancellation
        finally:
            if task is not None:
                self.tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Handles one request; returns whether the connection stays open."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial.strip():
                raise
            return False  # client closed an idle keep-alive connection
        try:
            request = parse_request_head(head)
        except HttpError as exc:
            await self._send(writer, exc.status, error_body(str(exc), exc.status), False)
            return False
        body = await read_body(reader, request.headers)
        method, path, headers = request.method, request.path, request.headers
        with self.lock:
            self.requests += 1
            if "authorization" in headers:
                self.seen_authorization.append(headers["authorization"])

        extra: dict[str, str] = {}
        try:
            if method == "GET" and path == "/v1/models":
                status, payload = 200, models_body()
            elif method == "POST" and path == "/v1/chat/completions":
                status, payload, extra = await self._chat(body)
            else:
                raise HttpError(404, f"no route for {method} {path}")
        except HttpError as exc:
            status, payload = exc.status, error_body(str(exc), exc.status)
        await self._send(writer, status, payload, request.keep_alive, extra)
        return request.keep_alive

    async def _chat(self, body: bytes) -> tuple[int, str, dict[str, str]]:
        try:
            request = json.loads(body)
            messages = request["messages"]
        except (ValueError, KeyError, TypeError):
            raise HttpError(400, "body must be JSON with a `messages` list") from None
        if not isinstance(messages, list):
            raise HttpError(400, "`messages` must be a list")
        try:
            reply = _as_reply(self.responder(ChatRequest(request)))
        except Exception as exc:
            raise HttpError(500, f"responder failed: {type(exc).__name__}: {exc}") from None
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if reply.hang_s > 0:
            await asyncio.sleep(reply.hang_s)
        extra: dict[str, str] = {}
        if reply.retry_after_s is not None:
            extra["Retry-After"] = f"{reply.retry_after_s:g}"
        if reply.raw_body is not None:
            return reply.status, reply.raw_body, extra
        if reply.status != 200:
            return reply.status, error_body(reply.text, reply.status), extra
        model = request.get("model") or MODEL_ID
        calls = [(name, _arguments_json(args)) for name, args in reply.tool_calls]
        return 200, completion_body(str(model), messages, reply.text, calls), extra

    async def _send(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        payload: str,
        keep_alive: bool,
        extra: dict[str, str] | None = None,
    ) -> None:
        with self.lock:
            self.by_status[status] += 1
        writer.write(render_response(status, payload, keep_alive, extra))
        await writer.drain()


async def _start(handler: _Handler, port: int) -> asyncio.Server:
    return await asyncio.start_server(
        handler.serve_connection, "127.0.0.1", port, limit=MAX_HEADER_BYTES, backlog=1024
    )


class LocalServer:
    """The server on 127.0.0.1 in a background thread. ``start()`` returns the base URL."""

    def __init__(self, responder: Responder, delay_ms: float = 0, port: int = 0) -> None:
        self._handler = _Handler(responder, delay_ms)
        self._port = port
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self.base_url = ""

    @property
    def requests(self) -> int:
        with self._handler.lock:
            return self._handler.requests

    @property
    def by_status(self) -> Counter[int]:
        with self._handler.lock:
            return Counter(self._handler.by_status)

    @property
    def seen_authorization(self) -> list[str]:
        with self._handler.lock:
            return list(self._handler.seen_authorization)

    def start(self) -> str:
        if self._thread is not None:
            return self.base_url
        self._thread = threading.Thread(target=self._run, name="automem-local-llm", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            raise RuntimeError(f"local LLM server failed to start: {self._failure}")
        return self.base_url

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # loop already gone
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start()
            self._failure = exc
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await _start(self._handler, self._port)
        port = server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            server.close()
            for task in list(self._handler.tasks):
                task.cancel()
            await asyncio.gather(*self._handler.tasks, return_exceptions=True)
            await server.wait_closed()


def _load_responder(spec: str) -> Responder:
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise SystemExit(f"--responder must look like module:function, got {spec!r}")
    try:
        module = importlib.import_module(module_name)
        responder = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise SystemExit(f"cannot load responder {spec!r}: {exc}") from None
    if not callable(responder):
        raise SystemExit(f"responder {spec!r} is not callable")
    return responder  # type: ignore[no-any-return]


async def _serve_forever(handler: _Handler, port: int) -> None:
    server = await _start(handler, port)
    bound = server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{bound}/v1", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
        for task in list(handler.tasks):
            task.cancel()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m automem_core.testing.local_server",
        description="OpenAI-compatible test server on 127.0.0.1; prints its base URL when ready.",
    )
    parser.add_argument("--port", type=int, default=0, help="port to bind (0: any free port)")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="delay before each answer")
    parser.add_argument(
        "--responder",
        default="automem_core.testing.local_server:echo_responder",
        help="module:function taking the messages and returning a Reply or str",
    )
    args = parser.parse_args(argv)
    handler = _Handler(_load_responder(args.responder), args.delay_ms)
    asyncio.run(_serve_forever(handler, args.port))
    return 0


if __name__ == "__main__":
    # Run the imported module's ``main`` so responders share its ``Reply`` class with the server.
    from automem_core.testing import local_server

    sys.exit(local_server.main())
