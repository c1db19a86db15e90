"""The arguments of the reviewer's tools (pydantic models whose JSON Schemas the model sees),
and the one-line description of arguments that do not validate."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_STEPS = 50  # rows one ``steps`` call shows
MAX_SEARCH_HITS = 50


class ToolArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SqlArgs(ToolArgs):
    query: str = Field(description="One DuckDB SELECT over the views.")


class StepsArgs(ToolArgs):
    episode_id: str = Field(description="An episode id of the reviewed runs.")
    start: int = Field(ge=0, description="First step (inclusive).")
    end: int = Field(ge=0, description=f"Last step (inclusive); at most {MAX_STEPS} are shown.")


class StepArgs(ToolArgs):
    episode_id: str = Field(description="An episode id of the reviewed runs.")
    step: int = Field(ge=0, description="The step number.")
    full_prompts: bool = Field(
        default=False, description="Also show each turn's system prompt (long, the same each turn)."
    )


class MemoryArgs(ToolArgs):
    episode_id: str = Field(description="An episode id of the reviewed runs.")
    step: int = Field(ge=-1, description="The step; memory is shown as it was at its end.")


class SearchArgs(ToolArgs):
    text: str = Field(min_length=1, description="Text to find (case-insensitive substring).")
    limit: int = Field(default=20, ge=1, le=MAX_SEARCH_HITS, description="Most hits to show.")


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema without pydantic's titles (noise in every request)."""

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "title"}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    schema: dict[str, Any] = strip(model.model_json_schema())
    schema.setdefault("required", [])
    return schema


def describe_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err.get("loc", ())) or "(arguments)"
        parts.append(f"`{field}`: {err.get('msg', 'invalid')}")
    return "; ".join(parts)
