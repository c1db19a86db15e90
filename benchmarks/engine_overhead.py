"""Engine time per step, per game, against the raw game's step time with the same actions.

Engine time is everything but the model wait: the episode's wall time minus the time spent in
model calls (here the embedded player, whose answers are timed per turn). It covers the game step,
text observation, frame, prompt building, parsing, memory ops and Parquet logging. The baseline
replays the episode's actions on the raw game object underneath the adapter, in the same run.

    python benchmarks/engine_overhead.py [--steps 200]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from automem_core.envs.registry import make_env  # noqa: E402
from automem_core.run.config import RunConfig  # noqa: E402
from automem_core.run.runner import run  # noqa: E402
from automem_core.store.reader import connect  # noqa: E402

GAMES = (
    ("crafter", "default", 0),
    ("minihack", "MazeWalk-15x15", 2),
    ("nethack", "NetHackChallenge", 0),
)


def raw_step_ms(game: str, task: str, seed: int, actions: list[str]) -> float:
    """Mean time of the raw game's step() over the same actions (the adapter's own game object)."""
    adapter: Any = make_env(game, task)
    adapter.reset(seed)
    raw, index = adapter._env, adapter._index
    took = 0.0
    for action in actions:
        t = time.perf_counter()
        out = raw.step(index[action])
        took += time.perf_counter() - t
        done = out[2] if len(out) == 4 else (out[2] or out[3])
        if done:
            adapter.reset(seed)
            raw = adapter._env
    adapter.close()
    return took / len(actions) * 1000


def engine_step_ms(game: str, task: str, seed: int, steps: int) -> tuple[float, list[str]]:
    with tempfile.TemporaryDirectory() as data:
        cfg = RunConfig(game=game, tasks=[task], seeds=[seed], data=Path(data), max_steps=steps)
        (episode,) = asyncio.run(run(cfg, progress=False)).episodes
        con = connect(Path(data))
        wait_ms = con.execute("SELECT sum(latency_ms) FROM turns").fetchone()[0]
        actions = [r[0] for r in con.execute("SELECT action FROM steps ORDER BY step").fetchall()]
    return (episode.wall_s * 1000 - wait_ms) / episode.steps, actions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    print(f"{'game':<10} {'steps':>5} {'engine ms/step':>15} {'raw env ms/step':>16} {'ratio':>7}")
    for game, task, seed in GAMES:
        engine_ms, actions = engine_step_ms(game, task, seed, args.steps)
        raw_ms = raw_step_ms(game, task, seed, actions)
        print(
            f"{game:<10} {len(actions):>5} {engine_ms:>15.2f} {raw_ms:>16.3f} "
            f"{engine_ms / raw_ms:>6.1f}x"
        )
    print("engine ms/step excludes model wait; the ratio is engine time over the raw game step")


if __name__ == "__main__":
    main()
