"""Rendering a scaffold's prompt templates into chat messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from string import Template

from automem_core.scaffold.spec import OP_DEFAULT_HELP, OP_SYNTAX
from automem_core.scaffold.value import Scaffold

GAME_TITLES = {"crafter": "Crafter", "minihack": "MiniHack", "nethack": "NetHack"}


def render_system(scaffold: Scaffold, actions: Mapping[str, str]) -> str:
    spec = scaffold.spec
    ops = [f"{OP_SYNTAX[op]}  {spec.op_help.get(op, OP_DEFAULT_HELP[op])}" for op in spec.ops] + [
        "<|DONE|>  end the LOG phase",
        "<|ACTION|>action name<|END|>  commit a game action (PLAN)",
    ]
    files = []
    for f in spec.files:
        extra = [f"format: {f.line_format}"] if f.line_format else []
        if f.keyed:
            extra.append("keyed: use UPSERT with the key")
        if f.writer == "helper":
            extra.append("written automatically, read-only for you")
        extra.append(f"max {f.max_lines} lines")
        files.append(f"- {f.name}: {f.purpose} ({'; '.join(extra)})")
    return Template(scaffold.prompts["system"]).safe_substitute(
        game_title=GAME_TITLES.get(spec.game, spec.game),
        game_intro=spec.description,
        ops_help="\n".join(ops),
        files_help="\n".join(files),
        actions_help="\n".join(f"- {name}: {desc}" for name, desc in actions.items()),
    )


def render_file_index(index: Sequence[tuple[str, int]]) -> str:
    return "\n".join(f"- {name} ({n} lines)" for name, n in index) or "(no files)"


def render_warnings(warnings: Sequence[str]) -> str:
    return "".join(f"{w}\n" for w in warnings)


def render_phase(scaffold: Scaffold, phase: str, values: Mapping[str, object]) -> str:
    """Fill the ``phase`` template (log / plan / action); unknown placeholders stay as written."""
    return Template(scaffold.prompts[phase]).safe_substitute({k: str(v) for k, v in values.items()})
