"""Forks: what rebuilding a game costs, and how fast a causal sweep goes.

1. Replay to step T, per game: the parent's logged actions replayed on the raw game (no model,
   no logging, every observation checked), against the time the parent itself took to reach T
   (its episode's wall time, playing T + 1 steps with the embedded player and writing them;
   the median of three plays).
   Goal: the replay costs at most 5 % of the parent's time. Where the game can be copied
   (Crafter), a sweep replays each fork from the checkpoint the fork before it left; that
   replay, from ``--gap`` steps back, is timed too.
2. A causal sweep with the embedded player (`automem mine --causal`): Crafter parents are played
   and mined, then ``--decisions`` LOG turns are each forked twice (kept, dropped) for
   ``--horizon`` steps. Forks per minute and fork steps per second, the latter against the
   parents' own steps per second; peak memory of the process.

    .venv/bin/python benchmarks/forks.py                      # a few minutes on a laptop
    .venv/bin/python benchmarks/forks.py --decisions 1000 --seeds 6 --parent-steps 300

(1 000 decisions need parents with that many LOG turns that wrote memory: Crafter's embedded
player writes in about two steps of three, so six 300-step parents are enough.)
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import tempfile
import time
from pathlib import Path

from automem_core.analysis.decision_table import load_decisions
from automem_core.envs.base import copy_game
from automem_core.envs.registry import make_env
from automem_core.mining.causal import CausalConfig, measure
from automem_core.mining.mine import mine
from automem_core.run.config import RunConfig
from automem_core.run.fork import load_parent
from automem_core.run.fork_replay import read_logged_steps, replay_to
from automem_core.run.runner import run

GAMES = {"crafter": ("default", 500), "minihack": ("MazeWalk-15x15", 90),
         "nethack": ("NetHackChallenge", 500)}  # fmt: skip


def play(root: Path, game: str, task: str, seeds: list[int], steps: int, run_id: str) -> list:
    cfg = RunConfig(game=game, tasks=(task,), seeds=tuple(seeds), data=root, max_steps=steps,
                    run_id=run_id, concurrency=1)  # fmt: skip
    return asyncio.run(run(cfg, progress=False)).episodes


def replay_ratio(
    root: Path, game: str, task: str, t: int, gap: int
) -> tuple[int, float, float, float | None]:
    """(fork step, replay seconds (median of 3), the parent's seconds to reach it, replay
    seconds from a checkpoint ``gap`` steps before (None: the game cannot be copied))."""
    # The same parent played three times (the embedded player is deterministic): its time is
    # the median of the three, as the replay's is.
    parents = [play(root, game, task, [0], t + 1, f"{game}-parent-{i}")[0] for i in range(3)]
    episode = parents[0]
    t = min(t, episode.steps - 1)  # a parent that ended early is forked at its last step
    parent = load_parent(root, episode.episode_id)
    logged = read_logged_steps(parent.found, t)
    times, warm = [], []
    for _ in range(3):  # a new game each time, as `automem fork` has (its reset is timed)
        env = make_env(game, task, int(parent.run["max_steps"]))
        t0 = time.perf_counter()
        replay_to(env, 0, logged, t)
        times.append(time.perf_counter() - t0)
        env.close()
    env = make_env(game, task, int(parent.run["max_steps"]))
    start = replay_to(env, 0, logged, max(0, t - gap))
    for _ in range(3):
        t0 = time.perf_counter()
        copied = copy_game(env)
        if copied is None:
            break
        replay_to(copied, 0, logged, t, start)
        warm.append(time.perf_counter() - t0)
    env.close()
    assert len({p.steps for p in parents}) == 1, "the embedded player played differently"
    parent_s = statistics.median(p.wall_s for p in parents) * (t / max(episode.steps, 1))
    return t, statistics.median(times), parent_s, statistics.median(warm) if warm else None


def sweep(root: Path, seeds: int, parent_steps: int, decisions: int, horizon: int) -> None:
    t0 = time.perf_counter()
    episodes = play(root, "crafter", "default", list(range(seeds)), parent_steps, "sweep")
    parent_s = time.perf_counter() - t0
    parent_steps_played = sum(e.steps for e in episodes)
    mine(root, ["sweep"])
    t0 = time.perf_counter()
    config = CausalConfig(horizon=horizon, limit=decisions, concurrency=4)
    result = asyncio.run(measure(root, ["sweep"], config, progress=False))
    took = time.perf_counter() - t0
    forks = result.forks_played
    fork_steps = 2 * sum(v.horizon for v in result.values)  # an upper bound per pair
    from automem_core.analysis.runs import load_episodes

    played = sum(int(load_episodes(root, r)["steps"].sum()) for r in result.fork_runs)
    measured = len(result.values)
    print(
        f"causal sweep: {measured} decisions of {result.chosen} chosen, {forks} forks in "
        f"{took:.1f} s = {60 * forks / took:.0f} forks/min ({played} fork steps of at most "
        f"{fork_steps}, {played / took:.0f} steps/s)"
    )
    parent_rate = parent_steps_played / parent_s
    print(
        f"  the parents: {parent_steps_played} steps in {parent_s:.1f} s = {parent_rate:.0f} "
        f"steps/s; fork steps/s over parent steps/s = {played / took / parent_rate:.2f}"
    )
    positive = sum(1 for v in result.values if v.causal_value > 0)
    negative = sum(1 for v in result.values if v.causal_value < 0)
    print(
        f"  values: {positive} positive, {negative} negative, {measured - positive - negative} "
        f"zero; {len(result.failed)} not measured"
    )
    signals_against_value(root)


def signals_against_value(root: Path) -> None:
    """How often the log's cheap signals agree with a positive measured causal value."""
    found = load_decisions(root)
    found = found[found["causal_value"].notna()]
    if found.empty:
        return
    positive = found["causal_value"] > 0
    for signal in ("retrieved", "progress_after"):
        said = found[signal].fillna(0).astype(bool)
        agree = (said == positive).mean()
        print(
            f"  {signal}: set on {int(said.sum())} of {len(found)}; of those, "
            f"{int((said & positive).sum())} have a positive causal value; of the "
            f"{int(positive.sum())} positive, {int((said & positive).sum())} have it set; "
            f"agreement {agree:.0%}"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--games", default=",".join(GAMES), help="games for the replay ratio")
    p.add_argument("--decisions", type=int, default=60, help="decisions in the sweep (60)")
    p.add_argument("--horizon", type=int, default=50, help="steps per fork (50)")
    p.add_argument("--seeds", type=int, default=2, help="Crafter parents of the sweep (2)")
    p.add_argument("--parent-steps", type=int, default=200, help="steps per parent (200)")
    p.add_argument("--gap", type=int, default=20, help="steps from a checkpoint (20)")
    p.add_argument("--skip-replay", action="store_true")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="automem-forks-") as tmp:
        root = Path(tmp)
        if not args.skip_replay:
            for game in [g for g in args.games.split(",") if g]:
                task, t = GAMES[game]
                t, replay_s, parent_s, warm = replay_ratio(root / game, game, task, t, args.gap)
                print(f"{game:<9} replay to step {t}: {replay_s * 1000:.0f} ms, the parent took "
                      f"{parent_s * 1000:.0f} ms to reach it: ratio {replay_s / parent_s:.1%} "
                      f"(goal ≤ 5 %)")  # fmt: skip
                if warm is not None:
                    print(
                        f"{'':<9} from a checkpoint {args.gap} steps before: "
                        f"{warm * 1000:.1f} ms = {warm / parent_s:.2%} of the parent's time"
                    )
        sweep(root / "sweep", args.seeds, args.parent_steps, args.decisions, args.horizon)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (this process): {peak:.0f} MiB")


if __name__ == "__main__":
    main()
