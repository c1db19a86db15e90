"""What a function-calling loop records: each model call, each tool call, the result and its
cost from a price table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

StopReason = Literal["answered", "max_tool_calls", "max_turns", "budget", "error"]


@dataclass(frozen=True)
class TokenPrice:
    """US dollars per million tokens, in (prompt) and out (completion)."""

    usd_per_m_in: float
    usd_per_m_out: float

    def cost_usd(self, tokens_in: int, tokens_out: int) -> float:
        return (tokens_in * self.usd_per_m_in + tokens_out * self.usd_per_m_out) / 1e6


@dataclass(frozen=True)
class CallRecord:
    """One model call (after its retries)."""

    tokens_in: int
    tokens_out: int
    latency_ms: float
    retries: int
    tool_calls: int  # how many the model asked for
    finish_reason: str | None
    error: str | None = None


@dataclass(frozen=True)
class ToolCallRecord:
    """One tool call the model asked for, and the size of the answer it got."""

    call_id: str
    name: str
    arguments: str  # as the model sent them (a JSON string, maybe broken)
    answer_chars: int
    latency_ms: float
    ran: bool  # False: past max_tool_calls, answered with a note instead
    failed: bool  # the answer was an error, a refusal or a stop
    crash: str | None = None  # the exception the tool raised (a bug), in one line


@dataclass
class ToolLoopResult:
    text: str | None  # the final answer; None when the loop ended without one
    stop: StopReason
    messages: list[dict[str, Any]]  # the whole conversation, the final answer included
    calls: list[CallRecord] = field(default_factory=list)
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    cost_usd: float | None = None  # None when the price table has no price for the model
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.text is not None

    @property
    def tokens_in(self) -> int:
        return sum(c.tokens_in for c in self.calls)

    @property
    def tokens_out(self) -> int:
        return sum(c.tokens_out for c in self.calls)

    @property
    def latency_ms(self) -> float:
        return sum(c.latency_ms for c in self.calls)

    @property
    def retries(self) -> int:
        return sum(c.retries for c in self.calls)


@dataclass(frozen=True)
class ToolAnswer:
    """What one tool call answered, and how it went."""

    text: str  # within the budget, whatever happened
    failed: bool  # an error, a refusal or a stop rather than a result
    elapsed_s: float  # the whole call, arguments parsed to answer cut
    crash: str | None = None  # the exception a tool raised (a bug), in one line
