"""Loop 2, part 1 commands: ``mine`` (with ``--resample``), ``decisions``, ``judge``, ``label``,
``export``.

The engine's modules are imported inside the commands: ``automem --help`` stays quick."""

from __future__ import annotations

import argparse
import asyncio
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automem_core.cli.author import author_flag, author_of
from automem_core.cli.decision_listing import cmd_decisions, csv_items, filtered_decisions, limited
from automem_core.cli.run_commands import executor_flags, executor_settings, fork_cluster
from automem_core.errors import UsageError
from automem_core.export.format_names import FORMAT_GROUPS, formats_of
from automem_core.store.record_rows import HUMAN_VERDICTS, LABEL_POLICIES

if TYPE_CHECKING:
    from automem_core.export.dataset import Selection

DEFAULT_LIMIT = 50
_ALTERNATIVE_ID = re.compile(r"^[0-9a-f]{32}$")
_DECISION_ID_SHAPE = "EPISODE_ID:STEP:log|plan:TURN"


def _model(args: argparse.Namespace, **extra: Any) -> Any:
    from automem_core.llm.config import parse_model_config

    settings = {"base_url": args.base_url, "model": args.model, "api_key_env": args.api_key_env}
    return parse_model_config({**settings, **extra}, source="flags")


def cmd_mine(args: argparse.Namespace) -> int:
    from automem_core.analysis.decision_table import load_decisions
    from automem_core.analysis.decisions import SCORE_FORMULA
    from automem_core.mining.mine import mine
    from automem_core.mining.resample import lacking, resample

    executor, address = executor_settings(args)  # --ray-address alone is refused
    if args.resample is not None and args.resample < 1:
        raise UsageError("--resample K asks for K alternatives per decision: give 1 or more")
    if executor != "local" and not (args.causal or args.resample):
        raise UsageError(
            "--executor plays the forks of --causal or the samples of --resample; add one, or "
            "leave it out"
        )
    result = mine(args.data, args.run, allow_overlap=args.allow_overlap, k=args.k)
    phases = ", ".join(f"{n} {p}" for p, n in sorted(result.by_phase.items()))
    print(f"mined {result.decisions} decisions ({phases}) from {', '.join(result.runs)}")
    print(f"score = {SCORE_FORMULA}")
    if args.causal:
        _causal(args)
    if args.resample:
        model = _model(args, temperature=args.temperature)
        chosen = load_decisions(args.data)
        chosen = chosen[chosen["run_id"].isin(args.run)].sort_values("score")
        # --limit counts the decisions that still lack samples: a rerun moves on
        rows, held = lacking(args.data, chosen.to_dict("records"), model, args.resample,
                             args.limit or None)  # fmt: skip
        if executor == "ray":
            from automem_core.mining.resample_ray import resample_on_ray

            done = resample_on_ray(
                args.data, rows, model, args.resample, address=address,
                concurrency=args.concurrency, progress=not args.quiet,
            )  # fmt: skip
        else:
            done = asyncio.run(resample(args.data, rows, model, args.resample,
                                        concurrency=args.concurrency))  # fmt: skip
        where = " on Ray" if executor == "ray" else ""
        print(f"sampled {len(done.made)} alternatives for {done.asked} decisions from "
              f"{model.model}{where}")  # fmt: skip
        if done.there + held:
            print(f"  {done.there + held} samples were there already (each decision's first "
                  f"{args.resample} from this model are kept, not asked again)")  # fmt: skip
        if done.failed:
            print(f"  {done.failed} samples got no answer; run the command again to ask again")
        if done.skipped:
            (decision, why), more = next(iter(done.skipped.items())), len(done.skipped) - 1
            print(f"  {len(done.skipped)} decisions skipped, their prompt cannot be read: "
                  f"{decision}: {why}" + (f" (and {more} more)" if more else ""))  # fmt: skip
        print("label them: automem decisions --alternatives, then automem label ID …")
    return 0


def _causal(args: argparse.Namespace) -> None:
    """``mine --causal``: fork the mined runs' decisions kept and dropped; print the values."""
    from automem_core.llm.config import load_model_config
    from automem_core.mining.causal import CausalConfig, measure
    from automem_core.run.fork_play import ForkBudget

    budget = ForkBudget(args.budget_episodes, args.budget_usd, args.price_in_per_1m,
                        args.price_out_per_1m)  # fmt: skip
    config = CausalConfig(
        horizon=args.horizon, samples=args.samples, limit=args.limit,
        model=load_model_config(args.fork_config) if args.fork_config else None,
        concurrency=args.concurrency, budget=budget,
    )  # fmt: skip
    if config.horizon < 1 or config.samples < 1:
        raise UsageError("--horizon and --samples are at least 1")
    with fork_cluster(args) as cluster:
        played = measure(args.data, args.run, config, progress=not args.quiet, cluster=cluster)
        result = asyncio.run(played)
    values = [v.causal_value for v in result.values]
    positive = sum(1 for v in values if v > 0)
    negative = sum(1 for v in values if v < 0)
    print(
        f"causal values of {len(result.values)} of {result.chosen} decisions (horizon "
        f"{config.horizon}, {config.samples} pair{'s' if config.samples != 1 else ''} each): "
        f"{positive} positive, {negative} negative, {len(values) - positive - negative} zero; "
        f"{result.forks_played} forks played, {result.forks_skipped} already done "
        f"({', '.join(result.fork_runs) or 'no fork run'})"
    )
    for target, why in result.failed[:5]:
        print(f"  not measured: {target}: {why}")
    if len(result.failed) > 5:
        print(f"  … and {len(result.failed) - 5} more not measured")
    if result.stopped:
        print(f"  {result.stopped}; raise the budget and run the same command to go on")
    print("see them with `automem decisions` (column causal) or on the Decisions page")


def cmd_judge(args: argparse.Namespace) -> int:
    from automem_core.analysis.decision_table import load_alternatives, load_decisions
    from automem_core.mining.judge import JudgeConfig, judge_decisions, load_judge_config

    if not args.config and not (args.base_url and args.model):
        raise UsageError("the judge needs a model: pass --base-url URL --model M, or --config FILE")
    config = load_judge_config(args.config) if args.config else JudgeConfig(model=_model(args))
    decisions = filtered_decisions(load_decisions(args.data), args)
    if args.unlabelled:
        decisions = decisions[decisions["judge"].isna() & decisions["human"].isna()]
    rows = limited(decisions.to_dict("records"), args.limit)
    alternatives: list[dict[str, Any]] = []
    if not args.no_alternatives:
        chosen = {str(r["decision_id"]) for r in rows}
        alts = load_alternatives(args.data)
        alts = alts[alts["decision_id"].isin(chosen)]
        if args.unlabelled:
            alts = alts[alts["judge"].isna() & alts["human"].isna()]
        alternatives = alts.to_dict("records")
    labels = asyncio.run(judge_decisions(args.data, config, rows, alternatives=alternatives))
    counts = {v: sum(1 for lb in labels if lb.verdict == v) for v in ("good", "bad", "malformed")}
    cost = sum(lb.cost_usd for lb in labels)
    tokens = sum(lb.tokens_in + lb.tokens_out for lb in labels)
    print(
        f"judged {len(rows)} decisions and {len(alternatives)} alternatives: {counts}; "
        f"{tokens} tokens, ${cost:.4f}"
    )
    return 0


def _unknown_id(target: str) -> UsageError:
    looks = (
        "an alternative id (32 hex digits)"
        if _ALTERNATIVE_ID.match(target)
        else f"a decision id ({_DECISION_ID_SHAPE})"
        if target.count(":") == 3
        else f"neither a decision id ({_DECISION_ID_SHAPE}) nor an alternative id (32 hex digits)"
    )
    return UsageError(
        f"no decision or alternative {target!r} (it looks like {looks}); list them with "
        "`automem decisions --alternatives`"
    )


def cmd_label(args: argparse.Namespace) -> int:
    from automem_core.analysis.decision_table import load_alternatives, load_decisions
    from automem_core.mining.labels import add_labels, new_label

    author = author_of(args, "labels")
    targets = list(dict.fromkeys(args.target))  # each once, in the order given
    decisions = load_decisions(args.data)
    versions = dict(zip(decisions["decision_id"], decisions["scaffold_version"], strict=True))
    alternatives: dict[str, str] = {}
    if any(t not in versions for t in targets):
        alts = load_alternatives(args.data)
        alternatives = dict(zip(alts["alternative_id"], alts["scaffold_version"], strict=True))
    labels = []
    for target in targets:
        kind = "decision" if target in versions else "alternative"
        version = versions.get(target) or alternatives.get(target)
        if version is None:
            raise _unknown_id(target)
        labels.append(new_label(target, args.verdict, author, note=args.note,
                                scaffold_version=str(version), target_kind=kind))  # fmt: skip
    add_labels(args.data, labels)
    kinds = {k: sum(1 for lb in labels if lb.target_kind == k) for k in ("decision", "alternative")}
    what = " and ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in kinds.items() if n)
    print(f"labelled {what} {args.verdict} as {author}")
    return 0


def _selection(args: argparse.Namespace, formats: list[str]) -> Selection:
    from automem_core.export.dataset import Selection

    return Selection(
        runs=tuple(args.run or ()),
        games=csv_items(args.games),
        scaffold_versions=csv_items(args.scaffold_versions),
        phases=csv_items(args.phases),
        label_sources=csv_items(args.label_sources) or ("human", "judge"),
        min_score=args.min_score,
        min_causal_value=args.min_causal_value,
        include_unsure=args.include_unsure,
        pairs=any(f.endswith("preference") for f in formats),
        policy=args.label_policy,
        adjudicators=tuple(args.adjudicator or ()),
    )


def cmd_export(args: argparse.Namespace) -> int:
    from automem_core.analysis.decision_table import load_decisions
    from automem_core.export.dataset import export, select

    formats = formats_of(args.format)
    selection = _selection(args, list(formats))
    if selection.policy == "adjudicated" and not selection.adjudicators:
        raise UsageError("--label-policy adjudicated needs at least one --adjudicator NAME")
    if args.dry_run:
        table = load_decisions(args.data, selection.policy, selection.adjudicators)
        chosen = select(table, selection)
        print(f"{selection.describe()}: {len(chosen)} decisions")
        return 0
    made = export(
        args.data, args.out, selection, formats, author_of(args, "exports"),
        overwrite=args.overwrite, license=args.license, tokenizer=args.tokenizer,
    )  # fmt: skip
    result = made.result
    print(f"wrote {', '.join(result.files)} to {result.out_dir}")
    print(f"  {result.counts.get('examples', 0)} examples, {result.counts.get('pairs', 0)} pairs")
    for kind, reasons in result.dropped.items():
        if reasons:
            print(f"  dropped {kind}: {', '.join(f'{n} {r}' for r, n in sorted(reasons.items()))}")
    for name in result.skipped_formats:
        print(f"  {name}: nothing to write (no {'pairs' if 'preference' in name else 'examples'})")
    for line in result.notes:
        print(f"  {line}")
    return 0


def _endpoint(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base-url", help="OpenAI-compatible endpoint")
    p.add_argument("--model", help="model name at that endpoint")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", help="the key's variable")


def _decision_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", action="append", help="only this run's decisions (repeatable)")
    p.add_argument("--game", help="only these games (comma-separated)")
    p.add_argument("--phase", choices=("log", "plan"), help="only LOG turns or PLAN turns")
    p.add_argument("--label", choices=(*HUMAN_VERDICTS, "none"), help="only this current label")
    p.add_argument("--min-score", type=float, help="only decisions scored at least this")
    p.add_argument(
        "--min-causal-value", type=float, metavar="V",
        help="only decisions whose measured causal value is at least V (progression points)",
    )  # fmt: skip


def register(sub: argparse._SubParsersAction) -> list[argparse.ArgumentParser]:  # type: ignore[type-arg]
    m = sub.add_parser("mine", help="mine runs' memory decisions with their signals and scores")
    m.add_argument("--run", action="append", required=True, help="a run to mine (repeatable)")
    m.add_argument("--allow-overlap", action="store_true", help="mine gating/held-out seeds too")
    m.add_argument("--k", type=int, default=5, help="steps in which progress counts (default 5)")
    m.add_argument("--resample", type=int, metavar="K",
                   help="K other answers per decision from the model (samples already there "
                   "are kept, not asked again)")  # fmt: skip
    m.add_argument("--temperature", type=float, default=0.8, help="for --resample (default 0.8)")
    m.add_argument("--limit", type=int,
                   help="resample or measure at most this many decisions")  # fmt: skip
    _endpoint(m)
    c = m.add_argument_group("causal values (forks of each decision, kept and dropped)")
    c.add_argument("--causal", action="store_true", help="measure the decisions' causal values")
    c.add_argument("--horizon", type=int, default=50, help="steps each fork plays (default 50)")
    c.add_argument("--samples", type=int, default=1, help="kept/dropped pairs (default 1)")
    c.add_argument("--fork-config", type=Path,
                   help="model config the forks play with (default: each run's own)")  # fmt: skip
    c.add_argument("--concurrency", type=int, default=4,
                   help="forks or --resample samples at once (default 4; Ray: in each "
                   "share, one share per CPU of the cluster)")  # fmt: skip
    executor_flags(c)
    c.add_argument("--budget-episodes", type=int, help="stop before forks pass this many")
    c.add_argument("--budget-usd", type=float, help="stop once the forks' calls cost this")
    c.add_argument(
        "--price-in-per-1m",
        type=float,
        default=0.0,
        help="USD per million input tokens of the forks' model (for --budget-usd)",
    )
    c.add_argument("--price-out-per-1m", type=float, default=0.0,
                   help="USD per million output tokens (for --budget-usd)")  # fmt: skip
    m.set_defaults(func=cmd_mine, writes=True)

    d = sub.add_parser("decisions", help="list mined decisions (and their alternatives) with ids")
    _decision_filters(d)
    d.add_argument("--alternatives", action="store_true", help="list each one's alternatives")
    d.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT,
        help=f"at most this many decisions (default {DEFAULT_LIMIT}; 0: all)",
    )  # fmt: skip
    d.add_argument("--json", action="store_true", help="one JSON object per decision")
    d.set_defaults(func=cmd_decisions)

    j = sub.add_parser("judge", help="an LLM judge's verdict and reason per decision")
    j.add_argument("--config", type=Path, help="judge config (model, criteria, prices)")
    _decision_filters(j)
    j.add_argument("--unlabelled", action="store_true", help="only those without a label")
    j.add_argument("--no-alternatives", action="store_true",
                   help="judge the decisions only, not their alternative answers")  # fmt: skip
    j.add_argument("--limit", type=int, help="at most this many decisions")
    _endpoint(j)
    j.set_defaults(func=cmd_judge, writes=True)

    lb = sub.add_parser("label", help="label decisions or alternative answers by hand")
    lb.add_argument("target", nargs="+", metavar="ID", help="decision or alternative ids")
    lb.add_argument("--verdict", required=True, choices=HUMAN_VERDICTS)
    author_flag(lb, "labels")
    lb.add_argument("--note", default="")
    lb.set_defaults(func=cmd_label, writes=True)

    e = sub.add_parser("export", help="write labelled decisions as a training set")
    e.add_argument("--format", action="append", required=True, choices=list(FORMAT_GROUPS),
                   help="repeatable; all: every format")  # fmt: skip
    e.add_argument("--out", type=Path, required=True, help="the folder to write")
    e.add_argument("--run", action="append", help="only these runs (repeatable)")
    e.add_argument("--games", help="comma-separated")
    e.add_argument("--scaffold-versions", help="comma-separated id@hash8")
    e.add_argument("--phases", help="log, plan")
    e.add_argument("--label-sources", help="human, judge (default both)")
    e.add_argument("--min-score", type=float)
    e.add_argument("--min-causal-value", type=float, metavar="V",
                   help="only decisions whose measured causal value is at least V")  # fmt: skip
    e.add_argument("--include-unsure", action="store_true")
    e.add_argument(
        "--label-policy", choices=LABEL_POLICIES, default="latest",
        help="how several people's labels of a decision become one (default latest)",
    )  # fmt: skip
    e.add_argument("--adjudicator", action="append", metavar="NAME",
                   help="a person whose label settles a disagreement (repeatable)")  # fmt: skip
    e.add_argument("--license", default="other",
                   help="the data's license for the card (default: other; set it)")  # fmt: skip
    e.add_argument("--tokenizer", help="tokenizer (folder or hub id on this machine) for the "
                   "card's token lengths (default: the game's recipe's base model)")  # fmt: skip
    author_flag(e, "exports")
    e.add_argument("--overwrite", action="store_true", help="replace a non-empty --out folder")
    e.add_argument("--dry-run", action="store_true", help="only count what would be exported")
    e.set_defaults(func=cmd_export, writes=True)
    return [m, d, j, lb, e]
