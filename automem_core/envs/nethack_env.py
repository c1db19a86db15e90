"""The full game, ``NetHackChallenge-v0``, behind the ``GameEnv`` interface.

A random character; ``--More--`` skipped for the agent; the episode ends when in-game time has
not moved for 150 agent steps, or at the step cap.
"""

from __future__ import annotations

from typing import Any

from automem_core.envs.base import EnvConfigError, GameEnv
from automem_core.envs.nle_env import (
    BL_DEPTH,
    BL_TIME,
    BL_XP,
    MOVEMENT_NAMES,
    OBSERVATION_KEYS,
    NLEAdapter,
    make_registered,
)
from automem_core.envs.progression import nethack_progression
from automem_core.envs.registry import tasks_of

TASKS: tuple[str, ...] = tasks_of("nethack")
DEFAULT_MAX_STEPS = 100_000
NO_PROGRESS_TIMEOUT = 150
# BALROG's NetHack action names; the letters a–z / A–Z come on top for prompts and menus.
ACTION_NAMES: tuple[str, ...] = (
    *MOVEMENT_NAMES,
    "annotate",
    "apply",
    "call",
    "cast",
    "close",
    "open",
    "dip",
    "drop",
    "droptype",
    "eat",
    "esc",
    "engrave",
    "enhance",
    "fire",
    "fight",
    "force",
    "inventory",
    "invoke",
    "jump",
    "kick",
    "look",
    "loot",
    "monster",
    "offer",
    "pay",
    "pickup",
    "pray",
    "puton",
    "quaff",
    "quiver",
    "read",
    "remove",
    "rub",
    "search",
    "swap",
    "takeoff",
    "takeoffall",
    "teleport",
    "throw",
    "travel",
    "twoweapon",
    "untrap",
    "wear",
    "wield",
    "wipe",
    "zap",
    "minus",
    "space",
    "apos",
    *(str(d) for d in range(10)),
)


def build_nethack() -> Any:
    """The unwrapped ``NetHackChallenge-v0`` environment with the observations we read."""
    try:
        import nle  # noqa: F401  (registers the NetHack environments)
    except ImportError as exc:
        raise EnvConfigError(
            f"NLE cannot be imported ({exc}); run: pip install nle==1.3.0"
        ) from exc
    return make_registered(
        "NetHackChallenge-v0",
        observation_keys=OBSERVATION_KEYS,
        character="@",
        max_episode_steps=10**12,  # the adapter counts agent steps itself
        no_progress_timeout=10**12,  # likewise (NLE would also count --More-- presses)
        savedir=None,
        save_ttyrec_every=0,
        fix_moon_phase=True,
    )


class NetHackEnv(NLEAdapter):
    """NetHack; progression from the deepest level and highest experience level reached."""

    game = "nethack"

    def __init__(self, task: str = "NetHackChallenge", max_steps: int | None = None) -> None:
        super().__init__(build_nethack(), task, max_steps or DEFAULT_MAX_STEPS, "esc")
        self._set_actions(ACTION_NAMES, letters=True)
        self._depth_max = 1
        self._xp_max = 1
        self._time = -1
        self._still = 0

    def _seed_game(self, core: int, disp: int) -> None:
        # NetHackChallenge refuses env.seed(); the game object underneath accepts seeds.
        self._env.nethack._pynethack.set_initial_seeds(core, disp, False, None)

    def _begin(self, obs: dict[str, Any]) -> None:
        self._depth_max, self._xp_max = 1, 1
        self._time, self._still = int(obs["blstats"][BL_TIME]), 0
        self._track(obs)

    def _track(self, obs: dict[str, Any]) -> None:
        bl = obs["blstats"]
        self._depth_max = max(self._depth_max, int(bl[BL_DEPTH]))
        self._xp_max = max(self._xp_max, int(bl[BL_XP]))

    def _record(self, obs: dict[str, Any], done: bool, info: dict[str, Any]) -> str | None:
        self._track(obs)
        time = int(obs["blstats"][BL_TIME])
        self._still = self._still + 1 if time == self._time else 0
        self._time = time
        return "no progress" if self._still >= NO_PROGRESS_TIMEOUT else None

    def progression(self) -> float:
        return nethack_progression(self._depth_max, self._xp_max)


def make_nethack(task: str, max_steps: int | None) -> GameEnv:
    return NetHackEnv(task, max_steps)
