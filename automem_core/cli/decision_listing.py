"""``automem decisions``: the mined decisions (and their alternative answers) as a table or
JSON, filtered the way ``judge`` and ``export`` filter them.

The engine's modules are imported inside the command: ``automem --help`` stays quick."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def csv_items(text: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


def limited(rows: list[dict[str, Any]], limit: int | None) -> list[dict[str, Any]]:
    return rows[:limit] if limit else rows


def filtered_decisions(decisions: pd.DataFrame, args: argparse.Namespace) -> pd.DataFrame:
    """The decisions the listing flags keep (``--run``, ``--game``, ``--phase``, ``--label``,
    ``--min-score``)."""
    keep = decisions
    if args.run:
        keep = keep[keep["run_id"].isin(args.run)]
    if getattr(args, "game", None):
        keep = keep[keep["game"].isin(csv_items(args.game))]
    if getattr(args, "phase", None):
        keep = keep[keep["phase"] == args.phase]
    if getattr(args, "label", None):
        wanted = keep["label"].isna() if args.label == "none" else keep["label"] == args.label
        keep = keep[wanted]
    if getattr(args, "min_score", None) is not None:
        keep = keep[keep["score"] >= args.min_score]
    if getattr(args, "min_causal_value", None) is not None:
        keep = keep[keep["causal_value"] >= args.min_causal_value]
    return keep


SIGNALS = ("retrieved", "progress_after", "redundant_write", "never_read", "empty_search",
           "early_outcome")  # fmt: skip


def _signals(row: dict[str, Any]) -> str:
    return ",".join(s for s in SIGNALS if bool(row.get(s))) or "–"


def _label_text(row: dict[str, Any]) -> str:
    label = row.get("label")
    if label is None:
        return "–"
    return f"{label} ({row['human_author']})" if row.get("human") else f"{label} (judge)"


def render_decisions(
    decisions: list[dict[str, Any]], alternatives: dict[str, list[dict[str, Any]]]
) -> str:
    """One line per decision (id, score, label, signals, alternatives) and, under it, one per
    alternative answer (id, sample, model, label)."""
    from automem_core.mining.causal import describe_value

    lines = [f"{'decision':<44} {'score':>6}  {'label':<22} {'alts':>4}  {'causal':<22} signals"]
    for d in decisions:
        lines.append(
            f"{d['decision_id']:<44} {d['score']:>6.2f}  {_label_text(d):<22} "
            f"{int(d['alternatives']):>4}  {describe_value(d):<22} {_signals(d)}"
        )
        for a in alternatives.get(str(d["decision_id"]), []):
            lines.append(
                f"  └ {a['alternative_id']}  sample {a['sample']}  {a['model']}  {_label_text(a)}"
            )
    return "\n".join(lines)


def cmd_decisions(args: argparse.Namespace) -> int:
    import json

    from automem_core.analysis.decision_table import load_alternatives, load_decisions

    found = filtered_decisions(load_decisions(args.data), args)
    total = len(found)
    rows = limited(found.to_dict("records"), args.limit)
    alternatives: dict[str, list[dict[str, Any]]] = {}
    if args.alternatives:
        shown = {str(r["decision_id"]) for r in rows}
        for a in load_alternatives(args.data).to_dict("records"):
            if str(a["decision_id"]) in shown:
                alternatives.setdefault(str(a["decision_id"]), []).append(a)
    if args.json:
        for row in rows:
            out = {k: row[k] for k in ("decision_id", "run_id", "game", "phase", "step", "score",
                                       "label", "human", "human_author", "judge")}  # fmt: skip
            out["signals"] = [s for s in SIGNALS if bool(row.get(s))]
            for column in ("causal_value", "causal_stderr", "causal_reward", "causal_horizon"):
                value = row.get(column)
                out[column] = None if value is None or value != value else value
            out["alternatives"] = [
                {k: a[k] for k in ("alternative_id", "sample", "model", "label", "completion")}
                for a in alternatives.get(str(row["decision_id"]), [])
            ]
            print(json.dumps(out, default=str))
        return 0
    if not rows:
        print("no decisions match; mine a run first (`automem mine --run RUN`)")
        return 0
    print(render_decisions(rows, alternatives))
    if total > len(rows):
        print(f"… {total - len(rows)} more (--limit 0 shows every one)")
    return 0
