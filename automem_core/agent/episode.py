"""One episode from reset to end, recorded row by row into an EpisodeWriter; or, for a fork, from
the step its parent's game was rebuilt at (:class:`EpisodeStart`) to its end."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from automem_core.agent.actions import default_action_notice
from automem_core.agent.records import ModelUnavailableError, StepCounters, StepRecorder
from automem_core.agent.step import Agent, AgentSetup, StepDecision
from automem_core.envs.base import GameEnv, Observation
from automem_core.memory import FilePolicy, MemoryFiles, MemoryLimits, MemoryState
from automem_core.scaffold.value import Scaffold
from automem_core.store.memory_at import INITIAL_STEP, encode_state
from automem_core.store.schema import (
    EndReason,
    EpisodeRow,
    EpisodeStatus,
    FrameRow,
    MemorySnapshotRow,
    StepRow,
    utc_now,
)
from automem_core.store.writer import EpisodeWriter

log = logging.getLogger(__name__)
# Steps between full memory snapshots (memory_at replays at most this many); every episode also
# has one of its initial files and one of its memory at the end.
KEYFRAME_EVERY = 200


@dataclass(frozen=True)
class EpisodeSpec:
    episode_id: str
    run_id: str
    game: str
    task: str
    seed: int
    max_steps: int
    model_error_threshold: float = 0.1  # above this share of failed calls: model_error


@dataclass(frozen=True)
class EpisodeStart:
    """Where a fork begins: its parent's game rebuilt at ``step`` (``run/fork_replay.py``) and
    the memory it starts with (``run/fork_memory.py``). Its keyframe is stored at ``step - 1``,
    as an episode's initial files are at ``INITIAL_STEP``."""

    step: int
    observation: Observation  # what the game shows at ``step``
    notice: str  # the line that starts that observation ('' when none)
    previous_action: str | None
    memory: MemoryState
    # (observation text, position) of the steps before, oldest first: what the helpers compare
    seen: tuple[tuple[str, object], ...]
    last_facts: Mapping[str, object] | None  # the facts of the step before
    parent_episode_id: str
    edit_json: str


def make_memory(scaffold: Scaffold, folder: Path) -> MemoryFiles:
    """The memory folder of an episode with the scaffold's files, policies and caps."""
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
    # Files the agent CREATEs have no line cap; the byte and file-count caps still hold.
    default = FilePolicy(max_lines=None, prune="none")
    return MemoryFiles(folder, limits, policies, default, spec.map_file)


@dataclass
class Totals:
    """The episode's running totals, turned into its row at the end."""

    steps: int = 0
    reward: float = 0.0
    progression: float = 0.0
    invalid: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    calls: int = 0
    failed_calls: int = 0
    failure_defaults: int = 0
    retries: int = 0

    def add_step(self, c: StepCounters, decision: StepDecision, reward: float) -> None:
        self.steps += 1
        self.reward += reward
        self.invalid += decision.source in ("invalid", "missing")
        self.failure_defaults += decision.source == "failure"
        self.tokens_in += c.tokens_in
        self.tokens_out += c.tokens_out
        self.calls += c.llm_calls
        self.failed_calls += c.failed_calls
        self.retries += c.retries


def episode_status(totals: Totals, threshold: float) -> EpisodeStatus:
    """ok when every model call answered; degraded when some failed; model_error above
    ``threshold`` (a share of the calls)."""
    if totals.failed_calls == 0:
        return "ok"
    if totals.failed_calls > threshold * max(1, totals.calls):
        return "model_error"
    return "degraded"


async def run_episode(
    env: GameEnv,
    setup: AgentSetup,
    writer: EpisodeWriter,
    ep: EpisodeSpec,
    start: EpisodeStart | None = None,
) -> EpisodeRow:
    """Play one episode (from ``start`` for a fork, at most ``ep.max_steps`` steps); any failure
    becomes an ``error`` episode row instead of an exception."""
    started, t0 = utc_now(), time.perf_counter()
    recorder = StepRecorder(ep.episode_id, writer.add)
    totals = Totals()
    status: EpisodeStatus = "ok"
    end_reason: EndReason = "max_steps"
    error = None
    files = None
    try:
        files = make_memory(setup.scaffold, writer.memory_dir)
        first = 0 if start is None else start.step
        if start is None:
            files.initialise(setup.scaffold.initial_files, step=INITIAL_STEP)
        else:
            files.restore(start.memory)
        writer.add("memory_snapshots", _keyframe(ep.episode_id, first - 1, files))
        agent = Agent(setup, files, recorder, ep.episode_id)
        if start is not None:
            agent.helpers.resume(start.seen, start.last_facts)
        end_reason = await _play(env, agent, writer, recorder, ep, totals, start)
        last = first + totals.steps - 1
        if last >= first and (last + 1) % KEYFRAME_EVERY:  # memory at the end, for file growth
            writer.add("memory_snapshots", _keyframe(ep.episode_id, last, agent.files))
        status = episode_status(totals, ep.model_error_threshold)
    except ModelUnavailableError as exc:  # the model stopped answering: not a result
        log.warning("episode %s stopped: %s", ep.episode_id, exc)
        unfinished = recorder.counters  # the calls of the step that was cut short
        totals.calls += unfinished.llm_calls
        totals.failed_calls += unfinished.failed_calls
        status, end_reason, error = "model_error", "error", str(exc)
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
        steps=totals.steps,
        total_reward=totals.reward,
        progression=totals.progression,
        invalid_actions=totals.invalid,
        tokens_in=totals.tokens_in,
        tokens_out=totals.tokens_out,
        llm_calls=totals.calls,
        failed_calls=totals.failed_calls,
        failure_defaults=totals.failure_defaults,
        retries=totals.retries,
        wall_s=time.perf_counter() - t0,
        started_at=started,
        finished_at=utc_now(),
        parent_episode_id=start.parent_episode_id if start else None,
        fork_step=start.step if start else None,
        fork_edit_json=start.edit_json if start else None,
    )


async def _play(
    env: GameEnv,
    agent: Agent,
    writer: EpisodeWriter,
    recorder: StepRecorder,
    ep: EpisodeSpec,
    totals: Totals,
    start: EpisodeStart | None,
) -> EndReason:
    if start is None:
        obs, notice, previous, first = env.reset(ep.seed), "", None, 0
    else:
        obs, notice, previous = start.observation, start.notice, start.previous_action
        first = start.step
    for step in range(first, first + ep.max_steps):
        writer.add("frames", FrameRow(ep.episode_id, step, obs.frame.kind, obs.frame.data))
        text = f"{notice}\n{obs.text}" if notice else obs.text
        await asyncio.sleep(0)  # let other episodes and the run's heartbeat have a turn
        decision = await agent.act(step, text, obs.facts, previous)
        t_env = time.perf_counter()
        outcome = env.step(decision.action)
        env_ms = (time.perf_counter() - t_env) * 1000
        c = recorder.start_step()
        recorder.emit(  # observations and warnings are cleaned like model text
            "steps",
            StepRow(
                episode_id=ep.episode_id,
                step=step,
                observation=text,
                action=decision.action,
                raw_action=decision.raw_action,
                action_valid=decision.valid,
                action_source=decision.source,
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
        totals.add_step(c, decision, outcome.reward)
        totals.progression = outcome.progression
        if (step + 1) % KEYFRAME_EVERY == 0:
            writer.add("memory_snapshots", _keyframe(ep.episode_id, step, agent.files))
        notice = (
            ""
            if decision.valid
            else default_action_notice(decision.raw_action, decision.action, decision.source)
        )
        previous = decision.action
        obs = outcome.observation
        if outcome.done:
            return "done"
    return "max_steps"


def _keyframe(episode_id: str, step: int, files: MemoryFiles) -> MemorySnapshotRow:
    return MemorySnapshotRow(episode_id, step, encode_state(files.state))
