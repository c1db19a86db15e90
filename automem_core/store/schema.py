"""Every table the store writes: one frozen row class per table, its Arrow schema, SCHEMA_VERSION.

Row classes are the single source of truth; Arrow schemas are derived from their annotations so a
column cannot be added in one place and forgotten in the other. The rows of runs and episodes are
here; those of the append-only record tables are in ``record_rows.py``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_type_hints

import pyarrow as pa

from automem_core.memory.parser import OpKind
from automem_core.store.record_rows import (
    AlternativeRow,
    CausalValueRow,
    DecisionPhase,
    DecisionRow,
    EvaluationRow,
    ExportRow,
    LabelRow,
    ProposalRow,
    SeedSet,
    TrainingRow,
)

SCHEMA_VERSION = 7  # bump with every change of columns; add the upgrade to migrations.py
METADATA_KEY = b"automem.schema_version"

RunStatus = Literal["running", "finished", "interrupted"]
# ok: every model call answered; degraded: some failed; model_error: more than the run's
# threshold failed; error: the episode itself failed (a crash, a save that failed).
EpisodeStatus = Literal["ok", "degraded", "model_error", "error"]
EndReason = Literal["done", "max_steps", "error"]
TurnPhase = Literal["log", "plan", "action"]
OpPhase = Literal["log", "plan", "action", "helper", "init"]
# model: the model chose a valid action; the others are the game's default action, played
# because the model's action was invalid, missing, or its call failed (not the model's choice).
ActionSource = Literal["model", "invalid", "missing", "failure"]
FrameKind = Literal["png", "tty"]


def utc_now() -> str:
    """Times in every table: ISO-8601 UTC with microseconds (labels in a row stay in order)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class RunRow:
    run_id: str
    game: str
    tasks: list[str]
    seeds: list[int]
    seed_set: SeedSet | None
    scaffold_id: str
    scaffold_hash: str
    memory_client: str
    action_client: str
    model_config_json: str  # public settings only; never a secret
    settings_hash: str  # everything that decides the episodes; a resume must match it
    max_steps: int
    text_format: str  # version of the observation text; episodes of two versions never mix
    status: RunStatus
    created_at: str  # ISO-8601 UTC
    updated_at: str  # a live run rewrites this at least every HEARTBEAT_S seconds
    episodes_planned: int
    training_id: str | None = None  # the trained specialist this run evaluates, if any


@dataclass(frozen=True)
class EpisodeRow:
    episode_id: str
    run_id: str
    game: str
    task: str
    seed: int
    scaffold_id: str
    scaffold_hash: str
    memory_client: str
    action_client: str
    status: EpisodeStatus
    end_reason: EndReason
    error: str | None
    steps: int
    total_reward: float
    progression: float
    invalid_actions: int
    tokens_in: int
    tokens_out: int
    llm_calls: int
    failed_calls: int  # model calls that failed after their retries
    failure_defaults: int  # default actions played because a model call failed
    retries: int
    wall_s: float
    started_at: str
    finished_at: str
    parent_episode_id: str | None  # set for forks (run/fork.py)
    fork_step: int | None  # the parent's step the fork starts at
    # The summary the writer computes from the episode's rows (store/summary.py).
    agent_ops: int = 0
    op_counts_json: str = "{}"  # agent ops by kind
    empty_searches: int = 0
    redundant_writes: int = 0
    writes_never_read: int = 0
    writes_checked: int = 0
    unchanged_observations: int = 0
    oscillations: int = 0
    longest_zero_reward_streak: int = 0
    file_lines_json: str = "{}"  # memory file → [lines at the start, lines at the end]
    fork_edit_json: str | None = None  # a fork's edit of its parent's memory (run/fork_edit.py)


@dataclass(frozen=True)
class StepRow:
    episode_id: str
    step: int
    observation: str  # the text the agent saw before acting (with any notice)
    action: str  # the committed game action
    raw_action: str | None  # what the model asked for, when it differed or was absent
    action_valid: bool
    action_source: ActionSource
    reward: float
    done: bool
    progression: float
    warnings: list[str]
    n_log_turns: int
    n_plan_turns: int
    n_ops: int
    n_writes: int
    tokens_in: int
    tokens_out: int
    llm_ms: float
    env_ms: float


@dataclass(frozen=True)
class TurnRow:
    episode_id: str
    step: int
    phase: TurnPhase
    turn: int
    client: str
    messages_json: str
    completion: str
    n_ops: int
    parse_errors: list[str]
    action: str | None
    tokens_in: int
    tokens_out: int
    latency_ms: float
    retries: int
    error: str | None


@dataclass(frozen=True)
class MemoryOpRow:
    episode_id: str
    step: int
    seq: int  # order of the op within the episode; memory is rebuilt in this order
    phase: OpPhase
    turn: int
    kind: OpKind
    file: str
    args: list[str]
    ok: bool
    result: str
    hits: int
    error: str | None
    mutations_json: str  # JSON list of automem_core.memory.state.Mutation fields


@dataclass(frozen=True)
class MemorySnapshotRow:
    """A keyframe: every file with its lines' origin steps, as they were at the end of ``step``."""

    episode_id: str
    step: int
    files_json: str


@dataclass(frozen=True)
class FrameRow:
    episode_id: str
    step: int
    kind: FrameKind
    data: bytes


@dataclass(frozen=True)
class TurnSignalRow:
    """A decision turn's signals within its own episode (a LOG turn, or a PLAN turn that ran
    ops), computed by the writer as the episode is recorded (``store/turn_signals.py``).
    ``analysis/decisions.py`` defines them in SQL over the log and mines from these rows."""

    episode_id: str
    step: int
    phase: DecisionPhase
    turn: int
    op_kinds: list[str]  # its ops, in order
    lines_written: int
    redundant_write: bool  # every line of one of its writes was already in that file's log
    early_outcome: bool  # a line it wrote names its own step or a later one ("Step N …")
    empty_search: bool
    read_step: int | None  # the first later SEARCH/READ/TAIL that returned a line it wrote
    read_by: str | None  # that read, e.g. "SEARCH@14"
    read_progress: int | None  # the first step ≥ read_step with a reward or progression rise
    consult_by: str | None  # its own first read that returned lines
    turn_progress: int | None  # the first step ≥ its step with a reward or progression rise


TABLES: dict[str, type] = {
    "runs": RunRow,
    "episodes": EpisodeRow,
    "steps": StepRow,
    "turns": TurnRow,
    "memory_ops": MemoryOpRow,
    "memory_snapshots": MemorySnapshotRow,
    "frames": FrameRow,
    "turn_signals": TurnSignalRow,
    "labels": LabelRow,
    "decisions": DecisionRow,
    "alternatives": AlternativeRow,
    "causal_values": CausalValueRow,
    "proposals": ProposalRow,
    "evaluations": EvaluationRow,
    "exports": ExportRow,
    "trainings": TrainingRow,
}
EPISODE_TABLES = ("episodes", "steps", "turns", "memory_ops", "memory_snapshots", "frames")
# Per-episode tables the writer derives from the recorded ones. An episode written before one
# existed has no file for it (nothing is lost: readers compute the same from the log).
DERIVED_TABLES = ("turn_signals",)
RECORD_TABLES = tuple(t for t in TABLES if t not in ("runs", *EPISODE_TABLES, *DERIVED_TABLES))


def _arrow_type(tp: Any) -> tuple[pa.DataType, bool]:
    """Map a row annotation to (Arrow type, nullable)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _arrow_type(inner[0])[0], True
    if origin is Literal:  # a closed set of strings
        return pa.string(), False
    if origin is list:
        (item,) = typing.get_args(tp)
        return pa.list_(_arrow_type(item)[0]), False
    simple = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}
    if tp in simple:
        return simple[tp], False
    if tp is bytes:
        return pa.binary(), False
    raise TypeError(f"no Arrow type for {tp!r}")


def arrow_schema(row_type: type) -> pa.Schema:
    hints = get_type_hints(row_type)
    fields = []
    for f in dataclasses.fields(row_type):
        dtype, nullable = _arrow_type(hints[f.name])
        fields.append(pa.field(f.name, dtype, nullable=nullable))
    return pa.schema(fields, metadata={METADATA_KEY: str(SCHEMA_VERSION).encode()})


SCHEMAS: dict[str, pa.Schema] = {name: arrow_schema(row) for name, row in TABLES.items()}


def to_table(name: str, rows: typing.Sequence[Any]) -> pa.Table:
    """Rows of ``TABLES[name]`` → an Arrow table with the table's schema (and version metadata)."""
    schema = SCHEMAS[name]
    columns = {f.name: [getattr(r, f.name) for r in rows] for f in schema}
    return pa.Table.from_pydict(columns, schema=schema)
