"""The client interface every LLM backend offers: embedded, OpenAI-compatible, replay."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from automem_core.errors import AutoMemError

Phase = Literal["log", "plan", "action"]
Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": "..."}


@dataclass(frozen=True)
class TurnRequest:
    """One LLM call inside a phase, with the context backends may need.

    The OpenAI-compatible client sends only ``messages``; the embedded player uses ``game`` and
    ``phase`` to pick its rules; the replay client looks up the recorded turn by position.
    """

    messages: list[Message]
    game: str
    phase: Phase
    step: int
    turn: int
    episode_id: str = ""


@dataclass(frozen=True)
class Completion:
    """What came back. A call that failed for good has ``error`` set and empty ``text``."""

    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0
    retries: int = 0
    error: str | None = None


class LLMClient(Protocol):
    """``label`` is what logs and the dashboard show, e.g. ``embedded:crafter`` or
    ``openai:qwen2.5-32b@http://localhost:8000/v1``. It never contains a secret."""

    label: str

    async def complete(self, request: TurnRequest) -> Completion: ...

    async def aclose(self) -> None: ...


class LLMConfigError(AutoMemError, ValueError):
    """A backend that cannot be built from its configuration; the message names the fix."""
