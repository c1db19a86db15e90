"""Crafter behind the ``GameEnv`` interface: reproducible worlds, BALROG text, small PNG frames."""

from __future__ import annotations

import copy as copying
import functools
import io
from typing import Any

import numpy as np

from automem_core.envs import crafter_engine
from automem_core.envs.base import (
    EnvConfigError,
    Frame,
    GameEnv,
    Observation,
    Outcome,
)
from automem_core.envs.crafter_text import ITEM_NAMES, VITALS, view_window, write_crafter_text
from automem_core.envs.progression import crafter_progression

DEFAULT_MAX_STEPS = 2000
FRAME_SIZE: tuple[int, int] = (96, 96)
# In crafter's action index order (noop, move_left, move_right, move_up, move_down, do, ...).
ACTION_NAMES: tuple[str, ...] = (
    "Noop",
    "Move West",
    "Move East",
    "Move North",
    "Move South",
    "Do",
    "Sleep",
    "Place Stone",
    "Place Table",
    "Place Furnace",
    "Place Plant",
    "Make Wood Pickaxe",
    "Make Stone Pickaxe",
    "Make Iron Pickaxe",
    "Make Wood Sword",
    "Make Stone Sword",
    "Make Iron Sword",
)
_FIXED_DESCRIPTIONS: dict[str, str] = {
    "Noop": "do nothing",
    "Move West": "move west on flat ground",
    "Move East": "move east on flat ground",
    "Move North": "move north on flat ground",
    "Move South": "move south on flat ground",
    "Do": "interact with what you face: collect material, drink water, eat, or hit a creature",
    "Sleep": "sleep when energy is below maximum",
}


def _uses(needs: dict[str, int]) -> str:
    return ", ".join(f"{n} {item}" for item, n in needs.items())


def action_descriptions(place: dict[str, Any], make: dict[str, Any]) -> dict[str, str]:
    """One line per action; crafting costs come from crafter's own rule tables."""
    described = dict(_FIXED_DESCRIPTIONS)
    for name in ACTION_NAMES[7:]:
        verb, _, item = name.lower().partition(" ")
        key = item.replace(" ", "_")
        if verb == "place":
            rule = place[key]
            described[name] = f"place a {item} in front of you (uses {_uses(rule['uses'])})"
        else:
            rule = make[key]
            near = " and ".join(rule["nearby"])
            article = "an" if item[0] in "aeiou" else "a"
            described[name] = (
                f"craft {article} {item} next to a {near} (uses {_uses(rule['uses'])})"
            )
    return {name: described[name] for name in ACTION_NAMES}


@functools.cache
def _crafter_class() -> type[Any]:
    """A ``crafter.Env`` whose trajectories depend only on the seed and the actions."""
    try:
        import crafter
    except ImportError as exc:  # pragma: no cover - crafter is a core dependency
        raise EnvConfigError("crafter is not installed; run: pip install crafter==1.8.3") from exc

    world_class = crafter_engine.fast_world_class()

    class ReproducibleCrafter(crafter.Env):  # type: ignore[misc]
        """crafter's game, its hot paths replaced by ``crafter_engine``'s (same results)."""

        def __init__(self, area: Any = (64, 64), view: Any = (9, 9), size: Any = (64, 64),
                     reward: bool = True, length: int = 10000, seed: int = 0) -> None:  # fmt: skip
            # crafter.Env.__init__'s attributes, with textures read when a frame needs them.
            from crafter import engine, objects

            self._area, self._view, self._size = area, np.array(view), np.array(size)
            self._reward, self._length, self._seed, self._episode = reward, length, seed, 0
            self._world = world_class(area, crafter.constants.materials, (12, 12))
            self._textures = crafter_engine.shared_textures()
            item_rows = int(np.ceil(len(crafter.constants.items) / self._view[0]))
            self._local_view = engine.LocalView(
                self._world, self._textures, [self._view[0], self._view[1] - item_rows]
            )
            self._item_view = engine.ItemView(self._textures, [self._view[0], item_rows])
            kinds = [objects.Player, objects.Cow, objects.Zombie, objects.Skeleton]
            kinds += [objects.Arrow, objects.Plant]
            self._object_ids = {kind: len(self._world._mat_ids) + i for i, kind in enumerate(kinds)}
            self._sem_view = functools.partial(
                crafter_engine.semantic_view, self._world, self._object_ids
            )
            self._step: int | None = None
            self._player: Any = None
            self._last_health: Any = None
            self._unlocked: set[str] | None = None
            self.reward_range = self.metadata = None
            # Night-time noise in the picture draws random numbers; keep them off the game's RNG
            # so that drawing (or not drawing) a frame never changes the world.
            self._frame_random = np.random.RandomState(self._seed % (2**32))

        def reseed(self, seed: int) -> None:
            """Make the next ``reset()`` start the world a new ``ReproducibleCrafter(seed=seed)``
            would (``World.reset`` rebuilds all of it)."""
            self._seed = seed
            self._episode = 0
            self._frame_random = np.random.RandomState(seed % (2**32))

        def reset(self) -> None:
            center = (self._world.area[0] // 2, self._world.area[1] // 2)
            self._episode += 1
            self._step = 0
            self._world.reset(seed=hash((self._seed, self._episode)) % (2**31 - 1))
            self._update_time()
            self._player = crafter.objects.Player(self._world, center)
            self._last_health = self._player.health
            self._world.add(self._player)
            self._unlocked = set()
            crafter_engine.generate_world(self._world, self._player)

        def step(self, action: int) -> tuple[None, float, bool, dict[str, Any]]:
            """crafter's step; ``info`` leaves out crafter's ``semantic`` (``_sem_view()`` draws
            it; the text draws only its window, ``crafter_engine.local_semantic``)."""
            self._step = (self._step or 0) + 1
            self._update_time()
            self._player.action = crafter.constants.actions[action]
            crafter_engine.update_near(self)
            if self._step % 10 == 0:
                crafter_engine.balance_chunks(self)
            player = self._player
            reward = (player.health - self._last_health) / 10
            self._last_health = player.health
            assert self._unlocked is not None
            unlocked = {
                name
                for name, count in player.achievements.items()
                if count > 0 and name not in self._unlocked
            }
            if unlocked:
                self._unlocked |= unlocked
                reward += 1.0
            dead = player.health <= 0
            done = dead or bool(self._length and self._step >= self._length)
            info = {
                "inventory": player.inventory.copy(),
                "achievements": player.achievements.copy(),
                "discount": 1 - float(dead),
                "player_pos": player.pos,
                "reward": reward,
            }
            return None, reward if self._reward else 0.0, done, info

        def render_frame(self, size: tuple[int, int]) -> Any:
            game_random = self._world.random
            self._world.random = self._frame_random
            try:
                return self.render(size)
            finally:
                self._world.random = game_random

    crafter_engine.install()
    same_actions = list(crafter.constants.actions) == [_crafter_action(n) for n in ACTION_NAMES]
    same_ids = ["None", *crafter.constants.materials] == list(ITEM_NAMES[:13])
    if not (same_actions and same_ids):
        raise EnvConfigError("this crafter release differs from 1.8.3; install crafter==1.8.3")
    return ReproducibleCrafter


def _crafter_action(name: str) -> str:
    moves = {"Move West": "move_left", "Move East": "move_right"}
    moves |= {"Move North": "move_up", "Move South": "move_down"}
    return moves.get(name, name.lower().replace(" ", "_"))


def encode_png(pixels: Any) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8)).save(
        buffer, format="PNG", compress_level=1
    )
    return buffer.getvalue()


class CrafterEnv:
    """One Crafter episode at a time; a fresh world per ``reset(seed)``."""

    game = "crafter"

    def __init__(self, task: str = "default", max_steps: int | None = None) -> None:
        self.task = task
        self.default_action = "Noop"
        self.max_steps = max_steps or DEFAULT_MAX_STEPS
        self._cls = _crafter_class()
        import crafter

        self._actions = action_descriptions(crafter.constants.place, crafter.constants.make)
        self._index = {name: i for i, name in enumerate(ACTION_NAMES)}
        self._env: Any = None
        self._steps = 0
        self._unlocked: set[str] = set()
        self._done = True
        self.replaying = False  # on: frames are left empty (a fork's replay; envs/base.py)

    def actions(self) -> dict[str, str]:
        return dict(self._actions)

    def reset(self, seed: int) -> Observation:
        # One more game step than agent steps: BALROG's reset() ends with a no-op step, and the
        # first observation is the one after it.
        if self._env is None:
            self._env = self._cls(seed=int(seed), length=self.max_steps + 1)
        else:
            self._env.reseed(int(seed))
        self._env.reset()
        self._env.step(ACTION_NAMES.index("Noop"))
        self._steps = 0
        self._unlocked = set()
        self._done = False
        return self._observe()

    def step(self, action: str) -> Outcome:
        if action not in self._index:
            raise ValueError(f"unknown Crafter action {action!r}")
        if self._env is None or self._done:
            raise RuntimeError("the episode is over; call reset(seed) first")
        _, reward, done, _ = self._env.step(self._index[action])
        self._steps += 1
        player = self._env._player
        reached = {k for k, n in player.achievements.items() if n > 0}
        new = sorted(reached - self._unlocked)
        self._unlocked |= reached
        dead = player.health <= 0
        truncated = not dead and self._steps >= self.max_steps
        self._done = bool(done) or truncated
        info: dict[str, object] = {"unlocked": new, "dead": dead, "truncated": truncated}
        observation = self._observe()
        return Outcome(observation, float(reward), self._done, self.progression(), info)

    def progression(self) -> float:
        return crafter_progression(self._unlocked)

    def copy(self) -> CrafterEnv:
        """An independent copy of the game as it is now (the textures, read only, shared)."""
        textures = getattr(self._env, "_textures", None)
        return copying.deepcopy(self, {id(textures): textures} if textures is not None else {})

    def close(self) -> None:
        self._env = None

    def _observe(self) -> Observation:
        player = self._env._player
        pos = (int(player.pos[0]), int(player.pos[1]))
        facing = (int(player.facing[0]), int(player.facing[1]))
        inventory = {k: int(v) for k, v in player.inventory.items()}
        game = self._env
        view, at = crafter_engine.local_semantic(
            game._world, game._object_ids, pos, view_window(pos)
        )
        text = write_crafter_text(
            view, at, facing, inventory, sleeping=bool(player.sleeping), dead=player.health <= 0
        )
        pixels = None if self.replaying else self._env.render_frame(FRAME_SIZE)
        frame = Frame("png", encode_png(pixels) if pixels is not None else b"")
        facts: dict[str, object] = {
            "pos": pos,
            "step": self._steps,
            "status": {k: inventory[k] for k in VITALS},
            "inventory": {k: n for k, n in inventory.items() if k not in VITALS and n > 0},
            "achievements": sorted(self._unlocked),
        }
        return Observation(text, frame, facts)


def make_crafter(task: str, max_steps: int | None) -> GameEnv:
    return CrafterEnv(task, max_steps)
