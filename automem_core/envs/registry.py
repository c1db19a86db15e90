"""Which games exist and how to build them: the built-in adapters plus games registered at run time.

The built-in games (Crafter, MiniHack, NetHack) are listed here as data. Another game (a test's
fake game, a plugin) registers itself with :func:`register_game` when its module is imported;
:func:`plugin_modules` names those modules so worker processes can import them too.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from automem_core.envs.base import EnvConfigError, GameEnv
from automem_core.envs.text_version import TEXT_FORMAT_VERSION

EnvFactory = Callable[[str, int | None], GameEnv]


@dataclass(frozen=True)
class GameEntry:
    tasks: tuple[str, ...]  # the valid task names; the first is the default
    module: str  # where the factory lives (imported on first use, and by worker processes)
    factory_name: str  # the factory in that module: factory(task, max_steps)
    default_scaffold: str | None = None  # when None, the built-in scaffold ``<game>-v0``
    text_format: str = str(TEXT_FORMAT_VERSION)  # version of its observation text

    def factory(self) -> EnvFactory:
        """The factory, imported now (the games' packages are heavy: only a game played pays)."""
        found: EnvFactory = getattr(importlib.import_module(self.module), self.factory_name)
        return found


# The built-in games as data; their modules are imported only when a game is built.
_BUILTIN: dict[str, GameEntry] = {
    "crafter": GameEntry(("default",), "automem_core.envs.crafter_env", "make_crafter"),
    "minihack": GameEntry(
        (
            "MazeWalk-9x9",
            "MazeWalk-15x15",
            "Corridor-R3",
            "CorridorBattle-Dark",
            "Quest-Easy",
            "Quest-Medium",
            "Boxoban-Medium",
            "Boxoban-Hard",
        ),
        "automem_core.envs.minihack_env",
        "make_minihack",
    ),
    "nethack": GameEntry(("NetHackChallenge",), "automem_core.envs.nethack_env", "make_nethack"),
}
_REGISTERED: dict[str, GameEntry] = {}


def register_game(
    game: str,
    tasks: tuple[str, ...],
    factory: EnvFactory,
    default_scaffold: str | None = None,
    text_format: str = "1",
) -> None:
    """Make ``game`` playable; ``tasks`` lists its valid task names (the first is the default);
    ``default_scaffold`` is the scaffold folder used when a run names none."""
    if game in _BUILTIN:
        raise EnvConfigError(f"game {game!r} is built in; register another name")
    _REGISTERED[game] = GameEntry(
        tuple(tasks), factory.__module__, factory.__qualname__, default_scaffold, text_format
    )


def _entry(game: str) -> GameEntry:
    entry = _BUILTIN.get(game) or _REGISTERED.get(game)
    if entry is None:
        raise EnvConfigError(f"unknown game {game!r}; choose one of: {', '.join(games())}")
    return entry


def games() -> tuple[str, ...]:
    """Every playable game: the built-ins and those registered in this process."""
    return tuple(sorted({*_BUILTIN, *_REGISTERED}))


def tasks_of(game: str) -> tuple[str, ...]:
    return _entry(game).tasks


def default_scaffold(game: str) -> str:
    """The scaffold a run of ``game`` uses when it names none."""
    return _entry(game).default_scaffold or f"{game}-v0"


def text_format(game: str) -> str:
    """The version of ``game``'s observation text (runs record it; versions never mix)."""
    return _entry(game).text_format


def plugin_modules(game: str) -> tuple[str, ...]:
    """Modules a fresh process must import before it can build ``game`` (none for built-ins)."""
    return () if game in _BUILTIN else (_entry(game).module,)


def make_env(game: str, task: str | None = None, max_steps: int | None = None) -> GameEnv:
    """Build the adapter for ``game``/``task`` (task defaults to the game's first task)."""
    entry = _entry(game)
    task = task or entry.tasks[0]
    if task not in entry.tasks:
        raise EnvConfigError(
            f"unknown task {task!r} for {game}; choose one of: {', '.join(entry.tasks)}"
        )
    return entry.factory()(task, max_steps)
