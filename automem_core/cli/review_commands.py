"""Loop 1 commands: ``review``, ``proposals``, ``approve``, ``reject``, ``evaluate``,
``optimize`` and ``versions``."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automem_core.cli.author import author_flag, author_of
from automem_core.cli.run_commands import (
    executor_flags,
    executor_settings,
    model_flags,
    model_from_args,
    parse_seeds,
)
from automem_core.envs.registry import games, tasks_of
from automem_core.errors import UsageError
from automem_core.store.record_rows import GATE_RULES

if TYPE_CHECKING:
    import pandas as pd

    from automem_core.review.evaluate import LoopSettings
    from automem_core.review.review import Reviewer

SEED_FLAGS = ("review", "gating", "heldout")


def _reviewer(args: argparse.Namespace) -> Reviewer:
    if args.reviewer_config:
        from automem_core.review.llm_reviewer import LLMReviewer, load_reviewer_config

        return LLMReviewer(load_reviewer_config(Path(args.reviewer_config)))
    from automem_core.review.embedded import EmbeddedReviewer

    return EmbeddedReviewer()


def _flag_seeds(args: argparse.Namespace) -> dict[str, tuple[int, ...] | None]:
    return {
        name: tuple(parse_seeds(text)) if (text := getattr(args, f"{name}_seeds")) else None
        for name in SEED_FLAGS
    }


def _settings(
    args: argparse.Namespace,
    game: str,
    seeds: dict[str, tuple[int, ...]] | None = None,
    tasks: tuple[str, ...] | None = None,
    max_steps: int | None = None,
) -> LoopSettings:
    from automem_core.review.evaluate import LoopSettings
    from automem_core.review.loop_settings import DEFAULT_SEEDS

    if args.tasks:
        tasks = tuple(args.tasks.split(","))
    tasks = tasks or tuple(tasks_of(game)[:1])
    if seeds is None:
        seeds = {k: v or DEFAULT_SEEDS[k] for k, v in _flag_seeds(args).items()}
    executor, ray_address = executor_settings(args)
    settings = LoopSettings(
        game=game, tasks=tasks, seeds=seeds, model=model_from_args(args),
        max_steps=args.max_steps if args.max_steps is not None else max_steps,
        concurrency=args.concurrency, rule=args.rule, same_seeds=args.same_seeds,
        progress=not args.quiet, executor=executor, ray_address=ray_address,
    )  # fmt: skip
    settings.check()
    return settings


def _span(seeds: tuple[int, ...]) -> str:
    return (
        f"{min(seeds)}-{max(seeds)}"
        if seeds == tuple(range(min(seeds), max(seeds) + 1))
        else ",".join(map(str, seeds))
    )


def _table(frame: pd.DataFrame) -> str:
    import pandas as pd

    with pd.option_context("display.max_colwidth", 60, "display.width", 200):
        return str(frame.to_string(index=False, na_rep="–"))


def cmd_review(args: argparse.Namespace) -> int:
    from automem_core.analysis.runs import load_runs
    from automem_core.review.review import review
    from automem_core.scaffold import resolve_scaffold

    runs = load_runs(args.data)
    chosen = runs[runs["run"].isin(args.run)]
    missing = sorted(set(args.run) - set(chosen["run"]))
    if missing:
        raise UsageError(f"no run {missing[0]!r} in {args.data}; list them with `automem runs`")
    versions = set(chosen["scaffold"])
    if len(versions) > 1:
        raise UsageError(f"the runs played different scaffolds ({', '.join(sorted(versions))}); "
                         "review runs of one version")  # fmt: skip
    game = str(chosen["game"].iloc[0])
    parent = resolve_scaffold(versions.pop(), game, args.data)
    reviewer = _reviewer(args)
    row = asyncio.run(review(args.data, reviewer, parent, list(args.run), args.same_seeds))
    if row is None:
        print(f"{reviewer.label}: no valid proposal (see `automem proposals --all`)")
        return 1
    print(f"proposed {row.proposal_id}: {row.summary}")
    print(f"  candidate {row.candidate_version} from {row.parent_version}")
    print(f"  approve:  automem approve {row.proposal_id} --reason '…'")
    return 0


def cmd_proposals(args: argparse.Namespace) -> int:
    from automem_core.review.proposals import load_proposals

    found = load_proposals(args.data)
    if not args.all:
        found = found[found["event"] != "invalid"]
    if args.status:
        found = found[found["event"] == args.status]
    if found.empty:
        print("no proposals; make one with `automem review --run RUN`")
        return 0
    shown = found[["proposal_id", "event", "parent_version", "candidate_version", "reviewer",
                   "cost_usd", "summary", "reason"]]  # fmt: skip
    print(_table(shown.rename(columns={"event": "status"})))
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    from automem_core.review.proposals import approve, approve_edited

    author = author_of(args, "approvals")
    if args.patch:
        patch: list[dict[str, Any]] = json.loads(Path(args.patch).read_text(encoding="utf-8"))
        row = approve_edited(args.data, args.proposal, author, args.reason, patch)
    else:
        row = approve(args.data, args.proposal, author, args.reason)
    print(f"{row.proposal_id}: {row.event} by {row.author} ({row.candidate_version})")
    print(f"  gate it: automem evaluate {row.proposal_id}  (or let `automem optimize` do it)")
    return 0


def cmd_reject(args: argparse.Namespace) -> int:
    from automem_core.review.proposals import reject

    row = reject(args.data, args.proposal, author_of(args, "rejections"), args.reason)
    print(f"{row.proposal_id}: rejected by {row.author}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from automem_core.review.evaluate import gate_proposal, report_heldout
    from automem_core.review.loop_settings import check_review_overlap, gate_seeds
    from automem_core.review.proposals import latest
    from automem_core.scaffold import load_version

    executor_settings(args)  # a flag misuse is reported before the store is read
    proposal = latest(args.data, args.proposal)
    game = load_version(args.data, proposal.parent_version).game
    chosen = gate_seeds(args.data, proposal, _flag_seeds(args), args.max_steps)
    check_review_overlap(args.data, proposal, chosen, args.same_seeds)
    settings = _settings(args, game, chosen.seeds, chosen.tasks, chosen.max_steps)
    gating, heldout = _span(chosen.seeds["gating"]), _span(chosen.seeds["heldout"])
    steps = chosen.max_steps or "the game's default"
    print(f"gating on seeds {gating}, held-out {heldout}, {steps} steps ({chosen.source})")
    row = asyncio.run(gate_proposal(args.data, settings, args.proposal))
    print(f"gate ({row.rule}) on {row.pairs} pairs, {row.dropped_pairs} dropped: "
          f"{row.verdict} — {row.reason}")  # fmt: skip
    if row.verdict == "accepted":
        held = asyncio.run(report_heldout(
            args.data, settings, row.version, row.parent_version, args.proposal))  # fmt: skip
        print(f"held-out: {held.mean:.1f} vs {held.parent_mean:.1f} for its parent")
    return 0 if row.verdict == "accepted" else 1


def cmd_optimize(args: argparse.Namespace) -> int:
    from automem_core.review.optimize import OptimizeConfig, optimize

    config = OptimizeConfig(
        settings=_settings(args, args.game), reviewer=_reviewer(args),
        start=args.start or f"{args.game}-v0", iterations=args.iterations,
        auto_approve=args.auto_approve, budget_episodes=args.budget_episodes,
        budget_usd=args.budget_usd, loop_id=args.loop_id,
    )  # fmt: skip
    state = asyncio.run(optimize(args.data, config, say=print))
    print(f"{state.loop_id}: {state.iteration} iterations, current version {state.current}")
    print("lineage: automem versions (or the Revisions page)")
    return 0


def cmd_versions(args: argparse.Namespace) -> int:
    import pandas as pd

    from automem_core.review.versions import load_lineage

    found = load_lineage(args.data)
    if found.empty:
        print("no versions yet; start Loop 1 with `automem optimize --game GAME`")
        return 0
    columns = ["version", "parent", "status", "gating", "parent_gating", "heldout",
               "parent_heldout", "episodes", "tokens", "reviewer_cost", "summary"]  # fmt: skip
    shown = found.reindex(columns=columns)
    for c in ("gating", "parent_gating", "heldout", "parent_heldout"):
        shown[c] = shown[c].map(lambda v: "–" if pd.isna(v) else f"{v:.1f}")
    for c in ("episodes", "tokens"):
        shown[c] = shown[c].map(lambda v: "–" if pd.isna(v) else f"{int(v):,}")
    shown["reviewer_cost"] = shown["reviewer_cost"].map(
        lambda v: "–" if pd.isna(v) else f"${v:.2f}"
    )
    print(_table(shown))
    print("gating and heldout: clean progression ×100 on those seed sets (parent's beside it)")
    return 0


def _loop_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tasks", help="comma-separated tasks (default: the game's first)")
    for name in SEED_FLAGS:
        p.add_argument(
            f"--{name}-seeds",
            help="default: the loop's recorded set, else the "
            "project's default (review 0-4, gating 100-109, held-out 200-209)",
        )
    p.add_argument(
        "--same-seeds", action="store_true", help="let the seed sets overlap (marked in lineage)"
    )
    p.add_argument(
        "--rule", choices=GATE_RULES, default="strict",
        help="strict: the mean must rise; bootstrap: the 95%% lower bound must be above 0",
    )  # fmt: skip
    p.add_argument("--max-steps", type=int, help="step cap per episode")
    p.add_argument("--concurrency", type=int, default=4, help="episodes at once (default 4)")
    executor_flags(p)
    model_flags(p)


def _reviewer_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reviewer-config", help="LLM reviewer config (YAML); embedded when none")


def register(sub: argparse._SubParsersAction) -> list[argparse.ArgumentParser]:  # type: ignore[type-arg]
    r = sub.add_parser("review", help="propose a scaffold revision from runs' episodes")
    r.add_argument("--run", action="append", required=True, help="a reviewed run (repeatable)")
    r.add_argument("--same-seeds", action="store_true", help="mark that gating reuses its seeds")
    _reviewer_flag(r)
    r.set_defaults(func=cmd_review, writes=True)

    ps = sub.add_parser("proposals", help="list proposals and their state")
    ps.add_argument("--status", help="only this state (proposed, approved, accepted, …)")
    ps.add_argument("--all", action="store_true", help="also those refused by validation")
    ps.set_defaults(func=cmd_proposals)

    a = sub.add_parser("approve", help="approve a proposal (optionally with an edited patch)")
    a.add_argument("proposal")
    a.add_argument("--reason", required=True, help="why (kept with the decision)")
    a.add_argument("--patch", help="JSON file with your edit of the patch (validated again)")
    author_flag(a, "approvals")
    a.set_defaults(func=cmd_approve, writes=True)

    j = sub.add_parser("reject", help="reject a proposal")
    j.add_argument("proposal")
    j.add_argument("--reason", required=True, help="why (kept with the decision)")
    author_flag(j, "rejections")
    j.set_defaults(func=cmd_reject, writes=True)

    e = sub.add_parser("evaluate", help="gate an approved proposal against its parent")
    e.add_argument("proposal")
    _loop_flags(e)
    e.set_defaults(func=cmd_evaluate, writes=True)

    o = sub.add_parser("optimize", help="run Loop 1 unattended (resumable)")
    o.add_argument("--game", required=True, choices=games())
    o.add_argument("--iterations", type=int, default=3, help="reviews to make (default 3)")
    o.add_argument("--start", help="version to start from (default: the game's v0)")
    o.add_argument("--auto-approve", action="store_true", help="approve every valid proposal")
    o.add_argument("--budget-episodes", type=int, help="stop after this many episodes")
    o.add_argument(
        "--budget-usd", type=float, help="stop once the reviewer and the agent together spent this"
    )
    o.add_argument("--loop-id", help="name the loop (default: from the game and start)")
    _loop_flags(o)
    _reviewer_flag(o)
    o.set_defaults(func=cmd_optimize, writes=True)

    v = sub.add_parser("versions", help="the scaffold versions' lineage with both seed sets")
    v.set_defaults(func=cmd_versions)
    return [r, ps, a, j, e, o, v]
