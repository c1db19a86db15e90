"""The arguments of the reviewer's tools (pydantic models whose JSON Schemas the model sees),
how a model's arguments are read (:func:`parse_arguments`: bounded before any parsing, never a
raise), and the one-line description of arguments that do not validate."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_STEPS = 50  # rows one ``steps`` call shows
MAX_SEARCH_HITS = 50
MAX_ARGUMENT_CHARS = 65_536  # the arguments of one call, as JSON text
MAX_DEPTH = 8  # the tools take flat objects: deeper nesting is never a valid call
MAX_QUERY_CHARS = 20_000
MAX_ID_CHARS = 200
MAX_TEXT_CHARS = 1_000
MAX_STEP = 10**9
_ERRORS_SHOWN = 4
_NAME_CHARS = 60


class ToolArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SqlArgs(ToolArgs):
    query: str = Field(max_length=MAX_QUERY_CHARS, description="One DuckDB SELECT over the views.")


class StepsArgs(ToolArgs):
    episode_id: str = Field(
        max_length=MAX_ID_CHARS, description="An episode id of the reviewed runs."
    )
    start: int = Field(ge=0, le=MAX_STEP, description="First step (inclusive).")
    end: int = Field(
        ge=0, le=MAX_STEP, description=f"Last step (inclusive); at most {MAX_STEPS} are shown."
    )


class StepArgs(ToolArgs):
    episode_id: str = Field(
        max_length=MAX_ID_CHARS, description="An episode id of the reviewed runs."
    )
    step: int = Field(ge=0, le=MAX_STEP, description="The step number.")
    full_prompts: bool = Field(
        default=False, description="Also show each turn's system prompt (long, the same each turn)."
    )


class MemoryArgs(ToolArgs):
    episode_id: str = Field(
        max_length=MAX_ID_CHARS, description="An episode id of the reviewed runs."
    )
    step: int = Field(
        ge=-1, le=MAX_STEP, description="The step; memory is shown as it was at its end."
    )


class SearchArgs(ToolArgs):
    text: str = Field(
        min_length=1,
        max_length=MAX_TEXT_CHARS,
        description='A search query: words, "a phrase", prefix*, OR, NOT, field:word.',
    )
    limit: int = Field(default=20, ge=1, le=MAX_SEARCH_HITS, description="Most hits to show.")


def parse_arguments(name: str, raw: object) -> tuple[dict[str, Any] | None, str]:
    """A call's arguments as a dict, or None and the one-line error for the model. The size and
    the nesting depth are checked on the text before it is parsed, so no argument (100 000
    brackets deep, megabytes long, not UTF-8) can make parsing raise or take long."""
    if raw is None:
        text = "{}"
    elif isinstance(raw, str):
        text = raw
    elif isinstance(raw, bytes | bytearray):
        text = bytes(raw).decode("utf-8", "replace")
    elif isinstance(raw, Mapping):
        try:
            text = json.dumps(raw, default=str)
        except (ValueError, TypeError, RecursionError):
            return None, f"error: the arguments of {name} are nested too deeply; send a flat object"
    else:
        return None, f"error: the arguments of {name} must be a JSON object"
    if len(text) > MAX_ARGUMENT_CHARS:
        return None, (
            f"error: the arguments of {name} are {len(text)} characters, over the "
            f"{MAX_ARGUMENT_CHARS} limit; send less"
        )
    if nesting_depth(text) > MAX_DEPTH:
        return None, (
            f"error: the arguments of {name} are nested deeper than {MAX_DEPTH} levels; "
            "send a flat JSON object"
        )
    try:
        value = json.loads(text or "{}")
    except (ValueError, RecursionError) as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        return None, f"error: the arguments of {name} are not JSON ({reason}); send a JSON object"
    if not isinstance(value, dict):
        kind = type(value).__name__
        return None, f"error: the arguments of {name} must be a JSON object, got {kind}"
    return value, ""


def nesting_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` in JSON text (brackets inside strings do not
    count); a linear scan, no recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


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
    """The first few problems, each field named (long names cut), never the values sent."""
    errors = exc.errors(include_input=False, include_url=False)
    parts = []
    for err in errors[:_ERRORS_SHOWN]:
        field = ".".join(_cut(str(p)) for p in err.get("loc", ())) or "(arguments)"
        parts.append(f"`{field}`: {_cut(str(err.get('msg', 'invalid')), 120)}")
    if len(errors) > _ERRORS_SHOWN:
        parts.append(f"and {len(errors) - _ERRORS_SHOWN} more")
    return "; ".join(parts)


def _cut(text: str, chars: int = _NAME_CHARS) -> str:
    text = text.translate({c: " " for c in range(32)})
    return text if len(text) <= chars else f"{text[:chars]}…"
