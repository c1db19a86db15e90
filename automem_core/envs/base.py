"""The one interface every game adapter offers, and the registry that builds them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

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


class EnvConfigError(ValueError):
    """A game or task name that cannot be built, with the fix in the message."""


EnvFactory = Callable[[str, int | None], GameEnv]
_REGISTRY: dict[str, EnvFactory] = {}
_TASKS: dict[str, tuple[str, ...]] = {}


def register_game(game: str, tasks: tuple[str, ...]) -> Callable[[EnvFactory], EnvFactory]:
    """Register ``factory(task, max_steps)`` for ``game``; ``tasks`` lists the valid task names."""

    def wrap(factory: EnvFactory) -> EnvFactory:
        _REGISTRY[game] = factory
        _TASKS[game] = tasks
        return factory

    return wrap


def games() -> tuple[str, ...]:
    _load_builtin_games()
    return tuple(sorted(_REGISTRY))


def tasks_of(game: str) -> tuple[str, ...]:
    _load_builtin_games()
    if game not in _TASKS:
        raise EnvConfigError(f"unknown game {game!r}; choose one of: {', '.join(games())}")
    return _TASKS[game]


def make_env(game: str, task: str | None = None, max_steps: int | None = None) -> GameEnv:
    """Build the adapter for ``game``/``task`` (task defaults to the game's first task)."""
    valid = tasks_of(game)
    task = task or valid[0]
    if task not in valid:
        raise EnvConfigError(f"unknown task {task!r} for {game}; choose one of: {', '.join(valid)}")
    return _REGISTRY[game](task, max_steps)


def _load_builtin_games() -> None:
    # Importing the adapters registers them; heavy game imports stay inside their factories.
    from automem_core.envs import crafter_env, minihack_env, nethack_env  # noqa: F401
