"""``automem search``: find where any text the agent saw, wrote or read occurs, across runs.

The engine's modules are imported inside the command: ``automem --help`` stays quick."""

from __future__ import annotations

import argparse
import json
import re
from typing import TYPE_CHECKING

from automem_core.errors import UsageError

if TYPE_CHECKING:
    from automem_core.search.filters import SearchFilters

QUERY_HELP = (
    'words, "a phrase", prefix*, field:/regex/, AND OR NOT -word ( ), and properties such as '
    "kind:SEARCH access:write file:notes step:[10 TO 20]; fields: observation action completion "
    "op result memory rationale note"
)
_STEPS = re.compile(r"^\s*(\d*)\s*(?:-|\.\.)\s*(\d*)\s*$|^\s*(\d+)\s*$")


def _csv(values: list[str] | None) -> tuple[str, ...]:
    return tuple(p.strip() for v in values or [] for p in v.split(",") if p.strip())


def parse_steps(text: str | None) -> tuple[int | None, int | None]:
    """``10-20``, ``10-``, ``-20`` or ``12`` as (first, last) step."""
    if not text:
        return None, None
    m = _STEPS.match(text)
    if m is None:
        raise UsageError(f"--steps {text!r}: give a range such as 10-20, 10- or -20")
    if m.group(3):
        return int(m.group(3)), int(m.group(3))
    low, high = (int(g) if g else None for g in m.group(1, 2))
    if low is not None and high is not None and high < low:
        raise UsageError(f"--steps {text!r}: the last step comes before the first")
    return low, high


def filters_of(args: argparse.Namespace) -> SearchFilters:
    from automem_core.search.filters import SearchFilters

    low, high = parse_steps(args.steps)
    return SearchFilters(
        runs=_csv(args.run),
        games=_csv(args.game),
        tasks=_csv(args.task),
        versions=_csv(args.version),
        seed_sets=_csv(args.seed_set),
        statuses=_csv(args.status),
        phases=_csv(args.phase),
        kinds=_csv(args.kind),
        sources=_csv(args.source),
        step_min=low,
        step_max=high,
    )


def cmd_search(args: argparse.Namespace) -> int:
    from automem_core.search import report

    filters = filters_of(args)
    if args.then is not None:
        from automem_core.search.sequence import sequence_search

        found = sequence_search(
            args.data, args.query, args.then, args.within, absent=args.never,
            filters=filters, limit=args.limit,
        )  # fmt: skip
        print(json.dumps(report.sequence_json(found), indent=1) if args.json
              else report.render_sequence(found))  # fmt: skip
        return 0
    if args.never:
        raise UsageError("--never needs --then QUERY (the text that must not follow)")
    from automem_core.search.engine import search

    result = search(
        args.data,
        args.query,
        filters,
        limit=args.limit,
        order="step" if args.first else "relevance",
    )
    print(json.dumps(report.result_json(result), indent=1) if args.json
          else report.render_result(result))  # fmt: skip
    return 0


def register(sub: argparse._SubParsersAction) -> list[argparse.ArgumentParser]:  # type: ignore[type-arg]
    s = sub.add_parser(
        "search",
        help="find text the agent saw, wrote or read (observations, completions, ops, memory)",
        description="Search every run's observations, LLM completions, memory ops and results, "
        "memory lines (with the steps each existed), proposals' rationales and labels' notes.",
    )
    s.add_argument("query", help=QUERY_HELP)
    group = s.add_argument_group("filters (comma-separated values are alternatives)")
    for flag, what in (
        ("--run", "run ids"),
        ("--game", "games"),
        ("--task", "tasks"),
        ("--version", "scaffold versions (id@hash8)"),
        ("--seed-set", "seed sets (review, gating, heldout, mining)"),
        ("--status", "episode statuses (ok, degraded, model_error, error)"),
        ("--phase", "phases (observation, helper, log, plan, action, init)"),
        ("--kind", "op kinds (SEARCH, APPEND, …)"),
        ("--source", "observation, turn, op, memory, proposal, label"),
    ):
        group.add_argument(flag, action="append", metavar="V[,V…]", help=f"only these {what}")
    group.add_argument(
        "--steps", metavar="A-B", help="only steps A to B (memory lines there at any of them)"
    )
    s.add_argument("--limit", type=int, default=50, help="most hits shown (default 50)")
    s.add_argument("--first", action="store_true", help="earliest steps first, not best matches")
    seq = s.add_argument_group("sequence: QUERY, then (or never) another within K steps")
    seq.add_argument("--then", metavar="QUERY", help="what must follow in the same episode")
    seq.add_argument("--within", type=int, default=10, metavar="K", help="steps (default 10)")
    seq.add_argument("--never", action="store_true", help="QUERY with no --then after it")
    s.add_argument("--json", action="store_true", help="the results as JSON")
    s.set_defaults(func=cmd_search)
    return [s]
