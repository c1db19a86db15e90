"""A local OpenAI-compatible chat server for a trained memory specialist, backed by transformers.

``POST /v1/chat/completions`` applies the tokenizer's chat template to the request's messages and
generates with the model (greedy at temperature 0, sampled above it, up to ``max_tokens``),
answering with the completion and its ``usage`` token counts; ``GET /v1/models`` lists the one
model it serves. A LoRA adapter from ``train_lora`` is loaded on the base model with PEFT.

Start it blocking (``serve(...)``, or ``python -m automem_core.llm.specialist_server --model DIR
--adapter DIR``) or in a background thread (``serve(..., block=False)`` returns a handle with
``.url`` and ``.close()``). Requests are answered one generation at a time.

torch, transformers and peft are the ``train`` extra and are imported when a model is loaded.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from automem_core.errors import AutoMemError

log = logging.getLogger(__name__)

TRAIN_EXTRA_HINT = "install the train extra: pip install -e .[train]"
DEFAULT_PORT = 8800
DEFAULT_MAX_TOKENS = 256
MAX_BODY_BYTES = 8 * 1024 * 1024


class SpecialistServerError(AutoMemError):
    """The model cannot be loaded or served; the message says why and what to do."""


class _TextPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str = "text"
    text: str = ""


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[_TextPart] | None = None

    def plain(self) -> dict[str, str]:
        content = self.content
        if isinstance(content, list):
            content = "".join(part.text for part in content if part.type == "text")
        role = "system" if self.role == "developer" else self.role
        return {"role": role, "content": content or ""}


class ChatRequest(BaseModel):
    """The fields of an OpenAI chat request that the server honours; others are ignored."""

    model_config = ConfigDict(extra="ignore")
    model: str | None = None
    messages: list[_Message] = Field(min_length=1)
    temperature: float = Field(default=1.0, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    n: int = Field(default=1, ge=1, le=1)
    stream: Literal[False] = False
    seed: int | None = None


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: Literal["stop", "length"]


class SpecialistModel:
    """A causal LM (plus an optional LoRA adapter) and its tokenizer, ready to chat."""

    def __init__(self, model_dir: Path | str, adapter_dir: Path | str | None = None) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig
        except ImportError as exc:
            missing = exc.name or "torch"
            raise SpecialistServerError(f"{missing} is not installed; {TRAIN_EXTRA_HINT}") from None
        self._torch = torch
        self._generation_config: Any = GenerationConfig
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
        tokenizer_dir = _tokenizer_dir(Path(model_dir), adapter_dir)
        self.tokenizer: Any = AutoTokenizer.from_pretrained(str(tokenizer_dir))
        if self.tokenizer.chat_template is None:
            raise SpecialistServerError(f"{tokenizer_dir}: the tokenizer has no chat template")
        model: Any = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=dtype)
        if adapter_dir is not None:
            try:
                from peft import PeftModel
            except ImportError:
                raise SpecialistServerError(f"peft is not installed; {TRAIN_EXTRA_HINT}") from None
            model = PeftModel.from_pretrained(model, str(adapter_dir))
        self.model = model.to(self.device).eval()
        self.has_adapter = adapter_dir is not None
        self._lock = threading.Lock()
        self.context_len: int | None = getattr(model.config, "max_position_embeddings", None)
        eos = {self.tokenizer.eos_token_id, *_as_list(model.generation_config.eos_token_id)}
        self._eos_ids = sorted(i for i in eos if i is not None)
        pad = self.tokenizer.pad_token_id
        self._pad_id: int = pad if pad is not None else (self._eos_ids or [0])[0]

    def generate(
        self,
        messages: list[dict[str, str]],
        *,
        temperature: float = 0.0,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        top_p: float | None = None,
        stop: list[str] | None = None,
        seed: int | None = None,
    ) -> Generation:
        """One completion for ``messages`` (greedy when ``temperature`` is 0)."""
        torch = self._torch
        encoded = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        input_ids = encoded["input_ids"].to(self.device)
        prompt_len = int(input_ids.shape[1])
        if self.context_len is not None:
            if prompt_len >= self.context_len:
                raise ValueError(
                    f"the prompt has {prompt_len} tokens; the model's context is {self.context_len}"
                )
            max_tokens = min(max_tokens, self.context_len - prompt_len)
        sample = temperature > 0
        config = self._generation_config(
            max_new_tokens=max_tokens,
            do_sample=sample,
            temperature=temperature if sample else None,
            top_p=(top_p or 1.0) if sample else None,
            top_k=None,
            eos_token_id=self._eos_ids or None,
            pad_token_id=self._pad_id,
        )
        with self._lock, torch.inference_mode():
            if seed is not None:
                torch.manual_seed(seed)
            output = self.model.generate(
                input_ids=input_ids,
                attention_mask=encoded["attention_mask"].to(self.device),
                generation_config=config,
            )
        new_ids = output[0][prompt_len:].tolist()
        ended = bool(new_ids) and new_ids[-1] in self._eos_ids
        text = self.tokenizer.decode(new_ids, skip_special_tokens=True)
        text, stopped = _cut_at_stop(text, stop or [])
        finish: Literal["stop", "length"] = "stop" if ended or stopped else "length"
        return Generation(text, prompt_len, len(new_ids), finish)


def _tokenizer_dir(model_dir: Path, adapter_dir: Path | str | None) -> Path:
    if adapter_dir is not None and (Path(adapter_dir) / "tokenizer_config.json").is_file():
        return Path(adapter_dir)
    return model_dir


def _as_list(value: int | list[int] | None) -> list[int]:
    if value is None:
        return []
    return [value] if isinstance(value, int) else list(value)


def _cut_at_stop(text: str, stops: list[str]) -> tuple[str, bool]:
    cuts = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    return (text[: min(cuts)], True) if cuts else (text, False)


def completion_payload(model_id: str, generation: Generation) -> dict[str, Any]:
    """The OpenAI ``chat.completion`` object for one generation."""
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model_id,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": generation.text},
                "finish_reason": generation.finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": generation.prompt_tokens,
            "completion_tokens": generation.completion_tokens,
            "total_tokens": generation.prompt_tokens + generation.completion_tokens,
        },
    }


class _HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0].rstrip("/") == "/v1/models":
            model = {"id": self.server.model_id, "object": "model", "created": 0}
            self._send(200, {"object": "list", "data": [{**model, "owned_by": "automem"}]})
        else:
            self._send_error(404, f"no route for GET {self.path}")

    def do_POST(self) -> None:
        try:
            if self.path.split("?", 1)[0].rstrip("/") != "/v1/chat/completions":
                raise _HttpError(404, f"no route for POST {self.path}")
            self._send(200, self._chat(self._read_json()))
        except _HttpError as exc:
            self._send_error(exc.status, str(exc))

    def _read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise _HttpError(413, f"request body over {MAX_BODY_BYTES} bytes")
        try:
            return json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            raise _HttpError(400, "the body must be JSON") from None

    def _chat(self, body: Any) -> dict[str, Any]:
        try:
            request = ChatRequest.model_validate(body)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "body"
            raise _HttpError(400, f"`{where}`: {err['msg']}") from None
        stop = [request.stop] if isinstance(request.stop, str) else request.stop
        max_tokens = request.max_completion_tokens or request.max_tokens or DEFAULT_MAX_TOKENS
        try:
            generation = self.server.specialist.generate(
                [m.plain() for m in request.messages],
                temperature=request.temperature,
                max_tokens=min(max_tokens, self.server.max_tokens_cap),
                top_p=request.top_p,
                stop=stop,
                seed=request.seed,
            )
        except ValueError as exc:
            raise _HttpError(400, str(exc)) from None
        except Exception as exc:
            log.exception("generation failed")
            raise _HttpError(500, f"generation failed: {type(exc).__name__}: {exc}") from None
        return completion_payload(self.server.model_id, generation)

    def _send_error(self, status: int, message: str) -> None:
        kind = "invalid_request_error" if status < 500 else "server_error"
        self._send(status, {"error": {"message": message, "type": kind, "code": status}})

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], specialist: SpecialistModel, model_id: str, cap: int
    ) -> None:
        super().__init__(address, _Handler)
        self.specialist = specialist
        self.model_id = model_id
        self.max_tokens_cap = cap


class SpecialistServer:
    """A running server: ``url`` is the OpenAI base URL (``http://host:port/v1``)."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        self._thread: threading.Thread | None = None
        host, port = server.server_address[:2]
        self.url = f"http://{host!s}:{port}/v1"
        self.model_id = server.model_id

    def start_background(self) -> SpecialistServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="automem-specialist", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        try:
            self._server.serve_forever()
        except KeyboardInterrupt:
            log.info("stopping the specialist server")
        finally:
            self._server.server_close()

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> SpecialistServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def serve(
    model_dir: Path | str,
    adapter_dir: Path | str | None = None,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    block: bool = True,
    model_id: str | None = None,
    max_tokens_cap: int = 4096,
) -> SpecialistServer:
    """Load the model (and adapter) and serve it on ``host:port`` (0: any free port).

    With ``block=True`` this serves until interrupted; with ``block=False`` it returns the running
    server (call ``.close()``)."""
    specialist = SpecialistModel(model_dir, adapter_dir)
    name = model_id or Path(adapter_dir if adapter_dir is not None else model_dir).name
    server = SpecialistServer(_Server((host, port), specialist, name, max_tokens_cap))
    log.info("serving %s at %s", name, server.url)
    if block:
        server.serve_forever()
        return server
    return server.start_background()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m automem_core.llm.specialist_server",
        description="Serve a memory specialist (base model + LoRA adapter) as an OpenAI-compatible "
        "chat endpoint.",
    )
    parser.add_argument("--model", required=True, help="base model folder or hub id")
    parser.add_argument("--adapter", default=None, help="LoRA adapter folder from train_lora")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--model-id", default=None, help="the name /v1/models reports")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        serve(args.model, args.adapter, args.host, args.port, model_id=args.model_id)
    except SpecialistServerError as exc:
        parser.exit(2, f"error: {exc}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
