"""Rendering a scaffold's prompt templates into chat messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from string import Template

from automem_core.scaffold.spec import OP_DEFAULT_HELP, OP_SYNTAX, MemoryFileSpec, ScaffoldSpec
from automem_core.scaffold.value import Scaffold

GAME_TITLES = {"crafter": "Crafter", "minihack": "MiniHack", "nethack": "NetHack"}
HELPER_WRITTEN = "written automatically, read-only for you"


def file_notes(spec: ScaffoldSpec, f: MemoryFileSpec) -> list[str]:
    """What the system prompt says about one file: its format, keys, who writes it, what the
    helpers do with it, and its line cap (none said where it has none)."""
    helpers = spec.helpers
    notes = [f"format: {f.line_format}"] if f.line_format else []
    if f.keyed:
        notes.append("keyed: use UPSERT with the key")
    if f.name == spec.map_file and "UPSERT_MAP" in spec.ops:
        notes.append("UPSERT_MAP x,y writes the line of that position")
    if f.writer == "helper":
        notes.append(HELPER_WRITTEN)
    if helpers.status_file.enabled and f.name == helpers.status_file.file:
        notes.append("rewritten every step")
    if helpers.inventory_file.enabled and f.name == helpers.inventory_file.file:
        notes.append("rewritten from the game every step")
    if helpers.action_log.enabled and f.name == helpers.action_log.file:
        notes.append("the engine appends Step N action 'X': outcome after every action")
    if helpers.pruning.enabled and f.name in helpers.pruning.files:
        p = helpers.pruning
        notes.append(
            f"past {p.trigger_lines} lines the oldest are dropped down to {p.keep_lines}, "
            "under a first line saying so"
        )
    if f.name == helpers.plan_injection.file:
        notes.append("shown in every PLAN prompt")
    if f.name == helpers.goals_file.file:
        notes.append("your goals, shown in every PLAN prompt; keep them current")
    if f.name == helpers.plan_tail.file:
        notes.append(f"its last {helpers.plan_tail.lines} lines are shown in every PLAN prompt")
    if f.max_lines is not None:
        notes.append(f"max {f.max_lines} lines")
    return notes


def render_system(scaffold: Scaffold, actions: Mapping[str, str]) -> str:
    spec = scaffold.spec
    ops = [f"{OP_SYNTAX[op]}  {spec.op_help.get(op, OP_DEFAULT_HELP[op])}" for op in spec.ops] + [
        "<|DONE|>  end the LOG phase",
        "<|ACTION|>action name<|END|>  commit a game action (PLAN)",
    ]
    files = []
    for f in spec.files:
        notes = file_notes(spec, f)
        files.append(f"- {f.name}: {f.purpose}" + (f" ({'; '.join(notes)})" if notes else ""))
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
