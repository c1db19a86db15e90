"""Submit an export's OpenAI chat JSONL as a fine-tuning job and follow it to the end.

The file is uploaded through the ``openai`` client's files API (purpose ``fine-tune``), a job is
created on ``base_model``, and the job is polled until it succeeds, fails or is cancelled, with a
progress line per status change. The API key is read from the environment variable named by
``api_key_env`` and nowhere else; it is never logged, returned or written, and is scrubbed from any
error message that comes back.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automem_core.errors import AutoMemError
from automem_core.export.format_names import OPENAI_FILE

log = logging.getLogger(__name__)

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class FineTuneError(AutoMemError, RuntimeError):
    """The job could not be submitted; one line saying why and what to do."""


@dataclass(frozen=True)
class FineTuneResult:
    job_id: str
    status: str
    fine_tuned_model: str | None
    trained_tokens: int | None
    training_file_id: str
    base_model: str
    error: str | None
    polls: int
    elapsed_s: float

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES


def submit_openai_finetune(
    export_file: Path | str,
    base_model: str,
    *,
    base_url: str | None = None,
    api_key_env: str = "OPENAI_API_KEY",
    poll_s: float = 15.0,
    max_wait_s: float | None = None,
    progress: bool = True,
    suffix: str | None = None,
    n_epochs: int | None = None,
    timeout_s: float = 60.0,
    max_retries: int = 4,
) -> FineTuneResult:
    """Upload ``export_file`` (an ``openai_chat.jsonl``, or an export folder holding one), start a
    fine-tuning job on ``base_model`` and poll it every ``poll_s`` seconds until it ends (or
    ``max_wait_s`` passes: the result then carries the last status, and the job goes on)."""
    path = _training_file(Path(export_file))
    key = _api_key(api_key_env)
    import openai

    client = openai.OpenAI(
        api_key=key, base_url=base_url, timeout=timeout_s, max_retries=max_retries
    )
    started = time.monotonic()
    say = log.info if progress else log.debug
    try:
        with path.open("rb") as fh:
            uploaded = client.files.create(file=(path.name, fh), purpose="fine-tune")
        say("uploaded %s as %s (%d bytes)", path.name, uploaded.id, uploaded.bytes)
        options: dict[str, Any] = {}
        if suffix is not None:
            options["suffix"] = suffix
        if n_epochs is not None:
            hyper = {"n_epochs": n_epochs}
            options["method"] = {"type": "supervised", "supervised": {"hyperparameters": hyper}}
        job = client.fine_tuning.jobs.create(model=base_model, training_file=uploaded.id, **options)
        say("fine-tuning job %s on %s: %s", job.id, base_model, job.status)
        job, polls = _poll(client, job, poll_s, max_wait_s, started, say)
    except openai.APIStatusError as exc:
        answer = f"the API answered {exc.status_code}: {exc.message}"
        raise FineTuneError(_scrub(answer, key)) from None
    except openai.APIConnectionError as exc:
        where = base_url or "the OpenAI API"
        raise FineTuneError(_scrub(f"cannot reach {where}: {exc}; check base_url", key)) from None
    error = _scrub(job.error.message, key) if job.error is not None else None
    result = FineTuneResult(
        job_id=job.id,
        status=job.status,
        fine_tuned_model=job.fine_tuned_model,
        trained_tokens=job.trained_tokens,
        training_file_id=uploaded.id,
        base_model=base_model,
        error=error,
        polls=polls,
        elapsed_s=time.monotonic() - started,
    )
    if result.status == "succeeded":
        say("job %s succeeded: model %s", job.id, job.fine_tuned_model)
    elif result.finished:
        log.warning("job %s %s: %s", job.id, job.status, error or "no reason given")
    return result


def _poll(
    client: Any, job: Any, poll_s: float, max_wait_s: float | None, started: float, say: Any
) -> tuple[Any, int]:
    polls, last = 0, job.status
    while job.status not in TERMINAL_STATUSES:
        waited = time.monotonic() - started
        if max_wait_s is not None and waited >= max_wait_s:
            log.warning("job %s still %s after %.0f s; stopped waiting", job.id, job.status, waited)
            break
        time.sleep(poll_s)
        job = client.fine_tuning.jobs.retrieve(job.id)
        polls += 1
        elapsed = time.monotonic() - started
        if job.status != last:
            say("job %s: %s -> %s (%.0f s)", job.id, last, job.status, elapsed)
            last = job.status
        else:
            log.debug("job %s: still %s (%.0f s)", job.id, job.status, elapsed)
    return job, polls


def _training_file(path: Path) -> Path:
    if path.is_dir():
        path = path / OPENAI_FILE
    if not path.is_file():
        raise FineTuneError(
            f"{path}: missing; --openai trains from {OPENAI_FILE}: export it with "
            "`automem export --format openai` (or all)"
        )
    if path.stat().st_size == 0:
        raise FineTuneError(f"{path}: empty; export some labelled decisions first")
    return path


def _api_key(env_name: str) -> str:
    if not _ENV_NAME.match(env_name):
        raise FineTuneError(
            "api_key_env must be the NAME of an environment variable (e.g. OPENAI_API_KEY), "
            "not the key itself"
        )
    key = os.environ.get(env_name, "").strip()
    if not key:
        raise FineTuneError(f"set {env_name} to your API key; it is read from the environment only")
    return key


def _scrub(text: str, key: str) -> str:
    return " ".join(text.replace(key, "[key]").split()) if key else " ".join(text.split())
