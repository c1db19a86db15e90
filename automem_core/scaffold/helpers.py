"""Built-in helpers a scaffold can switch on: warnings, the auto-written status file, reminders.

Everything here is pure: the agent feeds in what it observed and gets text back.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from automem_core.scaffold.spec import Helpers, MemoryFileSpec


@dataclass
class History:
    """The few recent facts the warnings look at; bounded, so long episodes stay cheap."""

    observations: deque[int] = field(default_factory=lambda: deque(maxlen=64))
    positions: deque[object] = field(default_factory=lambda: deque(maxlen=64))

    def record(self, observation_text: str, position: object) -> None:
        self.observations.append(hash(observation_text))
        self.positions.append(position)


def stuck_warning(history: History, after_steps: int) -> str | None:
    """Warn when the observation has not changed for ``after_steps`` steps in a row."""
    obs = list(history.observations)[-after_steps:]
    if len(obs) < after_steps or len(set(obs)) != 1:
        return None
    return (
        f"WARNING: your observation has not changed for {after_steps} steps; "
        "what you are doing has no effect, try something else."
    )


def oscillation_warning(history: History, window: int) -> str | None:
    """Warn when the last ``window`` positions alternate between just two places."""
    pos = list(history.positions)[-window:]
    if len(pos) < window or any(p is None for p in pos):
        return None
    a, b = pos[0], pos[1]
    if a == b:
        return None
    if all(p == (a if i % 2 == 0 else b) for i, p in enumerate(pos)):
        return (
            f"WARNING: you have moved back and forth between two places for {window} steps; "
            "pick a direction and commit to it."
        )
    return None


def render_status(game: str, step: int, facts: Mapping[str, object]) -> str:
    """The auto-written status file: position, vitals, inventory or dungeon level."""
    lines = [f"step: {step}"]
    if game == "crafter":
        lines.append(f"position: {_xy(facts.get('pos'))}")
        for key in ("status", "inventory"):
            value = facts.get(key)
            if isinstance(value, Mapping):
                items = ", ".join(f"{k} {v}" for k, v in value.items() if v)
                lines.append(f"{key}: {items or 'nothing'}")
        achievements = facts.get("achievements")
        if isinstance(achievements, Sequence) and not isinstance(achievements, str):
            lines.append(f"achievements: {', '.join(map(str, achievements)) or 'none yet'}")
    else:
        lines.append(f"position: {_xy(facts.get('pos'))}")
        for key in ("dlvl", "depth", "xp", "time"):
            if key in facts:
                lines.append(f"{key}: {facts[key]}")
        if "hp" in facts:
            lines.append(f"hp: {facts['hp']}/{facts.get('hp_max', '?')}")
    return "\n".join(lines)


def _xy(value: object) -> str:
    if isinstance(value, tuple | list) and len(value) == 2:
        return f"({value[0]},{value[1]})"
    return "unknown"


def size_reminders(
    index: Sequence[tuple[str, int]], specs: Sequence[MemoryFileSpec], threshold: float
) -> list[str]:
    """Remind the agent to summarise agent-written files that are nearly full."""
    caps = {f.name: f for f in specs if f.writer == "agent"}
    out = []
    for name, n_lines in index:
        spec = caps.get(name)
        if spec is not None and n_lines >= threshold * spec.max_lines:
            rule = (
                "oldest lines will be dropped"
                if spec.prune == "drop_oldest"
                else "writes will fail"
            )
            out.append(
                f"REMINDER: {name} has {n_lines}/{spec.max_lines} lines; summarise it ({rule})."
            )
    return out


def collect_warnings(history: History, helpers: Helpers) -> list[str]:
    out = []
    if helpers.stuck_warning.enabled:
        w = stuck_warning(history, helpers.stuck_warning.after_steps)
        if w:
            out.append(w)
    if helpers.oscillation_warning.enabled:
        w = oscillation_warning(history, helpers.oscillation_warning.window)
        if w:
            out.append(w)
    return out
