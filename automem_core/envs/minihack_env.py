"""MiniHack tasks behind the ``GameEnv`` interface (BALROG's settings: 100 steps, −0.01 a step)."""

from __future__ import annotations

import os
import random
import sys
from typing import Any

from automem_core.envs.base import EnvConfigError, GameEnv
from automem_core.envs.nle_env import (
    ITEM_COMMANDS,
    MOVEMENT_NAMES,
    OBSERVATION_KEYS,
    NLEAdapter,
    make_registered,
)
from automem_core.envs.progression import minihack_progression
from automem_core.envs.registry import tasks_of

TASKS: tuple[str, ...] = tasks_of("minihack")
DEFAULT_MAX_STEPS = 100
STEP_PENALTY = -0.01
TASK_SUCCESSFUL = 2  # NetHackStaircase.StepStatus.TASK_SUCCESSFUL, MiniHack's success status
# BALROG's MiniHack action names (plus esc for menus); each is offered where the task has it.
ACTION_NAMES: tuple[str, ...] = (
    *MOVEMENT_NAMES,
    "esc",
    "apply",
    "close",
    "open",
    "eat",
    "force",
    "kick",
    "loot",
    "pickup",
    "pray",
    "puton",
    "quaff",
    "search",
    "zap",
)
BOXOBAN_FETCH = f"{sys.executable} -m minihack.scripts.download_boxoban_levels"


def gym_id(task: str) -> str:
    return f"MiniHack-{task}-v0"


def _import_minihack() -> Any:
    try:
        import minihack
    except ImportError as exc:
        raise EnvConfigError(
            f"MiniHack cannot be imported ({exc}); run: pip install minihack==1.0.2 'setuptools<82'"
        ) from exc
    return minihack


def check_boxoban_levels() -> None:
    """Raise a one-line ``EnvConfigError`` with the fetch command when the levels are missing."""
    from minihack.envs import boxohack

    path = boxohack.LEVELS_PATH
    if not (os.path.isdir(path) and os.listdir(path)):
        raise EnvConfigError(
            f"MiniHack Boxoban levels are missing ({path}); fetch them with: {BOXOBAN_FETCH}"
        )


def build_minihack(task: str) -> Any:
    """The unwrapped MiniHack environment for ``task``, with the observations we read."""
    _import_minihack()
    if task.startswith("Boxoban"):
        check_boxoban_levels()
    kwargs: dict[str, Any] = dict(
        observation_keys=OBSERVATION_KEYS,
        character="@",
        autopickup=False,
        penalty_mode="constant",
        penalty_step=STEP_PENALTY,
        penalty_time=0.0,
        max_episode_steps=10**9,  # the adapter counts agent steps itself
        savedir=None,
        save_ttyrec_every=0,
        fix_moon_phase=True,
    )
    try:
        return make_registered(gym_id(task), **kwargs)
    except ModuleNotFoundError as exc:  # Boxoban reports missing levels this way
        raise EnvConfigError(f"{gym_id(task)}: {exc}; fetch levels with: {BOXOBAN_FETCH}") from exc


class MiniHackEnv(NLEAdapter):
    """One MiniHack task; success (the task's own end status) is the progression."""

    game = "minihack"

    def __init__(self, task: str, max_steps: int | None = None) -> None:
        super().__init__(build_minihack(task), task, max_steps or DEFAULT_MAX_STEPS, "north")
        keys = {int(a) for a in self._env.actions}
        self._set_actions(ACTION_NAMES, letters=bool(keys & ITEM_COMMANDS))
        self._success = False
        self._seed_core = 0
        if task.startswith("Boxoban"):
            # NLE 1.3's reset asks for the end status before BoxoHack has set its goals.
            self._env._goal_pos_set = set()

    def _seed_game(self, core: int, disp: int) -> None:
        self._env.seed(core, disp, reseed=False)
        self._seed_core = core

    def _reset_game(self) -> dict[str, Any]:
        if not self.task.startswith("Boxoban"):
            return super()._reset_game()
        # Boxoban draws its level with Python's global `random`; draw it from the seed instead.
        state = random.getstate()
        random.seed(self._seed_core)
        try:
            return super()._reset_game()
        finally:
            random.setstate(state)

    def _begin(self, obs: dict[str, Any]) -> None:
        self._success = False

    def _record(self, obs: dict[str, Any], done: bool, info: dict[str, Any]) -> str | None:
        if done and int(info.get("end_status", 0)) == TASK_SUCCESSFUL:
            self._success = True
        return None

    def progression(self) -> float:
        return minihack_progression(self._success)


def make_minihack(task: str, max_steps: int | None) -> GameEnv:
    return MiniHackEnv(task, max_steps)
