"""What a run is asked to do: one pydantic model, validated before any game starts.

A run plays every (task, seed) pair of one game with one scaffold and model configuration. Its
seeds may carry the name of a *seed set*: Loop 1 reviews on ``review`` seeds, gates on ``gating``
seeds and reports on ``heldout`` seeds; Loop 2 mines on ``mining`` seeds. The names let the loops
refuse to mix them (a proposal is never gated on the seeds that inspired it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from automem_core.errors import AutoMemError
from automem_core.llm.config import ModelConfig
from automem_core.run.executor_kinds import ExecutorKind
from automem_core.store.record_rows import SeedSet


class RunConfig(BaseModel):
    """The settings of one run. Tasks and seeds are trimmed and deduplicated, in order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    game: str
    tasks: tuple[str, ...] = Field(min_length=1)
    seeds: tuple[int, ...] = Field(min_length=1)
    data: Path
    seed_set: SeedSet | None = None
    scaffold: str | None = None  # built-in id, folder, or stored version id@hash8
    model: ModelConfig = Field(default_factory=ModelConfig)
    action_model: ModelConfig | None = None  # set: a separate client commits the actions
    max_steps: int | None = None
    concurrency: int = Field(default=4, ge=1)  # episodes at once, over all workers
    workers: int = Field(default=1, ge=1)  # processes (or Ray tasks) sharing the episodes
    # Who plays: this machine (one process, or ``workers`` processes) or a Ray cluster (the one
    # at ``ray_address``, or a local one started for the run). Not part of the run's identity.
    executor: ExecutorKind = "local"
    ray_address: str | None = None
    run_id: str | None = None
    replay_from: str | None = None  # answer from this recorded run's turns instead of a model
    training_id: str | None = None  # the trained specialist (ledger row) this run evaluates
    # An episode with more than this share of failed model calls is ``model_error``, not
    # ``degraded``; it does not change what is played, so it is not part of the run's identity.
    model_error_threshold: float = Field(default=0.1, ge=0.0, le=1.0)

    @field_validator("tasks", mode="before")
    @classmethod
    def _clean_tasks(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            return tuple(dict.fromkeys(str(t).strip() for t in value if str(t).strip()))
        return value

    @field_validator("max_steps")
    @classmethod
    def _positive_steps(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError(f"{value}: an episode needs at least 1 step")
        return value

    @field_validator("seeds")
    @classmethod
    def _clean_seeds(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(s < 0 for s in value):
            raise ValueError("seeds are whole numbers >= 0")
        return tuple(dict.fromkeys(value))


class RunConfigError(AutoMemError, ValueError):
    """A run setting that cannot be used; the message names the setting."""


def make_run_config(**settings: Any) -> RunConfig:
    """``RunConfig(**settings)`` with a one-line RunConfigError naming the bad setting."""
    try:
        return RunConfig(**settings)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise RunConfigError(f"run setting {loc}: {message}") from None
