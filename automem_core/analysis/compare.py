"""Episodes side by side, step by step: two to four episodes of the same game, task and seed
(two scaffold versions on a gate pair, two models, a fork and its parent), aligned on the step
number, with the steps where they first and then again part ways.

The games are deterministic given the seed and the actions, so two episodes of one seed see the
same observations until one of them acts differently; the first step whose action or
observation differs is where their stories split. An episode that ended keeps its column: past
its end it shows its last step. A fork starts at its fork step: before it, it shows its first
step and takes no part in the divergences.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from automem_core.analysis.episode import EpisodeData
from automem_core.errors import AutoMemError

MIN_EPISODES, MAX_EPISODES = 2, 4


class CompareError(AutoMemError, ValueError):
    """Episodes that cannot be compared step by step; the message says why."""


@dataclass(frozen=True)
class Lane:
    """One episode's steps as the comparison reads them."""

    episode_id: str
    actions: tuple[str, ...]
    observations: tuple[str, ...]  # a digest per step (the text itself can be long)
    rewards: np.ndarray
    progression: np.ndarray
    first: int = 0  # its first step: a fork's fork step, else 0

    @property
    def n_steps(self) -> int:
        return len(self.actions)

    @property
    def end(self) -> int:
        """One past its last step."""
        return self.first + self.n_steps

    def playing(self, step: int) -> bool:
        return self.first <= step < self.end

    def action(self, step: int) -> str:
        return self.actions[step - self.first]

    def seen(self, step: int) -> str:
        return self.observations[step - self.first]


def check_comparable(episodes: pd.DataFrame) -> None:
    """Refuse (one line) anything but 2–4 distinct episodes of one game, task and seed.
    ``episodes`` has one row per episode with ``episode_id``, ``game``, ``task``, ``seed``."""
    ids = list(dict.fromkeys(episodes["episode_id"]))
    if not MIN_EPISODES <= len(ids) <= MAX_EPISODES:
        raise CompareError(f"compare {MIN_EPISODES} to {MAX_EPISODES} episodes; got {len(ids)}")
    keys = episodes[["game", "task", "seed"]].drop_duplicates()
    if len(keys) > 1:
        shown = "; ".join(f"{r.game} {r.task} seed {r.seed}" for r in keys.itertuples())
        raise CompareError(
            f"these episodes are not of one game, task and seed ({shown}); compare episodes of "
            "the same seed, or their steps mean different things"
        )


def lane(ep: EpisodeData) -> Lane:
    steps = ep.steps
    observations = steps.column("observation").to_pylist()
    return Lane(
        episode_id=ep.episode_id,
        actions=tuple(str(a) for a in steps.column("action").to_pylist()),
        observations=tuple(hashlib.sha1(str(o).encode()).hexdigest() for o in observations),
        rewards=np.asarray(steps.column("reward").to_pylist(), dtype=float),
        progression=np.asarray(steps.column("progression").to_pylist(), dtype=float),
        first=ep.first_step,
    )


def divergences(lanes: Sequence[Lane]) -> list[int]:
    """Every step at which the episodes' actions or observations differ (counting only the
    episodes still playing at that step; an end is not a divergence by itself)."""
    out = []
    for step in range(min(ln.first for ln in lanes), max(ln.end for ln in lanes)):
        live = [ln for ln in lanes if ln.playing(step)]
        if len(live) < 2:
            if any(ln.first > step for ln in lanes):
                continue  # a fork has not started yet
            break
        if len({ln.action(step) for ln in live}) > 1 or len({ln.seen(step) for ln in live}) > 1:
            out.append(step)
    return out


def first_divergence(lanes: Sequence[Lane]) -> int | None:
    found = divergences(lanes)
    return found[0] if found else None


def next_divergence(
    lanes: Sequence[Lane], step: int, first: int | bool | None = False
) -> int | None:
    """The next step after ``step`` where the episodes act differently. (Once two episodes
    split, their observations usually differ at every later step; a different action is what
    a person looks for next.) Before the first divergence, that divergence."""
    if first is False:  # not given: found here
        first = first_divergence(lanes)
    if first is not None and step < first:
        return first
    for later in range(step + 1, max(ln.end for ln in lanes)):
        live = [ln for ln in lanes if ln.playing(later)]
        if len(live) < 2:
            if any(ln.first > later for ln in lanes):
                continue
            return None
        if len({ln.action(later) for ln in live}) > 1:
            return later
    return None


def shown_step(lane: Lane, step: int) -> int:
    """The step a column shows at ``step``: itself, the episode's last once it ended, or a
    fork's first before it started."""
    return max(lane.first, min(step, lane.end - 1))


def progression_frame(lanes: Sequence[Lane]) -> pd.DataFrame:
    """Long form (episode, step, progression) for an overlaid chart."""
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "episode": ln.episode_id,
                    "step": np.arange(ln.first, ln.end),
                    "progression": 100 * ln.progression,
                }
            )
            for ln in lanes
        ],
        ignore_index=True,
    )
