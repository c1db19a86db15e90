"""``automem fork``: an episode's game rebuilt at a step, its memory edited, played on.

The engine's modules are imported inside the command: ``automem --help`` stays quick."""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING, Any

from automem_core.cli.run_commands import (
    action_flags,
    action_model_from_args,
    executor_flags,
    fork_cluster,
    model_flags,
)
from automem_core.run.fork_edit import EDIT_SHAPES

if TYPE_CHECKING:
    from automem_core.llm.config import ModelConfig
    from automem_core.run.fork import Parent


def fork_models(args: argparse.Namespace, parent: Parent) -> tuple[ModelConfig, ModelConfig | None]:
    """The model flags' settings; without any, those the parent's run played with."""
    from automem_core.cli.run_commands import model_from_args
    from automem_core.run.fork import parent_models

    given = (args.config, args.base_url, args.model, args.api_key_env)
    action_given = (args.action_config, args.action_base_url, args.action_model)
    if not any(given) and not any(action_given):
        return parent_models(parent)
    model = model_from_args(args) if any(given) else parent_models(parent)[0]
    return model, action_model_from_args(args, model)


def _parent_progression(parent: Parent, step: int) -> float | None:
    """The parent's progression at ``step`` (its last step's when it ended before)."""
    import pyarrow.parquet as pq

    found = parent.found
    where: list[tuple[str, str, Any]] = [("step", "<=", step)]
    if found.in_part:
        where.append(("episode_id", "==", found.episode_id))
    table = pq.read_table(found.files["steps"], columns=["step", "progression"], filters=where)
    if not len(table):
        return None
    return float(table.sort_by("step")["progression"][-1].as_py())


def cmd_fork(args: argparse.Namespace) -> int:
    from automem_core.run.fork import ForkError, load_parent, resolve_edit
    from automem_core.run.fork_edit import render_edit
    from automem_core.run.fork_play import fork_episode

    where = fork_cluster(args)  # flags checked before anything is read
    parent = load_parent(args.data, args.episode)
    edit = resolve_edit(args.data, args.edit)
    with where as cluster:
        played = fork_episode(
            args.data, parent, args.step, edit, scaffold=args.scaffold,
            models=fork_models(args, parent), horizon=args.max_steps, samples=args.samples,
            run_id=args.run_id, concurrency=args.concurrency, progress=not args.quiet,
            cluster=cluster,
        )  # fmt: skip
        result, jobs = asyncio.run(played)
    if result.failed:
        raise ForkError(result.failed[0][1])
    on_ray = f" (on Ray, in {result.shares} shares)" if result.shares else ""
    print(
        f"fork run {result.run_id}: {len(result.rows)} forks of {parent.episode_id} at step "
        f"{args.step} played, {result.skipped} already finished{on_ray}"
    )
    print(f"  edit: {render_edit(edit)}")
    print(f"  horizon {jobs[0].horizon} steps")
    for row in sorted(result.rows, key=lambda r: r.episode_id):
        last = args.step + max(row.steps, 1) - 1
        theirs = _parent_progression(parent, last)
        compared = "" if theirs is None else f" (parent at step {last}: {100 * theirs:.1f}%)"
        print(
            f"  {row.episode_id}: {row.status}, {row.steps} steps, progression "
            f"{100 * row.progression:.1f}%{compared}, reward {row.total_reward:g}"
        )
    print(f"see the Replay page, run {result.run_id}, or `automem episodes --run {result.run_id}`")
    return 0 if all(r.status == "ok" for r in result.rows) else 1


def register(sub: argparse._SubParsersAction) -> list[argparse.ArgumentParser]:  # type: ignore[type-arg]
    f = sub.add_parser(
        "fork", help="replay an episode to a step, edit its memory, and play on from there"
    )
    f.add_argument("episode", metavar="EPISODE", help="the episode to fork (its id)")
    f.add_argument("--step", type=int, required=True, help="the step the fork starts at")
    f.add_argument(
        "--edit", metavar="EDIT",
        help=f"change the memory first: {EDIT_SHAPES} (JSON or @file; default: no edit)",
    )  # fmt: skip
    f.add_argument(
        "--scaffold", help="play on with this scaffold (default: the parent's own version)"
    )
    model_flags(f)
    action_flags(f)
    f.add_argument(
        "--max-steps", type=int, help="steps to play (default: as many as the parent had left)"
    )
    f.add_argument("--samples", type=int, default=1, help="forks to play (default 1)")
    f.add_argument("--concurrency", type=int, default=4,
                   help="forks at once (default 4; Ray: on each node)")  # fmt: skip
    executor_flags(f)
    f.add_argument("--run-id", help="name the fork run (default: derived from the settings)")
    f.set_defaults(func=cmd_fork, writes=True)
    return [f]
