"""``automem run`` and ``automem demo``: play episodes and log them."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automem_core.envs.registry import games, tasks_of
from automem_core.errors import UsageError
from automem_core.store.record_rows import SEED_SETS

if TYPE_CHECKING:
    from automem_core.llm.config import ModelConfig
    from automem_core.run.executor_kinds import ExecutorKind

DEMO_PLAN: tuple[tuple[str, tuple[str, ...], tuple[int, ...], int], ...] = (
    ("crafter", ("default",), (0, 1), 200),
    ("minihack", ("MazeWalk-9x9", "Corridor-R3"), (0, 1), 100),
    ("nethack", ("NetHackChallenge",), (0,), 200),
)


def parse_seeds(text: str) -> list[int]:
    """``0-4`` or ``1,5,9`` or a mix: ``0-2,10``."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            first, last = int(lo), int(hi) if sep else int(lo)
        except ValueError:
            raise UsageError(f"--seeds {text!r}: use numbers, ranges like 0-9, or lists") from None
        if first < 0 or last < first:
            raise UsageError(f"--seeds {part!r}: seeds are >= 0 and ranges go up, e.g. 3-5")
        seeds.extend(range(first, last + 1))
    if not seeds:
        raise UsageError("--seeds is empty; give e.g. --seeds 0-4")
    return seeds


def _model_config(
    path: str | None, base_url: str | None, model: str | None, api_key_env: str | None
) -> ModelConfig:
    from automem_core.llm.config import ModelConfig, load_model_config, parse_model_config

    cfg = load_model_config(Path(path)) if path else ModelConfig()
    updates = {
        k: v
        for k, v in {"base_url": base_url, "model": model, "api_key_env": api_key_env}.items()
        if v
    }
    if not updates:
        return cfg
    if base_url or model:
        updates["backend"] = "openai"
    return parse_model_config({**cfg.model_dump(exclude_unset=True), **updates}, source="flags")


def model_flags(p: argparse.ArgumentParser, memory_names: bool = False) -> None:
    """The player's model: a config file, or an endpoint and model (embedded when none).
    ``memory_names`` adds ``--memory-base-url`` / ``--memory-model`` (for two-client runs)."""
    also = ("--memory-base-url",) if memory_names else ()
    p.add_argument("--config", help="model config file (YAML/TOML)")
    p.add_argument(
        "--base-url", *also, dest="base_url",
        help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1",
    )  # fmt: skip
    also = ("--memory-model",) if memory_names else ()
    p.add_argument("--model", *also, dest="model", help="model name at that endpoint")
    p.add_argument("--api-key-env", help="environment variable holding the API key")


def model_from_args(args: argparse.Namespace) -> ModelConfig:
    return _model_config(args.config, args.base_url, args.model, args.api_key_env)


def action_model_from_args(args: argparse.Namespace, model: ModelConfig) -> ModelConfig | None:
    """The separate action model the ``--action-*`` flags ask for (None: the memory model acts)."""
    from automem_core.llm.config import parse_model_config

    if args.action_config:
        return _model_config(args.action_config, args.action_base_url, args.action_model, None)
    if args.action_model or args.action_base_url:  # same endpoint settings, another model
        changes = {"backend": "openai", "model": args.action_model or model.model}
        if args.action_base_url:
            changes["base_url"] = args.action_base_url
        return parse_model_config({**model.model_dump(), **changes}, source="flags")
    return None


def action_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--action-config", help="separate model config for the action turn")
    p.add_argument("--action-base-url", help="endpoint of the action model")
    p.add_argument(
        "--action-model", help="model that commits game actions (memory model does the rest)"
    )


def executor_flags(p: argparse._ActionsContainer) -> None:
    """``--executor`` and ``--ray-address``: who plays the episodes."""
    from automem_core.run.executor_kinds import EXECUTORS

    p.add_argument(
        "--executor", choices=EXECUTORS, default="local",
        help="local: this machine (--workers processes); ray: a Ray cluster (default local)",
    )  # fmt: skip
    p.add_argument(
        "--ray-address", metavar="ADDR",
        help="the Ray cluster to join, e.g. head-node:6379 (its GCS address; default: start a "
        "local one for the run)",
    )  # fmt: skip


def executor_settings(args: argparse.Namespace) -> tuple[ExecutorKind, str | None]:
    """(executor, Ray address) as ``executor_flags`` gave them; --ray-address alone is refused."""
    if args.ray_address and args.executor != "ray":
        raise UsageError("--ray-address needs --executor ray")
    return args.executor, args.ray_address


def fork_cluster(args: argparse.Namespace) -> contextlib.AbstractContextManager[Any]:
    """Where forks play (``--executor``): None for this machine, or the Ray cluster joined for
    the command (``run/fork_ray.py``)."""
    executor, address = executor_settings(args)
    if executor != "ray":
        return contextlib.nullcontext(None)
    from automem_core.run.fork_ray import RayForks

    return RayForks(address)


def cmd_run(args: argparse.Namespace) -> int:
    from automem_core.llm.base import LLMConfigError
    from automem_core.run.config import make_run_config
    from automem_core.run.runner import run
    from automem_core.store.remote import shown_root

    tasks = args.tasks.split(",") if args.tasks else list(tasks_of(args.game)[:1])
    if not args.seeds and args.episodes < 1:
        raise UsageError(f"--episodes {args.episodes}: play at least 1 episode")
    seeds = parse_seeds(args.seeds) if args.seeds else list(range(args.episodes))
    executor, ray_address = executor_settings(args)
    model = model_from_args(args)
    action_model = action_model_from_args(args, model)
    if args.training:  # refuses seeds the specialist learned from
        from automem_core.export.ledger import check_evaluation_seeds

        check_evaluation_seeds(args.data, args.training, args.game, seeds)
    cfg = make_run_config(
        game=args.game,
        tasks=tasks,
        seeds=seeds,
        seed_set=args.seed_set,
        data=args.data,
        scaffold=args.scaffold,
        model=model,
        action_model=action_model,
        max_steps=args.max_steps,
        concurrency=args.concurrency,
        workers=args.workers,
        executor=executor,
        ray_address=ray_address,
        replay_from=args.replay_from,
        run_id=args.run_id,
        training_id=args.training,
        **({} if args.model_error_threshold is None else
           {"model_error_threshold": args.model_error_threshold}),
    )  # fmt: skip
    result = asyncio.run(run(cfg, progress=not args.quiet))
    failed = [e for e in result.episodes if e.status != "ok"]
    print(
        f"run {result.run_id}: {len(result.episodes)} episodes played, "
        f"{result.skipped} already finished, {len(failed)} not clean"
    )
    for e in failed:
        detail = e.error or f"{e.failed_calls} of {e.llm_calls} model calls failed"
        print(f"  {e.episode_id}: {e.status}: {detail}")
    where = shown_root(args.data)
    print(f"data in {where}; see `automem runs --data {where}`")
    silent = [e for e in result.episodes if e.llm_calls and e.failed_calls == e.llm_calls]
    if result.episodes and len(silent) == len(result.episodes):
        raise LLMConfigError(
            f"the model never answered in run {result.run_id} (every call failed); "
            "check the endpoint, model name and key, then run the same command again"
        )
    return 1 if failed else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from automem_core.run.config import make_run_config
    from automem_core.run.runner import run

    failed = 0
    crafter_run = None
    for game, tasks, seeds, max_steps in DEMO_PLAN:
        steps = args.max_steps or max_steps
        print(
            f"demo: {game} {','.join(tasks)} seeds {list(seeds)} ({steps} steps, embedded player)"
        )
        cfg = make_run_config(
            game=game, tasks=tasks, seeds=seeds, data=args.data, max_steps=steps, concurrency=4
        )
        result = asyncio.run(run(cfg, progress=not args.quiet))
        crafter_run = result.run_id if game == "crafter" else crafter_run
        for e in result.episodes:
            if e.status != "ok":
                failed += 1
                print(f"  {e.episode_id} failed: {e.error}")
    if crafter_run is not None and not args.no_loops:
        from automem_core.cli.demo import seed_loops

        seed_loops(args.data, crafter_run, print)
    print(f"demo data written to {args.data}" + (f" ({failed} episodes failed)" if failed else ""))
    return 1 if failed else 0


def register(sub: argparse._SubParsersAction) -> list[argparse.ArgumentParser]:  # type: ignore[type-arg]
    r = sub.add_parser("run", help="play episodes and log them")
    r.add_argument("--game", required=True, choices=games())
    r.add_argument("--tasks", help="comma-separated tasks (default: the game's first)")
    seeds = r.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", help="e.g. 0-9 or 1,4,7")
    seeds.add_argument("--episodes", type=int, default=1, help="seeds 0..N-1 (default 1)")
    r.add_argument(
        "--seed-set", choices=SEED_SETS, help="name the seeds' role (the loops keep sets apart)"
    )
    r.add_argument(
        "--scaffold", help="built-in id (e.g. crafter-v0), a stored version id@hash8, or a folder"
    )
    model_flags(r, memory_names=True)
    action_flags(r)
    r.add_argument("--max-steps", type=int, help="step cap per episode")
    r.add_argument("--concurrency", type=int, default=4, help="episodes at once (default 4)")
    r.add_argument(
        "--workers", type=int, default=1,
        help="processes (Ray: tasks) sharing the episodes (default 1; Ray: one per CPU)",
    )  # fmt: skip
    executor_flags(r)
    r.add_argument(
        "--model-error-threshold", type=float, metavar="SHARE",
        help="share of failed model calls above which an episode is model_error, not degraded "
        "(default 0.1)",
    )  # fmt: skip
    r.add_argument("--run-id", help="name the run (default: derived from the settings)")
    r.add_argument(
        "--training", metavar="TRAINING_ID", help="the trained specialist this run evaluates"
    )
    r.add_argument(
        "--replay-from", metavar="RUN_ID", help="answer every turn as recorded in that run"
    )
    r.set_defaults(func=cmd_run, writes=True)

    d = sub.add_parser("demo", help="seed a small demo of each game with the embedded player")
    d.add_argument("--max-steps", type=int, help="step cap per demo episode")
    d.add_argument(
        "--no-loops", action="store_true", help="only the games: no mined decisions, no proposals"
    )
    d.set_defaults(func=cmd_demo, writes=True)
    return [r, d]
