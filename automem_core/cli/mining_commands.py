"""Loop 2, part 1 commands: ``mine`` (with ``--resample``), ``judge``, ``label``, ``export``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
from pathlib import Path

from automem_core.analysis.decision_table import load_decisions
from automem_core.analysis.decisions import SCORE_FORMULA
from automem_core.export.dataset import Selection, export, select
from automem_core.export.formats import FORMAT_GROUPS
from automem_core.llm.config import ModelConfig, parse_model_config
from automem_core.mining.judge import JudgeConfig, judge_decisions, load_judge_config
from automem_core.mining.labels import VERDICTS, add_labels, new_label
from automem_core.mining.mine import mine
from automem_core.mining.resample import resample


def _csv(text: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


def _limited(rows: list[dict[str, object]], limit: int | None) -> list[dict[str, object]]:
    return rows[:limit] if limit else rows


def cmd_mine(args: argparse.Namespace) -> int:
    result = mine(args.data, args.run, allow_overlap=args.allow_overlap, k=args.k)
    phases = ", ".join(f"{n} {p}" for p, n in sorted(result.by_phase.items()))
    print(f"mined {result.decisions} decisions ({phases}) from {', '.join(result.runs)}")
    print(f"score = {SCORE_FORMULA}")
    if args.resample:
        model = parse_model_config(
            {
                "base_url": args.base_url,
                "model": args.model,
                "temperature": args.temperature,
                "api_key_env": args.api_key_env,
            },
            source="flags",
        )
        chosen = load_decisions(args.data)
        chosen = chosen[chosen["run_id"].isin(args.run)].sort_values("score")
        rows = _limited(chosen.to_dict("records"), args.limit)
        made = asyncio.run(resample(args.data, rows, model, args.resample))
        print(f"sampled {len(made)} alternatives for {len(rows)} decisions from {model.model}")
    return 0


def cmd_judge(args: argparse.Namespace) -> int:
    config = (
        load_judge_config(args.config)
        if args.config
        else JudgeConfig(
            model=parse_model_config(
                {"base_url": args.base_url, "model": args.model, "api_key_env": args.api_key_env},
                source="flags",
            )
        )
    )
    decisions = load_decisions(args.data)
    if args.run:
        decisions = decisions[decisions["run_id"].isin(args.run)]
    if args.unlabelled:
        decisions = decisions[decisions["judge"].isna() & decisions["human"].isna()]
    rows = _limited(decisions.to_dict("records"), args.limit)
    labels = asyncio.run(judge_decisions(args.data, config, rows))
    counts = {v: sum(1 for lb in labels if lb.verdict == v) for v in ("good", "bad", "malformed")}
    cost = sum(lb.cost_usd for lb in labels)
    tokens = sum(lb.tokens_in + lb.tokens_out for lb in labels)
    print(f"judged {len(labels)} decisions: {counts}; {tokens} tokens, ${cost:.4f}")
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    decisions = load_decisions(args.data).set_index("decision_id")
    missing = [d for d in args.decision if d not in decisions.index]
    if missing:
        raise ValueError(f"no decision {missing[0]!r}; mine its run first (`automem mine`)")
    labels = [
        new_label(d, args.verdict, args.author, note=args.note,
                  scaffold_version=str(decisions.loc[d, "scaffold_version"]))
        for d in args.decision
    ]  # fmt: skip
    add_labels(args.data, labels)
    print(f"labelled {len(labels)} decisions {args.verdict} as {args.author}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    formats = [f for group in args.format for f in FORMAT_GROUPS[group]]
    selection = Selection(
        runs=tuple(args.run or ()),
        games=_csv(args.games),
        scaffold_versions=_csv(args.scaffold_versions),
        phases=_csv(args.phases),
        label_sources=_csv(args.label_sources) or ("human", "judge"),
        min_score=args.min_score,
        include_unsure=args.include_unsure,
        pairs=any(f.endswith("preference") for f in formats),
    )
    if args.dry_run:
        chosen = select(load_decisions(args.data), selection)
        print(f"{selection.describe()}: {len(chosen)} decisions")
        return 0
    made = export(args.data, args.out, selection, formats, args.author, overwrite=args.overwrite)
    result = made.result
    print(f"wrote {', '.join(result.files)} to {result.out_dir}")
    print(f"  {result.counts.get('examples', 0)} examples, {result.counts.get('pairs', 0)} pairs")
    for kind, reasons in result.dropped.items():
        if reasons:
            print(f"  dropped {kind}: {', '.join(f'{n} {r}' for r, n in sorted(reasons.items()))}")
    return 0


def _endpoint(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base-url", help="OpenAI-compatible endpoint")
    p.add_argument("--model", help="model name at that endpoint")
    p.add_argument("--api-key-env", default=ModelConfig().api_key_env, help="key's variable")


def register(sub: argparse._SubParsersAction) -> list[argparse.ArgumentParser]:  # type: ignore[type-arg]
    m = sub.add_parser("mine", help="mine runs' memory decisions with their signals and scores")
    m.add_argument("--run", action="append", required=True, help="a run to mine (repeatable)")
    m.add_argument("--allow-overlap", action="store_true", help="mine gating/held-out seeds too")
    m.add_argument("--k", type=int, default=5, help="steps in which progress counts (default 5)")
    m.add_argument("--resample", type=int, metavar="K", help="sample K other answers per decision")
    m.add_argument("--temperature", type=float, default=0.8, help="for --resample (default 0.8)")
    m.add_argument("--limit", type=int, help="resample at most this many decisions")
    _endpoint(m)
    m.set_defaults(func=cmd_mine, writes=True)

    j = sub.add_parser("judge", help="an LLM judge's verdict and reason per decision")
    j.add_argument("--config", type=Path, help="judge config (model, criteria, prices)")
    j.add_argument("--run", action="append", help="only this run's decisions (repeatable)")
    j.add_argument("--unlabelled", action="store_true", help="only decisions without a label")
    j.add_argument("--limit", type=int, help="at most this many decisions")
    _endpoint(j)
    j.set_defaults(func=cmd_judge, writes=True)

    lb = sub.add_parser("label", help="label decisions by hand")
    lb.add_argument("decision", nargs="+", help="decision ids")
    lb.add_argument("--verdict", required=True, choices=VERDICTS)
    lb.add_argument("--author", default=getpass.getuser(), help="who labels (default: you)")
    lb.add_argument("--note", default="")
    lb.set_defaults(func=cmd_label, writes=True)

    e = sub.add_parser("export", help="write labelled decisions as a training set")
    e.add_argument("--format", action="append", required=True, choices=list(FORMAT_GROUPS))
    e.add_argument("--out", type=Path, required=True, help="the folder to write")
    e.add_argument("--run", action="append", help="only these runs (repeatable)")
    e.add_argument("--games", help="comma-separated")
    e.add_argument("--scaffold-versions", help="comma-separated id@hash8")
    e.add_argument("--phases", help="log, plan")
    e.add_argument("--label-sources", help="human, judge (default both)")
    e.add_argument("--min-score", type=float)
    e.add_argument("--include-unsure", action="store_true")
    e.add_argument("--author", default=getpass.getuser())
    e.add_argument("--overwrite", action="store_true")
    e.add_argument("--dry-run", action="store_true", help="only count what would be exported")
    e.set_defaults(func=cmd_export, writes=True)
    return [m, j, lb, e]
