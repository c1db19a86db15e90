"""Warning helpers: unchanged observations, stuck, oscillation, files nearly full.

Pure: the agent feeds in what it observed and gets the warning lines back.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from automem_core.scaffold.spec import Helpers, MemoryFileSpec

HISTORY = 64  # observations and positions kept; warnings look back at most this far


@dataclass
class History:
    """The few recent facts the warnings look at; bounded, so long episodes stay cheap."""

    observations: deque[int] = field(default_factory=lambda: deque(maxlen=HISTORY))
    positions: deque[object] = field(default_factory=lambda: deque(maxlen=HISTORY))

    def record(self, observation_text: str, position: object) -> None:
        self.observations.append(hash(observation_text))
        self.positions.append(position)

    @property
    def repeats(self) -> int:
        """How many steps in a row the observation came back the same (0: it changed)."""
        obs = list(self.observations)
        n = 0
        while n + 1 < len(obs) and obs[-1 - n] == obs[-2 - n]:
            n += 1
        return n


def unchanged_observation_notice(
    repeats: int, stuck_after: int, previous_action: str | None = None
) -> str | None:
    """The paper's notice: a warning after one unchanged observation, a STUCK warning once the
    observation has come back the same ``stuck_after`` times in a row."""
    if repeats < 1:
        return None
    if repeats >= stuck_after:
        return (
            f"WARNING: STUCK: your observation has not changed for {repeats} steps in a row; "
            "what you are doing has no effect, try something else."
        )
    action = f" ('{previous_action}')" if previous_action else ""
    times = f" ({repeats} times in a row)" if repeats > 1 else ""
    return (
        f"WARNING: the observation did not change after your last action{action}{times}; "
        "it may have had no effect."
    )


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


def size_reminders(
    index: Sequence[tuple[str, int]], specs: Sequence[MemoryFileSpec], threshold: float
) -> list[str]:
    """Remind the agent to summarise agent-written files that are nearly full (files without
    a line cap are never full)."""
    caps = {f.name: f for f in specs if f.writer == "agent" and f.max_lines is not None}
    out = []
    for name, n_lines in index:
        spec = caps.get(name)
        if spec is None or spec.max_lines is None or n_lines < threshold * spec.max_lines:
            continue
        rule = "oldest lines will be dropped" if spec.prune == "drop_oldest" else "writes will fail"
        out.append(f"REMINDER: {name} has {n_lines}/{spec.max_lines} lines; summarise it ({rule}).")
    return out


def collect_warnings(
    history: History, helpers: Helpers, previous_action: str | None = None
) -> list[str]:
    """The warnings the enabled helpers give for ``history`` (this step's observation last)."""
    out = []
    if helpers.unchanged_observation.enabled:
        cfg = helpers.unchanged_observation
        w = unchanged_observation_notice(history.repeats, cfg.stuck_after, previous_action)
        if w:
            out.append(w)
    if helpers.stuck_warning.enabled:
        w = stuck_warning(history, helpers.stuck_warning.after_steps)
        if w:
            out.append(w)
    if helpers.oscillation_warning.enabled:
        w = oscillation_warning(history, helpers.oscillation_warning.window)
        if w:
            out.append(w)
    return out
