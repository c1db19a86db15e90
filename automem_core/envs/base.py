"""The one interface every game adapter offers (``registry.py`` knows which games exist)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from automem_core.errors import AutoMemError

FrameKind = Literal["png", "tty"]


@dataclass(frozen=True)
class Frame:
    """What the replay draws for one step.

    ``png``: encoded PNG bytes (Crafter). ``tty``: 24×80 characters followed by 24×80 colour
    codes, one byte each (NetHack / MiniHack), rendered as coloured monospace text.
    """

    kind: FrameKind
    data: bytes


@dataclass(frozen=True)
class Observation:
    """What the agent sees after a reset or a step."""

    text: str  # BALROG-format text observation given to the LLM
    frame: Frame
    # Facts the built-in helpers may use (position, status, inventory); never shown raw to the LLM.
    facts: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """The result of one game action."""

    observation: Observation
    reward: float
    done: bool
    progression: float  # the episode's progression so far, 0–1
    info: dict[str, object] = field(default_factory=dict)


class GameEnv(Protocol):
    """One game adapter: Crafter, a MiniHack task or NetHack."""

    game: str
    task: str
    default_action: str
    max_steps: int

    def actions(self) -> dict[str, str]:
        """Action name → one-line description, in a stable order."""
        ...

    def reset(self, seed: int) -> Observation: ...

    def step(self, action: str) -> Outcome:
        """Apply a *valid* action name (the agent validates first)."""
        ...

    def progression(self) -> float: ...

    def close(self) -> None: ...


def set_replaying(env: GameEnv, on: bool) -> None:
    """Tell a game whether its observations are only being checked (a fork's replay), where the
    game offers the switch (``replaying``): it may then leave out what a replay does not check,
    the frame (Crafter's picture costs more than its step) and the facts other than ``pos``.
    The text is always whole. A game without the switch observes as always."""
    if hasattr(env, "replaying"):
        env.replaying = on


def copy_game(env: GameEnv) -> GameEnv | None:
    """An independent copy of the game as it is now, where the adapter can make one (``copy``:
    Crafter); None where it cannot (NLE's state lives in C and cannot be copied: such a game is
    rebuilt by replaying its actions). A fork sweep keeps copies as checkpoints."""
    copy = getattr(env, "copy", None)
    return copy() if callable(copy) else None


class EnvConfigError(AutoMemError, ValueError):
    """A game or task name that cannot be built, with the fix in the message."""
