"""Synthetic episodes and runs published through the real :class:`EpisodeWriter`.

Each step is played as the agent plays it (frame, status helper, LOG, PLAN, validated action) and
published with keyframes and frames. Everything is seeded, so the same arguments write the same
store.
"""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

from automem_core.agent.actions import invalid_action_notice
from automem_core.agent.records import StepCounters
from automem_core.memory import Mutation
from automem_core.store.layout import Layout
from automem_core.store.memory_at import INITIAL_STEP, encode_state
from automem_core.store.schema import EpisodeRow, FrameRow, MemorySnapshotRow, RunRow, StepRow
from automem_core.store.writer import EpisodeWriter, write_run
from automem_core.synthetic.games import DEFAULT_TASKS
from automem_core.synthetic.player import CLIENT, ScriptedEpisode

_AT = "2025-01-01T00:00:00.000+00:00"


def synthetic_episode_id(run_id: str, task: str, seed: int) -> str:
    return f"{run_id}.{task}.s{seed}"


def write_synthetic_episode(
    layout: Layout,
    run_id: str,
    game: str,
    task: str,
    seed: int,
    steps: int,
    keyframe_every: int = 200,
    fail_at: int | None = None,
    scaffold_id: str | None = None,
) -> EpisodeRow:
    """Play and publish one scripted episode; ``fail_at`` makes it end as an error row there."""
    scaffold_id = scaffold_id or f"{game}-v0"
    eid = synthetic_episode_id(run_id, task, seed)
    writer = EpisodeWriter(layout, run_id, eid)
    ep = ScriptedEpisode(game, seed, eid, random.Random(f"{scaffold_id}/{task}/{seed}"), writer)
    writer.add(
        "memory_snapshots", MemorySnapshotRow(eid, INITIAL_STEP, encode_state(ep.files.state))
    )
    totals = dict.fromkeys(("reward", "invalid", "calls", "tokens_in", "tokens_out", "ms"), 0.0)
    progression, notice, last, done = 0.0, "", "none", False
    played = steps if fail_at is None else fail_at
    for step in range(played):
        progression, notice, last, done = _step(
            ep, step, steps, keyframe_every, progression, notice, last, totals
        )
    error = None if fail_at is None else f"RuntimeError: synthetic failure at step {fail_at}"
    row = _episode_row(ep, run_id, task, scaffold_id, played, error, done, progression, totals)
    writer.commit(row)
    return row


def _episode_row(
    ep: ScriptedEpisode,
    run_id: str,
    task: str,
    scaffold_id: str,
    played: int,
    error: str | None,
    done: bool,
    progression: float,
    totals: dict[str, float],
) -> EpisodeRow:
    return EpisodeRow(
        episode_id=ep.eid,
        run_id=run_id,
        game=ep.game,
        task=task,
        seed=ep.seed,
        scaffold_id=scaffold_id,
        scaffold_hash="synthetic",
        memory_client=CLIENT,
        action_client=CLIENT,
        status="ok" if error is None else "error",
        error=error,
        end_reason="error" if error else ("done" if done else "max_steps"),
        steps=played,
        total_reward=totals["reward"],
        progression=progression,
        invalid_actions=int(totals["invalid"]),
        tokens_in=int(totals["tokens_in"]),
        tokens_out=int(totals["tokens_out"]),
        llm_calls=int(totals["calls"]),
        retries=0,
        wall_s=totals["ms"] / 1000,
        started_at=_AT,
        finished_at=_AT,
        parent_episode_id=None,
        fork_step=None,
    )


def _step(
    ep: ScriptedEpisode,
    step: int,
    steps: int,
    keyframe_every: int,
    progression: float,
    notice: str,
    last: str,
    totals: dict[str, float],
) -> tuple[float, str, str, bool]:
    """One step as the agent runs it: frame, status helper, LOG, PLAN, validated action."""
    text, warnings = _observe(ep, step, notice)
    if step > 0:
        ep.log_phase(step, text, last)
    raw = ep.plan_phase(step, text, warnings)
    valid = raw is not None and (raw in ep.moves.values() or raw in ep.spec.extra_actions)
    action = raw if valid and raw is not None else ep.spec.default_action
    reward, progression, outcome = ep.advance(action, progression)
    done = ep.game == "minihack" and step == steps - 1 and ep.seed % 2 == 0
    reward, progression = (1.0, 1.0) if done else (reward, progression)
    c = ep.rec.start_step()
    env_ms = ep.rng.uniform(0.2, 3.0)
    ep.writer.add(
        "steps",
        StepRow(
            ep.eid,
            step,
            text,
            action,
            None if valid else raw,
            valid,
            reward,
            done,
            progression,
            warnings,
            c.n_log_turns,
            c.n_plan_turns,
            c.n_ops,
            c.n_writes,
            c.tokens_in,
            c.tokens_out,
            c.llm_ms,
            env_ms,
        ),
    )
    _add_totals(totals, reward, valid, c, env_ms)
    if (step + 1) % keyframe_every == 0:
        state = encode_state(ep.files.state)
        ep.writer.add("memory_snapshots", MemorySnapshotRow(ep.eid, step, state))
    notice = "" if valid else invalid_action_notice(raw, action)
    return progression, notice, f"{action} -> {outcome}", done


def _observe(ep: ScriptedEpisode, step: int, notice: str) -> tuple[str, list[str]]:
    """The step's observation (after any notice) and warnings; publishes its frame and status."""
    obs = ep.observation(step)
    ep.history.record(obs, ep.world.pos)
    frame = ep.world.frame(ep.inventory, ep.vitals, ep.status_line(step))
    ep.writer.add("frames", FrameRow(ep.eid, step, ep.spec.frame, frame))
    text = f"{notice}\n{obs}" if notice else obs
    status = Mutation(kind="write", file="status", text=f"step: {step}\nposition: {ep.world.pos}")
    ep.files.apply(status, step)
    ep.rec.helper_write(step, "status", status)
    return text, ep.warnings()


def _add_totals(
    totals: dict[str, float], reward: float, valid: bool, c: StepCounters, env_ms: float
) -> None:
    for key, value in (
        ("reward", reward),
        ("invalid", not valid),
        ("calls", c.llm_calls),
        ("tokens_in", c.tokens_in),
        ("tokens_out", c.tokens_out),
        ("ms", c.llm_ms + env_ms),
    ):
        totals[key] += value


def write_synthetic_run(
    root: Path,
    *,
    game: str = "crafter",
    tasks: tuple[str, ...] | None = None,
    seeds: tuple[int, ...] = (0,),
    steps: int = 60,
    run_id: str | None = None,
    scaffold_id: str | None = None,
    keyframe_every: int = 200,
    fail_seeds: tuple[int, ...] = (),
    status: str = "finished",
) -> str:
    """Write a run row and its episodes under ``root`` (``fail_seeds`` end in an error halfway);
    returns the run id."""
    layout = Layout(root)
    tasks = tasks or DEFAULT_TASKS[game]
    scaffold_id = scaffold_id or f"{game}-v0"
    run_id = run_id or f"{scaffold_id}-synthetic-{steps}"
    row = RunRow(
        run_id=run_id,
        game=game,
        tasks=list(tasks),
        seeds=list(seeds),
        scaffold_id=scaffold_id,
        scaffold_hash="synthetic",
        memory_client=CLIENT,
        action_client=CLIENT,
        settings_hash="synthetic",
        model_config_json=json.dumps({"memory": {"backend": CLIENT}}),
        max_steps=steps,
        status="running",
        created_at=_AT,
        updated_at=_AT,
        episodes_planned=len(tasks) * len(seeds),
    )
    write_run(layout, row)
    for task in tasks:
        for seed in seeds:
            fail_at = steps // 2 if seed in fail_seeds else None
            write_synthetic_episode(
                layout, run_id, game, task, seed, steps, keyframe_every, fail_at, scaffold_id
            )
    write_run(layout, dataclasses.replace(row, status=status))
    return run_id


def write_sample_store(root: Path, steps: int = 40) -> list[str]:
    """A small store with every game, two scaffold versions and one failed episode."""
    v1 = "crafter-v1"
    return [
        write_synthetic_run(root, game="crafter", seeds=(0, 1), steps=steps),
        write_synthetic_run(root, game="crafter", seeds=(0, 1), steps=steps, scaffold_id=v1),
        write_synthetic_run(root, game="nethack", steps=steps),
        write_synthetic_run(
            root,
            game="minihack",
            tasks=("MazeWalk-9x9", "Corridor-R3"),
            seeds=(0, 1),
            steps=steps,
            fail_seeds=(1,),
        ),
    ]
