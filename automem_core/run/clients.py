"""The model clients a run plays with: from its model settings, or replayed from a recorded run."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from automem_core.envs.registry import text_format
from automem_core.llm.base import LLMClient, LLMConfigError
from automem_core.llm.factory import make_client
from automem_core.llm.replay import ReplayClient
from automem_core.run.plan import RunPlan
from automem_core.store.layout import Layout
from automem_core.store.reader import query_store


def load_replay(data: Path, source_run: str, target_run: str) -> tuple[ReplayClient, bool]:
    """A client answering every turn as it was answered in ``source_run`` (same task and seed),
    and whether that run had a separate action client (then the replay plays both parts)."""
    rows = query_store(
        data,
        lambda con: con.execute(
            "SELECT episode_id, step, phase, turn, completion FROM turns "
            "WHERE starts_with(episode_id, ?)",
            [f"{source_run}."],
        ).fetchall(),
        tables=("turns",),
        run_ids=[source_run],
    )
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


def check_replay_source(plan: RunPlan) -> None:
    """Refuse, before the first step, to replay a run that did not play these episodes under
    the same game and observation text: its answers would belong to other prompts."""
    cfg, source = plan.cfg, plan.cfg.replay_from
    if source is None:
        return
    try:
        (row,) = pq.read_table(Layout(cfg.data).run_file(source)).to_pylist()
    except (OSError, ValueError, pa.ArrowException):
        raise LLMConfigError(
            f"--replay-from {source}: no readable run of that id in {cfg.data}; see `automem runs`"
        ) from None
    if row["game"] != cfg.game:
        raise LLMConfigError(f"--replay-from {source}: it played {row['game']}, not {cfg.game}")
    missing = [(t, s) for t in cfg.tasks for s in cfg.seeds
               if t not in row["tasks"] or s not in row["seeds"]]  # fmt: skip
    if missing:
        task, seed = missing[0]
        raise LLMConfigError(
            f"--replay-from {source}: it did not play {task} seed {seed}; replay only its "
            f"tasks ({','.join(row['tasks'])}) and seeds ({_seed_list(row['seeds'])})"
        )
    recorded, current = row.get("text_format") or "1", text_format(cfg.game)
    if recorded != current:
        raise LLMConfigError(
            f"--replay-from {source}: it saw observation text version {recorded} and this "
            f"AutoMem writes version {current}; its answers belong to other prompts, so record "
            "the run again instead"
        )


def _seed_list(seeds: list[int]) -> str:
    return ",".join(str(s) for s in seeds[:12]) + ("…" if len(seeds) > 12 else "")


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
