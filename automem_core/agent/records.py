"""Turning what happened in a step into log rows (turns, memory ops) and per-step counters."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from automem_core.llm.base import Completion, TurnRequest
from automem_core.memory import READ_ONLY_OPS, OpResult, ParseResult, clean_text
from automem_core.store.memory_at import encode_mutations
from automem_core.store.schema import MemoryOpRow, TurnPhase, TurnRow

RowT = TypeVar("RowT")


def _clean_value(value: Any) -> Any:
    """``value`` with its strings cleaned; the same object when nothing needed cleaning."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list | tuple):
        items = [_clean_value(v) for v in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return type(value)(items)
    return value


def clean_row(row: RowT) -> RowT:
    """``row`` (a dataclass) with every string, in lists too, made UTF-8 encodable (lone
    surrogates from a model become U+FFFD), so Parquet can always store it. A clean row comes
    back as itself."""
    if not dataclasses.is_dataclass(row) or isinstance(row, type):
        return row
    changed: dict[str, Any] = {}
    for f in dataclasses.fields(row):
        value = getattr(row, f.name)
        cleaned = _clean_value(value)
        if cleaned is not value:
            changed[f.name] = cleaned
    return dataclasses.replace(row, **changed) if changed else row


@dataclass
class StepCounters:
    n_log_turns: int = 0
    n_plan_turns: int = 0
    n_ops: int = 0
    n_writes: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    llm_ms: float = 0.0
    llm_calls: int = 0
    failed_calls: int = 0
    retries: int = 0


class ModelUnavailableError(RuntimeError):
    """Too many model calls in a row failed: the episode stops and is recorded as an error."""


MAX_CONSECUTIVE_FAILURES = 8


class StepRecorder:
    """Collects one episode's turn and memory-op rows and hands them to ``sink``.

    Every row leaves through :meth:`emit`, which cleans its strings: model text may hold code
    points (lone surrogates) that would make the row unwritable and abort the run.
    """

    def __init__(self, episode_id: str, sink: Callable[[str, Any], None]) -> None:
        self.episode_id = episode_id
        self._sink = sink
        self.seq = 0
        self.counters = StepCounters()
        self._pending: tuple[str, TurnRequest, Completion] | None = None
        self._failures_in_a_row = 0

    def emit(self, table: str, row: Any) -> None:
        """Hand ``row`` to the sink with every string made storable."""
        self._sink(table, clean_row(row))

    def start_step(self) -> StepCounters:
        done, self.counters = self.counters, StepCounters()
        return done

    def pending_turn(self, client: str, request: TurnRequest, completion: Completion) -> None:
        self._pending = (client, request, completion)
        c = self.counters
        c.tokens_in += completion.tokens_in
        c.tokens_out += completion.tokens_out
        c.llm_ms += completion.latency_ms
        c.llm_calls += 1
        c.retries += completion.retries
        c.failed_calls += 1 if completion.error else 0
        self._failures_in_a_row = self._failures_in_a_row + 1 if completion.error else 0

    def finish_turn(
        self,
        step: int,
        phase: TurnPhase,
        turn: int,
        text: str,
        parsed: ParseResult,
        errors: Sequence[str],
        results: Sequence[OpResult],
    ) -> None:
        assert self._pending is not None, "finish_turn without a model call"
        client, request, completion = self._pending
        self._pending = None
        if phase == "log":
            self.counters.n_log_turns += 1
        else:
            self.counters.n_plan_turns += 1
        self.emit(
            "turns",
            TurnRow(
                episode_id=self.episode_id,
                step=step,
                phase=phase,
                turn=turn,
                client=client,
                messages_json=json.dumps(request.messages, ensure_ascii=False),
                completion=text,
                n_ops=len(parsed.ops),
                parse_errors=list(errors),
                action=parsed.action,
                tokens_in=completion.tokens_in,
                tokens_out=completion.tokens_out,
                latency_ms=completion.latency_ms,
                retries=completion.retries,
                error=completion.error,
            ),
        )
        for r in results:
            self._op_row(step, phase, turn, r)
        if self._failures_in_a_row >= MAX_CONSECUTIVE_FAILURES:
            raise ModelUnavailableError(
                f"{self._failures_in_a_row} model calls in a row failed, last: {completion.error}"
            )

    def _op_row(self, step: int, phase: TurnPhase, turn: int, r: OpResult) -> None:
        self.counters.n_ops += 1
        if r.op.kind not in READ_ONLY_OPS and r.ok:
            self.counters.n_writes += 1
        self.emit(
            "memory_ops",
            MemoryOpRow(
                episode_id=self.episode_id,
                step=step,
                seq=self._next_seq(),
                phase=phase,
                turn=turn,
                kind=r.op.kind,
                file=r.file,
                args=list(r.op.args),
                ok=r.ok,
                result=r.text,
                hits=r.hits,
                error=r.error,
                mutations_json=encode_mutations(r.mutations),
            ),
        )

    def helper_result(self, step: int, result: OpResult) -> None:
        """A helper's write (WRITE, APPEND, or a prune recorded as WRITE) run through the
        guarded op path, failed or not."""
        file, text, mutations = result.file, result.text, result.mutations
        ok, error = result.ok, result.error
        self.emit(
            "memory_ops",
            MemoryOpRow(
                episode_id=self.episode_id,
                step=step,
                seq=self._next_seq(),
                phase="helper",
                turn=0,
                kind=result.op.kind,
                file=file,
                args=[file],
                ok=ok,
                result=text,
                hits=0,
                error=error,
                mutations_json=encode_mutations(list(mutations)),
            ),
        )

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq
