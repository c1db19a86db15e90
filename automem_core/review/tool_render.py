"""How the reviewer's tools write what they read: a step's summary line, a turn with its
prompt and completion, a memory operation; and what an answer never shows: the machine's
paths, or a long value the model sent."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from automem_core.review.sql_render import render_cell

SNIPPET_CHARS = 160  # of each ``search`` hit
ECHO_CHARS = 80  # of a value the model sent, when an answer repeats it


def step_summary(row: Mapping[str, Any]) -> str:
    valid = "" if row["action_valid"] else f" (invalid: asked {row['raw_action']!r})"
    warnings = "; ".join(row["warnings"]) or "-"
    return (
        f"step {row['step']} | action: {row['action']}{valid} | reward: {row['reward']:g} | "
        f"progression: {row['progression']:g} | warnings: {warnings}"
    )


def render_turn(turn: Mapping[str, Any], full_prompts: bool) -> str:
    head = (
        f"── {turn['phase'].upper()} turn {turn['turn']} ({turn['client']}; "
        f"{turn['tokens_in']} tokens in, {turn['tokens_out']} out"
    )
    head += f"; {turn['retries']} retries" if turn["retries"] else ""
    lines = [head + ") ──", "prompt:"]
    for message in json.loads(turn["messages_json"]):
        role, content = message.get("role", "?"), str(message.get("content") or "")
        if role == "system" and not full_prompts:
            lines.append(f"[system: {len(content)} chars, not shown; full_prompts=true shows it]")
        else:
            lines += [f"[{role}]", content]
    lines += ["completion:", turn["completion"]]
    if turn["parse_errors"]:
        lines.append(f"parse errors: {'; '.join(turn['parse_errors'])}")
    if turn["error"]:
        lines.append(f"call failed: {turn['error']}")
    return "\n".join(lines)


def render_op(op: Mapping[str, Any]) -> str:
    status = "ok" if op["ok"] else "FAILED"
    args = " | ".join(render_cell(a, 200) for a in op["args"])
    result = "\n    ".join(str(op["result"]).splitlines())
    return f"  #{op['seq']} {op['phase']} {op['kind']} {args} [{status}]\n    {result}"


def private_paths(root: Path) -> list[tuple[str, str]]:
    """What an answer must not show, longest first: the store's absolute path and the home
    directory."""
    pairs = {str(root.resolve()): "<store>", str(root.absolute()): "<store>"}
    try:
        home = str(Path.home())
    except (RuntimeError, KeyError):  # no home directory to hide
        home = ""
    if len(home) > 1:
        pairs.setdefault(home, "~")
    return sorted(pairs.items(), key=lambda pair: len(pair[0]), reverse=True)


def echo(value: object, chars: int = ECHO_CHARS) -> str:
    """A value the model sent, short and on one line, for an answer that repeats it."""
    return render_cell(value if isinstance(value, str) else repr(value), chars)
