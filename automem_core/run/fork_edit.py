"""A fork's edit of its parent's memory: a typed value, stored with the fork, shown in words.

Three kinds, besides none:

- ``drop``: one decision (a LOG turn, by its id ``<episode>:<step>:log:<turn>``) is taken out of
  the memory's history: its ops are not applied, the ops after it are applied as logged, so the
  memory is as if it had not been written;
- ``alternative``: one decision's ops are replaced by those of one of its resampled answers
  (``mining/resample.py``), run on the memory as it was when the turn began;
- ``patch``: an RFC 6902 JSON Patch on one memory file, seen as the JSON list of its lines.

The value round-trips through JSON (:func:`to_json`, :func:`parse_edit`), which is how the
episode row keeps it (``episodes.fork_edit_json``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from automem_core.errors import AutoMemError

EditKind = Literal["none", "drop", "alternative", "patch"]
EDIT_SHAPES = "drop=DECISION_ID, alternative=ALTERNATIVE_ID, or patch=FILE:JSON_PATCH"


class ForkEditError(AutoMemError, ValueError):
    """An edit that cannot be made as asked; the message says why and what to give instead."""


@dataclass(frozen=True)
class DecisionRef:
    """A decision by its place: ``<episode_id>:<step>:<phase>:<turn>``."""

    episode_id: str
    step: int
    phase: str
    turn: int

    @property
    def decision_id(self) -> str:
        return f"{self.episode_id}:{self.step}:{self.phase}:{self.turn}"


def parse_decision_id(text: str) -> DecisionRef:
    parts = text.rsplit(":", 3)
    if len(parts) != 4 or parts[2] not in ("log", "plan"):
        raise ForkEditError(f"{text!r} is not a decision id (EPISODE_ID:STEP:log|plan:TURN)")
    episode_id, step, phase, turn = parts
    try:
        return DecisionRef(episode_id, int(step), phase, int(turn))
    except ValueError:
        raise ForkEditError(f"{text!r}: its step and turn must be whole numbers") from None


@dataclass(frozen=True)
class ForkEdit:
    """What changes in the memory a fork starts with. ``decision_id`` for ``drop`` and
    ``alternative``; ``alternative_id`` and ``completion`` (the answer, kept so the fork can be
    rebuilt from its own row) for ``alternative``; ``file`` and ``patch`` for ``patch``."""

    kind: EditKind = "none"
    decision_id: str = ""
    alternative_id: str = ""
    completion: str = ""
    file: str = ""
    patch: tuple[dict[str, Any], ...] = ()

    @property
    def decision(self) -> DecisionRef:
        return parse_decision_id(self.decision_id)


NO_EDIT = ForkEdit()


def drop(decision_id: str) -> ForkEdit:
    parse_decision_id(decision_id)
    return ForkEdit("drop", decision_id=decision_id)


def alternative(decision_id: str, alternative_id: str, completion: str) -> ForkEdit:
    parse_decision_id(decision_id)
    return ForkEdit(
        "alternative", decision_id=decision_id, alternative_id=alternative_id,
        completion=completion,
    )  # fmt: skip


def patch(file: str, operations: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> ForkEdit:
    if not file:
        raise ForkEditError("a patch edit names the memory file it changes: patch=FILE:[…]")
    if not isinstance(operations, list | tuple) or not all(
        isinstance(op, dict) and "op" in op and "path" in op for op in operations
    ):
        raise ForkEditError(
            'a patch is a JSON list of operations like {"op": "remove", "path": "/0"}'
        )
    return ForkEdit("patch", file=file, patch=tuple(operations))


def to_json(edit: ForkEdit) -> str:
    data: dict[str, Any] = {"kind": edit.kind}
    if edit.kind in ("drop", "alternative"):
        data["decision_id"] = edit.decision_id
    if edit.kind == "alternative":
        data["alternative_id"] = edit.alternative_id
        data["completion"] = edit.completion
    if edit.kind == "patch":
        data["file"] = edit.file
        data["patch"] = list(edit.patch)
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def parse_edit(text: str | None) -> ForkEdit:
    """The edit a fork's row holds (no edit for None, as in every episode that is no fork)."""
    if not text:
        return NO_EDIT
    data = json.loads(text)
    kind = data.get("kind", "none")
    if kind == "drop":
        return drop(str(data["decision_id"]))
    if kind == "alternative":
        return alternative(
            str(data["decision_id"]), str(data["alternative_id"]), str(data["completion"])
        )
    if kind == "patch":
        return patch(str(data["file"]), list(data["patch"]))
    return NO_EDIT


def _describe_op(op: dict[str, Any]) -> str:
    name, path = str(op.get("op")), str(op.get("path"))
    where = "the end" if path.endswith("/-") else f"line {path.rsplit('/', 1)[-1]}"
    value = op.get("value")
    shown = json.dumps(value, ensure_ascii=False) if value is not None else ""
    if len(shown) > 60:
        shown = shown[:57] + '…"'
    words = {
        "add": f"add {shown} at {where}",
        "remove": f"remove {where}",
        "replace": f"replace {where} with {shown}",
        "move": f"move line {str(op.get('from', '')).rsplit('/', 1)[-1]} to {where}",
        "copy": f"copy line {str(op.get('from', '')).rsplit('/', 1)[-1]} to {where}",
        "test": f"check that {where} is {shown}",
    }
    return words.get(name, f"{name} {path}")


def render_edit(edit: ForkEdit) -> str:
    """The edit in words, as the CLI and the dashboard show it."""
    if edit.kind == "drop":
        d = edit.decision
        return (
            f"dropped the {d.phase.upper()} turn {d.turn} of step {d.step} "
            "(its ops not applied; later ops as logged)"
        )
    if edit.kind == "alternative":
        d = edit.decision
        return (
            f"replaced the {d.phase.upper()} turn {d.turn} of step {d.step} with its "
            f"alternative answer {edit.alternative_id[:12]}"
        )
    if edit.kind == "patch":
        ops = "; ".join(_describe_op(op) for op in edit.patch) or "no operation"
        return f"patched {edit.file}: {ops}"
    return "no edit (memory as logged)"


def parse_edit_flag(text: str) -> tuple[EditKind, str, str]:
    """``drop=ID`` / ``alternative=ID`` / ``patch=FILE:JSON`` → (kind, first, rest)."""
    kind, sep, value = text.partition("=")
    kind = kind.strip()
    if not sep or kind not in ("drop", "alternative", "patch") or not value.strip():
        raise ForkEditError(f"--edit {text!r}: give {EDIT_SHAPES}")
    if kind != "patch":
        return kind, value.strip(), ""  # type: ignore[return-value]
    file, colon, body = value.partition(":")
    if not colon:
        raise ForkEditError(f"--edit {text!r}: a patch is patch=FILE:JSON_PATCH (or FILE:@path)")
    return "patch", file.strip(), body
