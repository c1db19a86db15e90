"""Rebuilding a parent's game at step T: its logged actions replayed on the raw game.

No model is called and nothing is written: the game is reset with the parent's seed and each
logged action is played in order. Every observation on the way is checked against the one the
parent logged (with the notice an invalid action put before it, cleaned as the log cleans it),
by hash; the first that differs stops the replay with one line naming the step, so a fork is
never built on another game than its parent's. The games are deterministic given the seed and
the actions (``envs/``), so a mismatch means the log and this game disagree: another game
release, another observation text, or an edited log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow.parquet as pq

from automem_core.agent.actions import default_action_notice
from automem_core.envs.base import GameEnv, Observation, set_replaying
from automem_core.errors import AutoMemError
from automem_core.memory import clean_text
from automem_core.store.catalog import EpisodeFiles

STEP_COLUMNS = ["step", "observation", "action", "raw_action", "action_valid", "action_source"]


class ForkMismatchError(AutoMemError, RuntimeError):
    """The replayed game differs from the logged one; the message names the step."""


@dataclass(frozen=True)
class Replayed:
    """The parent's game at ``step``, as the agent met it."""

    step: int
    observation: Observation
    notice: str
    previous_action: str | None
    seen: tuple[tuple[str, object], ...]  # (observation text, position) before ``step``
    last_facts: Mapping[str, object] | None


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def read_logged_steps(found: EpisodeFiles, upto: int) -> list[dict[str, Any]]:
    """The parent's step rows 0…``upto`` (only the columns a replay needs), in order."""
    where: list[tuple[str, str, object]] = [("step", "<=", upto)]
    if found.in_part:
        where.append(("episode_id", "==", found.episode_id))
    table = pq.read_table(found.files["steps"], columns=STEP_COLUMNS, filters=where)
    rows: list[dict[str, Any]] = table.sort_by("step").to_pylist()
    return rows


def _notice(row: dict[str, Any]) -> str:
    """The line the next observation starts with after this step (as the agent saw it)."""
    if row["action_valid"]:
        return ""
    return default_action_notice(row["raw_action"], row["action"], row["action_source"] or "")


def replay_to(
    env: GameEnv,
    seed: int,
    logged: list[dict[str, Any]],
    step: int,
    start: Replayed | None = None,
) -> Replayed:
    """Play ``logged`` actions 0…``step`` - 1 on ``env`` from ``seed``, checking observations
    0…``step``; ForkMismatchError (one line) at the first that differs. With ``start`` (what an
    earlier replay reached, ``env`` being a copy of its game then), only the steps after it are
    played."""
    if len(logged) <= step or [r["step"] for r in logged[: step + 1]] != list(range(step + 1)):
        raise ForkMismatchError(
            f"the log holds steps 0–{len(logged) - 1} without gaps, not up to step {step}"
        )
    first = 0 if start is None else start.step
    # Observations before step - 1 are only checked; step - 1's facts and step's frame are kept.
    set_replaying(env, first < step - 1)
    seen: list[tuple[str, object]] = []
    notice, previous, facts = "", None, None
    if start is None:
        obs = env.reset(seed)
    else:
        obs, notice, previous = start.observation, start.notice, start.previous_action
        seen, facts = list(start.seen), start.last_facts
    for t in range(first, step + 1):
        row = logged[t]
        text = clean_text(f"{notice}\n{obs.text}" if notice else obs.text)
        if text != row["observation"]:
            after = (
                f" after replaying step {t - 1}'s logged action {logged[t - 1]['action']!r}"
                if t
                else " at the reset"
            )
            raise ForkMismatchError(
                f"fork stopped at step {t}: the replayed observation{after} differs from the "
                f"logged one (hash {text_hash(text)} vs {text_hash(row['observation'])}); "
                "the log does not rebuild this game"
            )
        if t == step:
            break
        seen.append((text, obs.facts.get("pos")))
        facts = obs.facts
        if t == step - 2:
            set_replaying(env, False)
        try:
            outcome = env.step(str(row["action"]))
        except (ValueError, RuntimeError) as exc:
            raise ForkMismatchError(
                f"fork stopped at step {t}: the logged action {row['action']!r} cannot be "
                f"replayed ({exc})"
            ) from None
        if outcome.done:
            raise ForkMismatchError(
                f"fork stopped at step {t + 1}: the replayed game ended after step {t}, where "
                "the logged one went on"
            )
        notice, previous, obs = _notice(row), str(row["action"]), outcome.observation
    return Replayed(step, obs, notice, previous, tuple(seen), facts)
