"""crafter_engine's rewrites against crafter's own code: the same world after every step.

The reference is crafter 1.8.3's ``Env`` as it is, with only the fix every reproducible run
needs (creatures despawned in order of position, not of memory address; no picture drawn
from the game's random numbers). Both play the same
random actions from the same seed; the whole world (materials, every object's state, the
player, the random generator, daylight) is compared after the reset and after every step.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from automem_core.envs import crafter_engine
from automem_core.envs.crafter_env import ACTION_NAMES, FRAME_SIZE, _crafter_class
from automem_core.envs.crafter_text import render_crafter_text, view_window
from automem_core.envs.registry import make_env

crafter = pytest.importorskip("crafter")


@contextlib.contextmanager
def crafters_own() -> Iterator[None]:
    """crafter's objects with their own methods, as crafter ships them."""
    _crafter_class()  # installs ours, recording crafter's
    objects = crafter.objects.Object
    ours = {name: getattr(objects, name) for name in crafter_engine.CRAFTER_OWN}
    for name, method in crafter_engine.CRAFTER_OWN.items():
        setattr(objects, name, method)
    try:
        yield
    finally:
        for name, method in ours.items():
            setattr(objects, name, method)


class Reference(crafter.Env):  # type: ignore[misc]
    """crafter's Env, world and objects as shipped (its methods swapped back for each call)."""

    def reset(self) -> Any:
        with crafters_own():
            return super().reset()

    def step(self, action: int) -> Any:
        with crafters_own():
            return super().step(action)

    def _balance_object(self, chunk: Any, objs: Any, *args: Any) -> None:
        ordered = sorted(objs, key=lambda obj: (int(obj.pos[0]), int(obj.pos[1])))
        super()._balance_object(chunk, ordered, *args)

    def _obs(self) -> None:
        return None  # crafter's picture at night draws from the game's random numbers


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tolist())
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _state(env: Any) -> dict[str, Any]:
    world = env._world
    objects = [
        (type(obj).__name__, {k: _plain(v) for k, v in vars(obj).items()
                              if k not in ("world", "random", "player")})
        for obj in world.objects
    ]  # fmt: skip
    chunks = {
        tuple(int(v) for v in key): sorted(world._objects.index(o) for o in objs)
        for key, objs in world._chunks.items()
    }
    rng = world.random.get_state()
    return {
        "materials": world._mat_map.tolist(),
        "object_map": world._obj_map.tolist(),
        "objects": objects,
        "chunks": {str(k): v for k, v in chunks.items()},
        "random": (rng[1].tolist(), rng[2], rng[3], rng[4]),
        "daylight": float(world.daylight),
        "step": env._step,
        "unlocked": sorted(env._unlocked),
    }


def _play_both(seed: int, steps: int, actions_seed: int, immortal: bool = False) -> int:
    ours = _crafter_class()(seed=seed, length=10_000)
    theirs = Reference(seed=seed, length=10_000)
    ours.reset()
    theirs.reset()
    assert _state(ours) == _state(theirs)
    rng = np.random.default_rng(actions_seed)
    played = 0
    for _ in range(steps):
        action = int(rng.integers(0, 17)) if rng.random() < 0.6 else int(rng.integers(1, 6))
        _, r1, d1, i1 = ours.step(action)
        _, r2, d2, i2 = theirs.step(action)
        played += 1
        assert (r1, d1) == (r2, d2)
        assert _plain(i1) == _plain({k: v for k, v in i2.items() if k != "semantic"})
        semantic = ours._sem_view()
        assert np.array_equal(semantic, i2["semantic"])
        pos = tuple(int(v) for v in ours._player.pos)
        for where in [pos, (0, 0), (63, 63), (2, 61), (60, 1), (4, 3), (59, 60)]:
            window = view_window(where)
            view, at = crafter_engine.local_semantic(ours._world, ours._object_ids, where, window)
            assert np.array_equal(view, semantic[window]) and at == semantic[where]
        assert _state(ours) == _state(theirs), f"seed {seed}: worlds differ after step {played}"
        if d1:
            break
        if immortal:  # the same change to both, so that a random player sees many nights
            ours._player.health = theirs._player.health = 9
    return played


@pytest.mark.parametrize("seed", [0, 1, 7, 123, 2024])
def test_a_world_and_every_step_equal_crafters_own(seed):
    assert _play_both(seed, 400, seed + 1) > 50


def test_worlds_of_many_seeds_equal_crafters_own():
    for seed in range(40):
        ours, theirs = _crafter_class()(seed=seed), Reference(seed=seed)
        ours.reset()
        theirs.reset()
        assert _state(ours) == _state(theirs), f"seed {seed}"


def test_a_long_game_through_nights_equals_crafters_own():
    # Nights spawn zombies and the balancing despawns them: 1 500 steps cross several.
    assert _play_both(8, 1500, 102, immortal=True) == 1500


def test_frames_equal_crafters_own_and_textures_are_read_when_drawn():
    textures = crafter_engine.LazyTextures(crafter_engine.shared_textures()._directory)
    ours = _crafter_class()(seed=3)
    ours._textures = ours._local_view._textures = ours._item_view._textures = textures
    theirs = Reference(seed=3)
    ours.reset()
    theirs.reset()
    assert textures._originals == {}  # a reset draws nothing, so reads nothing
    for action in [1, 5, 3, 5, 2, 2, 4]:
        ours.step(action)
        theirs.step(action)
        with crafters_own():
            drawn = theirs.render(FRAME_SIZE)
        assert np.array_equal(ours.render(FRAME_SIZE), drawn)
    assert 0 < len(textures._originals) < 56


def test_the_adapter_writes_the_text_crafter_s_whole_semantic_view_gives():
    env = make_env("crafter", "default", 300)
    env.reset(4)
    inner = env._env
    kinds = [crafter.objects.Player, crafter.objects.Cow, crafter.objects.Zombie]
    kinds += [crafter.objects.Skeleton, crafter.objects.Arrow, crafter.objects.Plant]
    rng = np.random.default_rng(4)
    for _ in range(150):
        outcome = env.step(ACTION_NAMES[int(rng.integers(0, 6))])
        player = inner._player
        text = render_crafter_text(
            crafter.engine.SemanticView(inner._world, kinds)(),
            (int(player.pos[0]), int(player.pos[1])),
            (int(player.facing[0]), int(player.facing[1])),
            {k: int(v) for k, v in player.inventory.items()},
            sleeping=bool(player.sleeping),
            dead=player.health <= 0,
        )
        assert outcome.observation.text == text
        if outcome.done:
            break


def test_the_methods_put_on_crafter_s_objects_return_what_crafter_s_own_do():
    _crafter_class()
    own = crafter_engine.CRAFTER_OWN
    rng = np.random.default_rng(0)
    world = crafter.engine.World((16, 16), crafter.constants.materials, (12, 12))
    for x in range(16):
        for y in range(16):
            world[x, y] = "grass" if rng.random() < 0.7 else "stone"
    ours = crafter.objects.Cow(world, (5, 5))
    theirs = crafter.objects.Cow(world, (10, 10))
    world.add(ours)
    world.add(theirs)
    for _ in range(300):
        direction = [(-1, 0), (1, 0), (0, -1), (0, 1)][int(rng.integers(0, 4))]
        if rng.random() < 0.5:
            direction = np.array(direction)
        target = tuple(int(v) for v in rng.integers(-2, 18, 2))
        assert ours.distance(target) == own["distance"](ours, target)
        assert ours.distance(theirs) == own["distance"](ours, theirs)
        before = ours.pos.copy()
        moved = ours.move(direction)
        if moved:  # the same move undone, then made by crafter's own method
            after = ours.pos.copy()
            world.move(ours, before)
            assert own["move"](ours, direction) and np.array_equal(ours.pos, after)
        else:
            assert not own["move"](ours, direction) and np.array_equal(ours.pos, before)
        assert ours.pos.dtype == np.int64 and world[ours.pos][1] is ours
