"""What the file-writing helpers write: the status file, the inventory file, the action log's
``Step N action 'X': outcome`` lines and the pruning header. Pure functions of the game facts
(``Observation.facts``); the agent runs the writes through the guarded op path."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MESSAGE_CHARS = 80  # the game message quoted in an action-log outcome is cut to this length
# Numeric facts whose changes an outcome reports, in this order.
OUTCOME_NUMBERS: tuple[str, ...] = ("dlvl", "depth", "xp", "hp", "gold")
_PRUNED_RE = re.compile(r"^\[pruned (\d+) oldest lines? at step \d+(?:; (\d+) in all)?\]$")


def _xy(value: object) -> str:
    if isinstance(value, tuple | list) and len(value) == 2:
        return f"({value[0]},{value[1]})"
    return "unknown"


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


def render_inventory(facts: Mapping[str, object]) -> str | None:
    """The inventory file: ``item: count`` lines (Crafter) or the game's ``a: item`` lines
    (NetHack, MiniHack); None when the game gives no inventory."""
    value = facts.get("inventory")
    if isinstance(value, Mapping):
        lines = [f"{k}: {v}" for k, v in value.items() if v]
    elif isinstance(value, Sequence) and not isinstance(value, str):
        lines = [str(v) for v in value]
    else:
        return None
    return "\n".join(lines) or "(nothing carried)"


# --------------------------------------------------------------------------- action log


@dataclass(frozen=True)
class Outcome:
    """What changed between two steps' facts, as the parts of an action-log outcome."""

    position: str  # "moved to (x,y)" / "stayed at (x,y)" / ""
    changes: tuple[str, ...]  # "hp 12->10", "wood 1->2", "unlocked collect_wood", …
    message: str
    unchanged: bool  # the observation text came back the same

    @property
    def moved_only(self) -> bool:
        """A routine move: the position changed and nothing else did."""
        return self.position.startswith("moved") and not (self.changes or self.message)

    def render(self) -> str:
        parts = ["nothing changed"] if self.unchanged else []
        if self.position:
            parts.append(self.position)
        parts += self.changes
        if self.message:
            parts.append(f'"{self.message}"')
        return "; ".join(parts) or "no visible effect"


def _counts(value: object) -> dict[str, int] | None:
    if isinstance(value, Mapping):
        return {str(k): int(v) for k, v in value.items() if isinstance(v, int | float)}
    return None


def _lines(value: object) -> list[str] | None:
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [str(v) for v in value]
    return None


def _changes(before: Mapping[str, object], after: Mapping[str, object]) -> list[str]:
    out = []
    for key in OUTCOME_NUMBERS:
        a, b = before.get(key), after.get(key)
        if a is not None and b is not None and a != b:
            out.append(f"{key} {a}->{b}")
    for key in ("status", "inventory"):
        old, new = _counts(before.get(key)), _counts(after.get(key))
        if old is None or new is None:
            continue
        for item in dict.fromkeys([*old, *new]):
            if old.get(item, 0) != new.get(item, 0):
                out.append(f"{item} {old.get(item, 0)}->{new.get(item, 0)}")
    old_items, new_items = _lines(before.get("inventory")), _lines(after.get("inventory"))
    if old_items is not None and new_items is not None:
        out += [f"now {line}" for line in new_items if line not in old_items]
        out += [f"no longer {line}" for line in old_items if line not in new_items]
    old_ach, new_ach = _lines(before.get("achievements")), _lines(after.get("achievements"))
    if old_ach is not None and new_ach is not None:
        out += [f"unlocked {a}" for a in new_ach if a not in old_ach]
    return out


def describe_outcome(
    before: Mapping[str, object], after: Mapping[str, object], unchanged: bool
) -> Outcome:
    """The outcome of one action from the facts before and after it."""
    pos_before, pos_after = before.get("pos"), after.get("pos")
    position = ""
    if pos_after is not None:
        verb = "moved to" if pos_before is not None and pos_after != pos_before else "stayed at"
        position = f"{verb} {_xy(pos_after)}"
    message = str(after.get("message") or "").strip().split("\n")[0].strip()
    if len(message) > MESSAGE_CHARS:
        message = message[: MESSAGE_CHARS - 1] + "…"
    return Outcome(position, tuple(_changes(before, after)), message, unchanged)


def action_log_line(step: int, action: str, outcome: Outcome) -> str:
    """``Step N action 'X': outcome``, N being the step the action was played at."""
    flat = " ".join(action.split())
    return f"Step {step} action '{flat}': {outcome.render()}"


# --------------------------------------------------------------------------- pruning


@dataclass(frozen=True)
class Prune:
    """Drop ``count`` first lines (an old header among them) and put ``header`` first."""

    count: int
    header: str


def plan_prune(lines: Sequence[str], trigger: int, keep: int, step: int) -> Prune | None:
    """The prune that brings a file of ``lines`` past ``trigger`` lines back to ``keep`` lines
    (the header included), or None while it is short enough."""
    if len(lines) <= trigger:
        return None
    earlier = 0
    old_header = _PRUNED_RE.match(lines[0]) if lines else None
    if old_header is not None:
        earlier = int(old_header.group(2) or old_header.group(1))
    body = len(lines) - (1 if old_header else 0)
    dropped = body - max(0, keep - 1)
    if dropped <= 0:
        return None
    total = f"; {earlier + dropped} in all" if earlier else ""
    word = "line" if dropped == 1 else "lines"
    header = f"[pruned {dropped} oldest {word} at step {step}{total}]"
    return Prune(dropped + (1 if old_header else 0), header)
