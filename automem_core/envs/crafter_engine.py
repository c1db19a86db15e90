"""crafter 1.8.3's hot paths, rewritten for speed with the same results.

A fork rebuilds its parent's game by replaying every logged step, so crafter's own speed is a
fork's cost. crafter spends most of it on Python overhead rather than on the game: numpy calls
on single numbers, a semantic view drawn twice a step, a mask per creature kind and chunk, and
56 texture files read for every new game. The functions here do the same arithmetic in the same
order and draw the same random numbers in the same order, so a world, a step and a frame come
out exactly as crafter's own. ``tests/envs/test_crafter_engine.py`` plays crafter's code beside
them and compares the whole world after every step.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _material(noise: Callable[[float, float, float], float], x: int, y: int, px: int, py: int,
              uniform: Callable[[], float]) -> tuple[str, bool]:  # fmt: skip
    """The material crafter's ``_set_material`` puts at (x, y), and whether it is a tunnel.

    crafter's ``_simplex(x, y, z, size)`` is ``noise(x / size, y / size, z)`` (its sum starts
    at 0 and is divided by a weight of 1, which changes no comparison made here); the sums of
    two octaves keep crafter's order of operations.
    """
    start: Any = 4 - math.sqrt((x - px) ** 2 + (y - py) ** 2)
    start += 2 * noise(x / 3, y / 3, 8)
    start = 1 / (1 + np.exp(-start))
    water = noise(x / 15, y / 15, 3) + 0.15 * noise(x / 5, y / 5, 3) + 0.1
    water -= 2 * start
    mountain = (noise(x / 15, y / 15, 0) + 0.3 * noise(x / 5, y / 5, 0)) / (1 + 0.3)
    mountain -= 4 * start + 0.3 * water
    if start > 0.5:
        return "grass", False
    if mountain > 0.15:
        if noise(x / 7, y / 7, 6) > 0.15 and mountain > 0.3:  # a cave
            return "path", False
        if noise(2 * x / 3, y / 5 / 3, 7) > 0.4:  # a tunnel running east-west
            return "path", True
        if noise(x / 5 / 3, 2 * y / 3, 7) > 0.4:  # a tunnel running north-south
            return "path", True
        if noise(x / 8, y / 8, 1) > 0 and uniform() > 0.85:
            return "coal", False
        if noise(x / 6, y / 6, 2) > 0.4 and uniform() > 0.75:
            return "iron", False
        if mountain > 0.18 and uniform() > 0.994:
            return "diamond", False
        if mountain > 0.3 and noise(x / 5, y / 5, 6) > 0.35:
            return "lava", False
        return "stone", False
    if 0.25 < water <= 0.35 and noise(x / 9, y / 9, 4) > -0.2:
        return "sand", False
    if water > 0.3:
        return "water", False
    if noise(x / 7, y / 7, 5) > 0 and uniform() > 0.8:
        return "tree", False
    return "grass", False


def generate_world(world: Any, player: Any) -> None:
    """crafter's ``worldgen.generate_world``: materials tile by tile (columns west to east, each
    north to south), then the creatures, drawing from ``world.random`` in crafter's order."""
    import opensimplex
    from crafter import constants, objects

    random = world.random
    noise = opensimplex.OpenSimplex(seed=random.randint(0, 2**31 - 1)).noise3
    uniform = random.uniform
    width, height = world.area
    px, py = int(player.pos[0]), int(player.pos[1])
    names: list[list[str]] = []
    tunnels: list[list[bool]] = []
    for x in range(width):
        column = [_material(noise, x, y, px, py, uniform) for y in range(height)]
        names.append([name for name, _ in column])
        tunnels.append([tunnel for _, tunnel in column])
    ids = world._mat_ids
    world._mat_map[:, :] = np.array([[ids[name] for name in column] for column in names])
    walkable = constants.walkable
    for x in range(width):
        for y in range(height):
            material = names[x][y]
            if material not in walkable:
                continue
            dist = math.sqrt((x - px) ** 2 + (y - py) ** 2)
            if dist > 3 and material == "grass" and uniform() > 0.985:
                world.add(objects.Cow(world, (x, y)))
            elif dist > 10 and uniform() > 0.993:
                world.add(objects.Zombie(world, (x, y), player))
            elif material == "path" and tunnels[x][y] and uniform() > 0.95:
                world.add(objects.Skeleton(world, (x, y), player))


def semantic_view(world: Any, object_ids: dict[type, int]) -> Any:
    """crafter's ``SemanticView()``: material ids, each object's id drawn over its tile (no two
    objects share a tile, so the order they are drawn in does not matter)."""
    canvas = world._mat_map.copy()
    found = world.objects
    if found:
        where = np.array([obj.pos for obj in found])
        canvas[where[:, 0], where[:, 1]] = [object_ids[type(obj)] for obj in found]
    return canvas


def local_semantic(world: Any, object_ids: dict[type, int], pos: tuple[int, int],
                   window: tuple[slice, slice]) -> tuple[Any, int]:  # fmt: skip
    """``semantic_view(world, object_ids)[window]`` and its value at ``pos``, drawn for that
    window alone (the same slices on the material and object maps, so an edge cuts as it
    would cut the whole view)."""
    objects = world._objects
    x, y = pos
    index = int(world._obj_map[x, y])
    at = object_ids[type(objects[index])] if index else int(world._mat_map[x, y])
    view = world._mat_map[window].copy()
    held = world._obj_map[window]
    xs, ys = np.nonzero(held)
    if len(xs):
        view[xs, ys] = [object_ids[type(objects[i])] for i in held[xs, ys].tolist()]
    return view, at


def update_near(env: Any) -> None:
    """The objects a crafter step updates: every one within ``2 × max(view)`` grid steps of the
    player, in the world's order, measured from where the player is when its turn comes (the
    player itself updates first). Objects removed during the loop are still updated, as crafter
    does."""
    player = env._player
    reach = 2 * int(max(env._view))
    px, py = player.pos.tolist()
    for obj in env._world.objects:
        ox, oy = obj.pos.tolist()
        if abs(ox - px) + abs(oy - py) < reach:
            obj.update()
            px, py = player.pos.tolist()  # only an update moves anything


def balance_chunks(env: Any) -> None:
    """crafter's ``_balance_chunk`` for every chunk that ever held an object, in the world's
    order: zombies, then skeletons, then cows spawned or despawned. A creature to despawn is
    drawn in order of position (crafter's set order is by memory address, which no two
    processes share). Grass and path tiles are counted for all chunks at once: spawns and
    despawns change no material."""
    from crafter import objects

    world, player = env._world, env._player
    light = world.daylight
    grass, path = (world._mat_map == world._mat_ids[name] for name in ("grass", "path"))
    size = world._chunk_size
    cuts = [np.arange(0, world.area[axis], size[axis]) for axis in (0, 1)]

    def per_chunk(mask: Any) -> list[list[int]]:
        rows = np.add.reduceat(mask, cuts[0], axis=0, dtype=np.int64)
        counted: list[list[int]] = np.add.reduceat(rows, cuts[1], axis=1, dtype=np.int64).tolist()
        return counted

    grass_count, path_count = per_chunk(grass), per_chunk(path)
    kinds = (objects.Zombie, objects.Skeleton, objects.Cow)
    for chunk, objs in world.chunks.items():
        cell = (chunk[0] // size[0], chunk[2] // size[1])
        grass_here, path_here = grass_count[cell[0]][cell[1]], path_count[cell[0]][cell[1]]
        # Counted once: a kind's spawns and despawns change no other kind's count.
        counts = {kind: sum(1 for obj in objs if isinstance(obj, kind)) for kind in kinds}
        _balance_kind(env, chunk, objs, counts, objects.Zombie, grass, 6, 0, 0.3, 0.4,
                      lambda pos: objects.Zombie(world, pos, player),
                      (0 if grass_here < 50 else 3.5 - 3 * light, 3.5 - 3 * light))  # fmt: skip
        _balance_kind(env, chunk, objs, counts, objects.Skeleton, path, 7, 7, 0.1, 0.1,
                      lambda pos: objects.Skeleton(world, pos, player),
                      (0 if path_here < 6 else 1, 2))  # fmt: skip
        _balance_kind(env, chunk, objs, counts, objects.Cow, grass, 5, 5, 0.01, 0.1,
                      lambda pos: objects.Cow(world, pos),
                      (0 if grass_here < 30 else 1, 1.5 + light))  # fmt: skip


def _balance_kind(env: Any, chunk: tuple[int, int, int, int], objs: set[Any],
                  counts: dict[type, int], kind: type,
                  mask: Any, spawn_dist: int, despawn_dist: int, spawn_prob: float,
                  despawn_prob: float, make: Callable[[Any], Any],
                  target: tuple[float, float]) -> None:  # fmt: skip
    """crafter's ``_balance_object`` for one kind of creature in one chunk, its target range
    given; ``mask`` marks the whole world's tiles it may spawn on."""
    world, player = env._world, env._player
    random = world.random
    target_min, target_max = target
    count = counts[kind]
    if count < int(target_min) and random.uniform() < spawn_prob:
        area = (slice(chunk[0], chunk[1]), slice(chunk[2], chunk[3]))
        xs, ys = np.nonzero(mask[area])  # C order, as crafter's tiled index arrays are masked
        i = random.randint(0, len(xs))
        pos = np.array((xs[i] + chunk[0], ys[i] + chunk[2]))
        if world[pos][1] is None and player.distance(pos) >= spawn_dist:
            world.add(make(pos))
    elif count > int(target_max) and random.uniform() < despawn_prob:
        ordered = sorted(objs, key=lambda obj: (int(obj.pos[0]), int(obj.pos[1])))
        creatures = [obj for obj in ordered if isinstance(obj, kind)]
        obj = creatures[random.randint(0, len(creatures))]
        if player.distance(obj.pos) >= despawn_dist:
            world.remove(obj)


def grid_distance(self: Any, target: Any) -> Any:
    """crafter's ``Object.distance`` (steps along the grid: |dx| + |dy|) in plain arithmetic.

    crafter computes it with numpy on two-element arrays for every creature on every step;
    the value is the same (tests/envs compare the two).
    """
    if hasattr(target, "pos"):
        target = target.pos
    return abs(target[0] - self.pos[0]) + abs(target[1] - self.pos[1])


def move_object(self: Any, direction: Any) -> bool:
    """crafter's ``Object.move``: one step in ``direction`` if that tile is free, the sum taken
    on plain integers (directions are whole steps; the world stores the new position as
    crafter's own sum would be stored, an int64 array)."""
    x, y = self.pos.tolist()
    target = (x + int(direction[0]), y + int(direction[1]))
    if self.is_free(target):
        self.world.move(self, target)
        return True
    return False


# crafter's own methods that ``install`` replaces, kept so that tests can play crafter as it is.
CRAFTER_OWN: dict[str, Callable[..., Any]] = {}


def install() -> None:
    """Put ``grid_distance`` and ``move_object`` on crafter's objects (once per process)."""
    from crafter import objects

    if not CRAFTER_OWN:
        CRAFTER_OWN.update(distance=objects.Object.distance, move=objects.Object.move)
    objects.Object.distance = grid_distance
    objects.Object.move = move_object


def fast_world_class() -> type[Any]:
    """crafter's ``World`` with its per-move and per-lookup numpy overhead taken out."""
    from crafter import engine

    class FastWorld(engine.World):  # type: ignore[misc]
        def __getitem__(self, pos: Any) -> tuple[Any, Any]:
            x, y = pos
            if not (0 <= x < self.area[0] and 0 <= y < self.area[1]):
                return None, None
            return self._mat_names[self._mat_map[x, y]], self._objects[self._obj_map[x, y]]

        def move(self, obj: Any, pos: Any) -> None:
            if obj.removed:
                return
            x, y = int(pos[0]), int(pos[1])
            ox, oy = obj.pos.tolist()
            assert self._obj_map[x, y] == 0
            self._obj_map[x, y] = self._obj_map[ox, oy]
            self._obj_map[ox, oy] = 0
            old, new = self.chunk_key((ox, oy)), self.chunk_key((x, y))
            if old != new:
                self._chunks[old].remove(obj)
                self._chunks[new].add(obj)
            obj.pos = np.array((x, y))

    return FastWorld


class LazyTextures:
    """crafter's ``Textures``, each file read the first time a frame draws it (a replay draws
    none until its last step), shared by every game of the process (they are read only)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._originals: dict[str, Any] = {}
        self._textures: dict[tuple[str, tuple[int, int]], Any] = {}

    def get(self, name: str | None, size: Sequence[float]) -> Any:
        from PIL import Image

        name = "unknown" if name is None else name
        key = name, (int(size[0]), int(size[1]))
        if key not in self._textures:
            original = self._original(name)
            nearest = Image.Resampling.NEAREST
            image = Image.fromarray(original).resize(key[1][::-1], resample=nearest)
            self._textures[key] = np.array(image)
        return self._textures[key]

    def _original(self, name: str) -> Any:
        if name not in self._originals:
            import imageio.v3 as imageio

            image = imageio.imread((self._directory / f"{name}.png").read_bytes())
            image = image.transpose((1, 0, *range(2, image.ndim)))
            self._originals[name] = image
            self._textures[(name, image.shape[:2])] = image
        return self._originals[name]


@functools.cache
def shared_textures() -> LazyTextures:
    from crafter import constants

    return LazyTextures(Path(constants.root) / "assets")
