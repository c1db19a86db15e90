"""A fake OpenAI fine-tuning API on 127.0.0.1 for tests: real HTTP, driven by the real client.

Routes (under ``/v1``): ``POST /files`` (multipart upload; a ``fine-tune`` file must be JSONL whose
every line has a ``messages`` list of role/content messages with an assistant reply, else 400
naming the line), ``GET /files/{id}``, ``POST /fine_tuning/jobs`` and ``GET
/fine_tuning/jobs/{id}``. A job moves ``validating_files`` -> ``running`` -> ``succeeded`` (or
``failed`` when the server is built with ``fail_jobs=True``), one state every ``polls_per_status``
reads of it. Every request must carry ``Authorization: Bearer <key>`` (the given ``api_key`` when
one is set), as the real API demands.

    with FakeFineTuneAPI(api_key="test-key") as api:
        client = openai.OpenAI(base_url=api.base_url, api_key="test-key")
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

STATUSES = ("validating_files", "running", "succeeded")
_ROLES = {"system", "developer", "user", "assistant", "tool"}


class _ApiError(Exception):
    def __init__(self, status: int, message: str, code: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.code = status, code


@dataclass
class UploadedFile:
    id: str
    filename: str
    purpose: str
    content: bytes
    created_at: int

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.content),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
        }


@dataclass
class FakeJob:
    id: str
    model: str
    training_file: str
    n_epochs: int
    suffix: str | None
    created_at: int
    trained_tokens: int
    reads: int = 0
    status: str = "validating_files"
    history: list[str] = field(default_factory=lambda: ["validating_files"])


def validate_chat_jsonl(content: bytes) -> int:
    """Number of examples; raises ``_ApiError`` naming the first bad line."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise _ApiError(400, "the file is not UTF-8 text") from None
    count = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise _ApiError(400, f"line {number}: not valid JSON") from None
        messages = row.get("messages") if isinstance(row, dict) else None
        if not isinstance(messages, list) or not messages:
            raise _ApiError(400, f"line {number}: missing a non-empty `messages` list")
        for m in messages:
            if not isinstance(m, dict) or m.get("role") not in _ROLES:
                raise _ApiError(400, f"line {number}: every message needs a valid `role`")
            if not isinstance(m.get("content"), str):
                raise _ApiError(400, f"line {number}: every message needs string `content`")
            if m.get("weight", 1) not in (0, 1):
                raise _ApiError(400, f"line {number}: `weight` must be 0 or 1")
        if not any(m["role"] == "assistant" for m in messages):
            raise _ApiError(400, f"line {number}: no assistant message to train on")
        count += 1
    if count == 0:
        raise _ApiError(400, "the file has no examples")
    return count


class FakeFineTuneAPI:
    """The fake API in a background thread; ``base_url`` ends in ``/v1``."""

    def __init__(
        self, *, api_key: str | None = None, polls_per_status: int = 1, fail_jobs: bool = False
    ) -> None:
        self.api_key = api_key
        self.polls_per_status = max(1, polls_per_status)
        self.fail_jobs = fail_jobs
        self.files: dict[str, UploadedFile] = {}
        self.jobs: dict[str, FakeJob] = {}
        self.requests: list[tuple[str, str]] = []
        self.seen_authorization: list[str] = []
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    def start(self) -> str:
        api = self

        class Handler(_Handler):
            fake = api

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-finetune-api", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> FakeFineTuneAPI:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- the routes, called with the lock held -------------------------------------------------

    def upload(self, filename: str, purpose: str, content: bytes) -> dict[str, Any]:
        if purpose == "fine-tune":
            validate_chat_jsonl(content)
        record = UploadedFile(f"file-{uuid.uuid4().hex[:24]}", filename, purpose, content, _now())
        self.files[record.id] = record
        return record.payload()

    def get_file(self, file_id: str) -> dict[str, Any]:
        if file_id not in self.files:
            raise _ApiError(404, f"no file {file_id}")
        return self.files[file_id].payload()

    def create_job(self, body: dict[str, Any]) -> dict[str, Any]:
        model, training_file = body.get("model"), body.get("training_file")
        if not isinstance(model, str) or not model:
            raise _ApiError(400, "`model` is required")
        upload = self.files.get(str(training_file))
        if upload is None:
            raise _ApiError(400, f"training_file {training_file!r} does not exist")
        if upload.purpose != "fine-tune":
            raise _ApiError(400, f"training_file {upload.id} was not uploaded for fine-tune")
        n_epochs = _n_epochs(body)
        job = FakeJob(
            id=f"ftjob-{uuid.uuid4().hex[:24]}",
            model=model,
            training_file=upload.id,
            n_epochs=n_epochs,
            suffix=body.get("suffix"),
            created_at=_now(),
            trained_tokens=len(upload.content) // 4 * n_epochs,
        )
        self.jobs[job.id] = job
        return self._job_payload(job)

    def read_job(self, job_id: str) -> dict[str, Any]:
        job = self.jobs.get(job_id)
        if job is None:
            raise _ApiError(404, f"no fine-tuning job {job_id}")
        job.reads += 1
        stage = min(job.reads // self.polls_per_status, len(STATUSES) - 1)
        status = STATUSES[stage]
        if status == "succeeded" and self.fail_jobs:
            status = "failed"
        if status != job.status:
            job.status = status
            job.history.append(status)
        return self._job_payload(job)

    def _job_payload(self, job: FakeJob) -> dict[str, Any]:
        done = job.status in ("succeeded", "failed")
        succeeded = job.status == "succeeded"
        name = f"ft:{job.model}:automem:{job.suffix or 'specialist'}:{job.id[-8:]}"
        error = (
            {"code": "invalid_training_file", "message": "the fake was told to fail", "param": None}
            if job.status == "failed"
            else None
        )
        return {
            "id": job.id,
            "object": "fine_tuning.job",
            "created_at": job.created_at,
            "error": error,
            "fine_tuned_model": name if succeeded else None,
            "finished_at": _now() if done else None,
            "hyperparameters": {"n_epochs": job.n_epochs, "batch_size": 1},
            "model": job.model,
            "organization_id": "org-automem-fake",
            "result_files": [],
            "seed": 0,
            "status": job.status,
            "trained_tokens": job.trained_tokens if succeeded else None,
            "training_file": job.training_file,
            "validation_file": None,
        }


def _now() -> int:
    return int(time.time())


def _n_epochs(body: dict[str, Any]) -> int:
    method = body.get("method") or {}
    hyper = (method.get("supervised") or {}).get("hyperparameters") or body.get("hyperparameters")
    value = (hyper or {}).get("n_epochs", "auto")
    return value if isinstance(value, int) and value > 0 else 3


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeFineTuneAPI

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        api = self.fake
        try:
            with api.lock:
                api.requests.append((method, path))
                self._authorize()
                payload = self._route(method, path, body)
            self._send(200, payload)
        except _ApiError as exc:
            error = {"message": str(exc), "type": exc.code, "param": None, "code": exc.code}
            self._send(exc.status, {"error": error})

    def _authorize(self) -> None:
        header = self.headers.get("Authorization", "")
        self.fake.seen_authorization.append(header)
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        if not token or (self.fake.api_key is not None and token != self.fake.api_key):
            raise _ApiError(401, "Incorrect API key provided.", "invalid_api_key")

    def _route(self, method: str, path: str, body: bytes) -> dict[str, Any]:
        api = self.fake
        if method == "POST" and path == "/v1/files":
            return api.upload(*self._multipart(body))
        if method == "GET" and path.startswith("/v1/files/"):
            return api.get_file(path.rsplit("/", 1)[1])
        if method == "POST" and path == "/v1/fine_tuning/jobs":
            try:
                request = json.loads(body or b"{}")
            except ValueError:
                raise _ApiError(400, "the body must be JSON") from None
            return api.create_job(request if isinstance(request, dict) else {})
        if method == "GET" and path.startswith("/v1/fine_tuning/jobs/"):
            return api.read_job(path.rsplit("/", 1)[1])
        raise _ApiError(404, f"no route for {method} {path}")

    def _multipart(self, body: bytes) -> tuple[str, str, bytes]:
        content_type = self.headers.get("Content-Type", "")
        if not content_type.startswith("multipart/form-data"):
            raise _ApiError(400, "the upload must be multipart/form-data")
        head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        fields: dict[str, tuple[str | None, bytes]] = {}
        for part in message.iter_parts():  # type: ignore[attr-defined]
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            content = payload if isinstance(payload, bytes) else b""
            fields[str(name)] = (part.get_filename(), content)
        if "file" not in fields or "purpose" not in fields:
            raise _ApiError(400, "the upload needs `file` and `purpose` fields")
        filename, content = fields["file"]
        return filename or "upload.jsonl", fields["purpose"][1].decode("utf-8"), content

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the test reads ``requests`` instead
