"""One episode from reset to end, recorded row by row into an EpisodeWriter."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from automem_core.agent.actions import invalid_action_notice
from automem_core.agent.records import StepRecorder
from automem_core.agent.step import Agent, AgentSetup
from automem_core.envs.base import GameEnv
from automem_core.memory import FilePolicy, MemoryFiles, MemoryLimits
from automem_core.scaffold.loader import Scaffold
from automem_core.store.memory_at import INITIAL_STEP, encode_state
from automem_core.store.schema import EpisodeRow, FrameRow, MemorySnapshotRow, StepRow
from automem_core.store.writer import EpisodeWriter

log = logging.getLogger(__name__)
KEYFRAME_EVERY = 200  # steps between full memory snapshots; memory_at replays at most this many


@dataclass(frozen=True)
class EpisodeSpec:
    episode_id: str
    run_id: str
    game: str
    task: str
    seed: int
    max_steps: int


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def make_memory(scaffold: Scaffold, writer: EpisodeWriter) -> MemoryFiles:
    spec = scaffold.spec
    limits = MemoryLimits(
        max_files=spec.limits.max_files,
        max_file_bytes=spec.limits.max_file_bytes,
        max_ops_per_turn=spec.limits.max_ops_per_turn,
        max_result_chars=spec.limits.max_result_chars,
        search_cap=spec.limits.search_cap,
    )
    policies = {
        f.name: FilePolicy(f.max_lines, f.prune, f.keyed, f.writer == "agent") for f in spec.files
    }
    default = FilePolicy(max_lines=200, prune="drop_oldest")
    return MemoryFiles(writer.memory_dir, limits, policies, default, spec.map_file)


async def run_episode(
    env: GameEnv, setup: AgentSetup, writer: EpisodeWriter, ep: EpisodeSpec
) -> EpisodeRow:
    """Play one episode; any failure becomes an ``error`` episode row instead of an exception."""
    started, t0 = utc_now(), time.perf_counter()
    recorder = StepRecorder(ep.episode_id, writer.add)
    totals = {
        "steps": 0,
        "reward": 0.0,
        "progression": 0.0,
        "invalid": 0,
        "tokens_in": 0,
        "tokens_out": 0,
        "calls": 0,
        "retries": 0,
    }
    status, end_reason, error = "ok", "max_steps", None
    files = None
    try:
        files = make_memory(setup.scaffold, writer)
        files.initialise(setup.scaffold.initial_files, step=INITIAL_STEP)
        writer.add("memory_snapshots", _keyframe(ep.episode_id, INITIAL_STEP, files))
        agent = Agent(setup, files, recorder, ep.episode_id)
        end_reason = await _play(env, agent, writer, recorder, ep, totals)
    except Exception as exc:  # a failing episode is recorded, and the run goes on
        log.warning("episode %s failed: %s", ep.episode_id, exc)
        log.debug("episode %s failure details", ep.episode_id, exc_info=True)
        status, end_reason, error = "error", "error", f"{type(exc).__name__}: {exc}"
    finally:
        if files is not None:
            files.close()
    return EpisodeRow(
        episode_id=ep.episode_id,
        run_id=ep.run_id,
        game=ep.game,
        task=ep.task,
        seed=ep.seed,
        scaffold_id=setup.scaffold.id,
        scaffold_hash=setup.scaffold.content_hash,
        memory_client=setup.memory_client.label,
        action_client=(setup.action_client or setup.memory_client).label,
        status=status,
        end_reason=end_reason,
        error=error,
        steps=int(totals["steps"]),
        total_reward=float(totals["reward"]),
        progression=float(totals["progression"]),
        invalid_actions=int(totals["invalid"]),
        tokens_in=int(totals["tokens_in"]),
        tokens_out=int(totals["tokens_out"]),
        llm_calls=int(totals["calls"]),
        retries=int(totals["retries"]),
        wall_s=time.perf_counter() - t0,
        started_at=started,
        finished_at=utc_now(),
        parent_episode_id=None,
        fork_step=None,
    )


async def _play(
    env: GameEnv,
    agent: Agent,
    writer: EpisodeWriter,
    recorder: StepRecorder,
    ep: EpisodeSpec,
    totals: dict[str, float],
) -> str:
    obs = env.reset(ep.seed)
    notice, previous = "", None
    for step in range(ep.max_steps):
        writer.add("frames", FrameRow(ep.episode_id, step, obs.frame.kind, obs.frame.data))
        text = f"{notice}\n{obs.text}" if notice else obs.text
        await asyncio.sleep(0)  # let other episodes and the run's heartbeat have a turn
        decision = await agent.act(step, text, obs.facts, previous)
        t_env = time.perf_counter()
        outcome = env.step(decision.action)
        env_ms = (time.perf_counter() - t_env) * 1000
        c = recorder.start_step()
        writer.add(
            "steps",
            StepRow(
                episode_id=ep.episode_id,
                step=step,
                observation=text,
                action=decision.action,
                raw_action=decision.raw_action,
                action_valid=decision.valid,
                reward=outcome.reward,
                done=outcome.done,
                progression=outcome.progression,
                warnings=decision.warnings,
                n_log_turns=c.n_log_turns,
                n_plan_turns=c.n_plan_turns,
                n_ops=c.n_ops,
                n_writes=c.n_writes,
                tokens_in=c.tokens_in,
                tokens_out=c.tokens_out,
                llm_ms=c.llm_ms,
                env_ms=env_ms,
            ),
        )
        totals["steps"] = step + 1
        totals["reward"] += outcome.reward
        totals["progression"] = outcome.progression
        totals["invalid"] += 0 if decision.valid else 1
        totals["tokens_in"] += c.tokens_in
        totals["tokens_out"] += c.tokens_out
        totals["calls"] += c.llm_calls
        totals["retries"] += c.retries
        if (step + 1) % KEYFRAME_EVERY == 0:
            writer.add("memory_snapshots", _keyframe(ep.episode_id, step, agent.files))
        notice = (
            "" if decision.valid else invalid_action_notice(decision.raw_action, decision.action)
        )
        previous = decision.action
        obs = outcome.observation
        if outcome.done:
            return "done"
    return "max_steps"


def _keyframe(episode_id: str, step: int, files: MemoryFiles) -> MemorySnapshotRow:
    return MemorySnapshotRow(episode_id, step, encode_state(files.state))
