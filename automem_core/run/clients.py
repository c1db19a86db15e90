"""The model clients a run plays with: from its model settings, or replayed from a recorded run."""

from __future__ import annotations

from pathlib import Path

from automem_core.llm.base import LLMClient, LLMConfigError
from automem_core.llm.factory import make_client
from automem_core.llm.replay import ReplayClient
from automem_core.run.plan import RunPlan
from automem_core.store.reader import connect


def load_replay(data: Path, source_run: str, target_run: str) -> tuple[ReplayClient, bool]:
    """A client answering every turn as it was answered in ``source_run`` (same task and seed),
    and whether that run had a separate action client (then the replay plays both parts)."""
    con = connect(data)
    rows = con.execute(
        "SELECT episode_id, step, phase, turn, completion FROM turns "
        "WHERE starts_with(episode_id, ?)",
        [f"{source_run}."],
    ).fetchall()
    con.close()
    if not rows:
        raise LLMConfigError(f"no recorded turns for run {source_run!r}; see `automem runs`")
    prefix = len(source_run)
    client = ReplayClient.from_rows(
        (
            {
                "episode_id": target_run + eid[prefix:],
                "step": step,
                "phase": phase,
                "turn": turn,
                "completion": text,
            }
            for eid, step, phase, turn, text in rows
        ),
        label=f"replay:{source_run}",
    )
    return client, any(phase == "action" for _e, _s, phase, _t, _c in rows)


def make_clients(plan: RunPlan) -> tuple[LLMClient, LLMClient | None]:
    """(memory client, action client or None when the memory client also commits actions)."""
    cfg = plan.cfg
    if cfg.replay_from:
        replay, split = load_replay(cfg.data, cfg.replay_from, plan.run_id)
        return replay, (replay if split else None)
    memory = make_client(cfg.model, cfg.game)
    action = make_client(cfg.action_model, cfg.game) if cfg.action_model else None
    return memory, action


async def check_endpoints(plan: RunPlan) -> tuple[str, str]:
    """Fail the run with one line when an endpoint cannot be reached; return the client labels."""
    memory, action = make_clients(plan)
    try:
        for client in (memory, action):
            check = getattr(client, "check", None)
            problem = await check() if check else None
            if problem:
                raise LLMConfigError(problem)
    finally:
        await memory.aclose()
        if action:
            await action.aclose()
    return memory.label, (action or memory).label
