"""An export: chosen decisions turned into a training set on disk, and recorded.

A :class:`Selection` chooses decisions by run, game, scaffold version, phase, current label (and
whose: a person's or the judge's) and score. Their exact prompts and completions become
:class:`MemoryExample` values; good and bad answers to one prompt (the original and its
resampled alternatives) become :class:`PreferencePair` values; ``writer.write_export`` cleans and
writes them in the chosen formats with a dataset card. The export is recorded (``exports``) with
the decisions that went in, so the Decisions page can show which set took which decision.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from automem_core.analysis.decision_table import load_alternatives, load_decisions
from automem_core.analysis.decisions import SCORE_FORMULA
from automem_core.analysis.episode import EpisodeData, open_episode, turns_at
from automem_core.analysis.label_policy import describe
from automem_core.export.card import DEFAULT_LICENSE, CardContext
from automem_core.export.example import MemoryExample, PreferencePair
from automem_core.export.formats import to_openai_chat
from automem_core.export.lengths import LengthCounter, make_length_counter
from automem_core.export.recipe import recipe_for_games
from automem_core.export.targets import clean_examples
from automem_core.export.writer import ExportResult, write_export
from automem_core.scaffold import ScaffoldError, load_version
from automem_core.store.record_rows import ExportRow, LabelPolicy
from automem_core.store.records import append_records
from automem_core.store.schema import utc_now

PAIRS_PER_DECISION = 4  # good × bad combinations kept per prompt


@dataclass(frozen=True)
class Selection:
    """Which decisions go into an export (an empty tuple: no restriction)."""

    runs: tuple[str, ...] = ()
    games: tuple[str, ...] = ()
    scaffold_versions: tuple[str, ...] = ()
    phases: tuple[str, ...] = ()
    labels: tuple[str, ...] = ("good",)
    label_sources: tuple[str, ...] = ("human", "judge")
    min_score: float | None = None
    min_causal_value: float | None = None  # progression points; unmeasured decisions fail it
    include_unsure: bool = False
    pairs: bool = True  # also preference pairs from resampled alternatives
    policy: LabelPolicy = "latest"  # how several people's labels become one (label_policy.py)
    adjudicators: tuple[str, ...] = ()
    note: str = field(default="", compare=False)

    def describe(self) -> str:
        """The selection as the dataset card shows it."""
        parts = [
            f"{name} in ({', '.join(values)})"
            for name, values in (
                ("run", self.runs),
                ("game", self.games),
                ("scaffold_version", self.scaffold_versions),
                ("phase", self.phases),
                ("label", self.labels + (("unsure",) if self.include_unsure else ())),
                ("label_source", self.label_sources),
            )
            if values
        ]
        if self.min_score is not None:
            parts.append(f"score >= {self.min_score:g}")
        if self.policy != "latest":
            parts.append(f"labels resolved by {self.policy}")
        if self.min_causal_value is not None:
            parts.append(f"causal_value >= {self.min_causal_value:g} (measured by forks)")
        return "decisions where " + " and ".join(parts) if parts else "every decision"


def select(decisions: pd.DataFrame, selection: Selection) -> pd.DataFrame:
    """The decisions the selection keeps (their current label and its source decide)."""
    keep = pd.Series(True, index=decisions.index)
    for column, values in (
        ("run_id", selection.runs),
        ("game", selection.games),
        ("scaffold_version", selection.scaffold_versions),
        ("phase", selection.phases),
    ):
        if values:
            keep &= decisions[column].isin(values)
    labels = set(selection.labels) | ({"unsure"} if selection.include_unsure else set())
    source = decisions["human"].map(lambda h: "human" if h is not None else "judge")
    keep &= decisions["label"].isin(labels) & source.isin(selection.label_sources)
    if selection.min_score is not None:
        keep &= decisions["score"] >= selection.min_score
    if selection.min_causal_value is not None:
        keep &= decisions["causal_value"] >= selection.min_causal_value
    return decisions[keep]


def _label_source(row: dict[str, Any]) -> str:
    return "human" if row["human"] is not None else str(row["judge_source"] or "llm")


class _Turns:
    """Each decision's exact prompt and completion, reading each episode once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._episodes: dict[str, EpisodeData] = {}

    def of(self, row: dict[str, Any]) -> tuple[list[dict[str, Any]], str, str]:
        """(the messages, the completion, the client that wrote it) of a decision's turn."""
        eid = str(row["episode_id"])
        if eid not in self._episodes:
            self._episodes[eid] = open_episode(self.root, eid)
        step, phase, turn = int(row["step"]), str(row["phase"]), int(row["turn"])
        found = [t for t in turns_at(self._episodes[eid], step)
                 if t["phase"] == phase and t["turn"] == turn]  # fmt: skip
        turn_row = found[0]
        messages = json.loads(turn_row["messages_json"])
        return messages, str(turn_row["completion"]), str(turn_row.get("client") or "")


def build_examples(turns: _Turns, chosen: pd.DataFrame) -> list[MemoryExample]:
    out = []
    for row in chosen.to_dict("records"):
        messages, completion, client = turns.of(row)
        out.append(
            MemoryExample(
                decision_id=str(row["decision_id"]),
                game=str(row["game"]),
                task=str(row["task"]),
                seed=int(row["seed"]),
                scaffold_version=str(row["scaffold_version"]),
                phase=row["phase"],
                messages=messages,
                target=completion,
                label=row["label"],
                label_source=_label_source(row),
                score=float(row["score"]),
                client=client,
            )
        )
    return out


def build_pairs(
    root: Path, turns: _Turns, chosen: pd.DataFrame, selection: Selection | None = None
) -> list[PreferencePair]:
    """Good and bad answers to one prompt: the original and its labelled alternatives."""
    policy = selection or Selection()
    alternatives = load_alternatives(root, policy.policy, policy.adjudicators)
    if alternatives.empty:
        return []
    by_decision: dict[str, list[dict[str, Any]]] = {}
    for alt in alternatives.to_dict("records"):
        by_decision.setdefault(str(alt["decision_id"]), []).append(alt)
    pairs = []
    for row in chosen.to_dict("records"):
        alts = by_decision.get(str(row["decision_id"]), [])
        if not alts:
            continue
        messages, completion, client = turns.of(row)
        answers = [("original", completion, client, row["label"])]
        answers += [
            (f"resample:{a['sample']}", str(a["completion"]), str(a["model"]), a["label"])
            for a in alts
        ]
        good = [(s, t, c) for s, t, c, v in answers if v == "good"]
        bad = [(s, t, c) for s, t, c, v in answers if v == "bad"]
        for (gs, gt, gc), (bs, bt, bc) in itertools.islice(
            itertools.product(good, bad), PAIRS_PER_DECISION
        ):
            pairs.append(
                PreferencePair(
                    decision_id=str(row["decision_id"]),
                    game=str(row["game"]),
                    scaffold_version=str(row["scaffold_version"]),
                    phase=row["phase"],
                    messages=messages,
                    chosen=gt,
                    rejected=bt,
                    chosen_source=gs,
                    rejected_source=bs,
                    chosen_client=gc,
                    rejected_client=bc,
                )
            )
    return pairs


def declared_files(root: Path, versions: Sequence[str]) -> dict[str, frozenset[str]]:
    """The memory files each scaffold version declares (a version not stored is not checked)."""
    out: dict[str, frozenset[str]] = {}
    for version in versions:
        try:
            spec = load_version(root, version).spec
        except ScaffoldError:
            continue
        out[version] = frozenset(f.name for f in spec.files)
    return out


def length_counter_for(games: Sequence[str], tokenizer: str | None) -> LengthCounter:
    """Counts lengths with ``tokenizer``, else the default recipe's base model of the games,
    when it is on this machine; else an estimate."""
    names = [tokenizer] if tokenizer else [recipe_for_games(games).base_model]
    return make_length_counter(names)


@dataclass(frozen=True)
class Export:
    export_id: str
    result: ExportResult
    decisions: list[str]


def export(
    root: Path,
    out_dir: Path,
    selection: Selection,
    formats: Sequence[str],
    author: str,
    overwrite: bool = False,
    license: str = DEFAULT_LICENSE,
    tokenizer: str | None = None,
) -> Export:
    """Write the selection as a training set in ``formats`` and record the export.
    ``tokenizer`` measures the examples for the card (default: the recipe's base model)."""
    everything = load_decisions(root, selection.policy, selection.adjudicators)
    decisions = select(everything, selection)
    for_pairs = decisions
    if selection.pairs:  # pairs need the bad answers too: any label of the chosen prompts
        wider = Selection(**{**selection.__dict__, "labels": ("good", "bad", "unsure")})
        for_pairs = select(everything, wider)
    turns = _Turns(root)
    examples = build_examples(turns, decisions)
    pairs = build_pairs(root, turns, for_pairs, selection) if selection.pairs else []
    seeds = sorted({f"{e.game}/{e.task}/{e.seed}" for e in examples})
    versions = sorted({e.scaffold_version for e in examples} | {p.scaffold_version for p in pairs})
    games = sorted({e.game for e in examples} | {p.game for p in pairs})
    result = write_export(
        out_dir,
        examples,
        pairs,
        formats,
        selection.describe(),
        SCORE_FORMULA,
        ", ".join(seeds),
        include_unsure=selection.include_unsure,
        overwrite=overwrite,
        known_files=declared_files(root, versions),
        context=CardContext(
            license=license, labelling_policy=describe(selection.policy, selection.adjudicators)
        ),
        length_counter=length_counter_for(games, tokenizer),
    )
    card = (Path(result.out_dir) / "card.json").read_text(encoding="utf-8")
    row = ExportRow(
        export_id=uuid.uuid4().hex[:12],
        out_dir=str(Path(result.out_dir).resolve()),
        formats=list(formats),
        selection=selection.describe(),
        decision_ids=sorted(set(result.decision_ids)),
        examples=int(result.counts.get("examples", 0)),
        pairs=int(result.counts.get("pairs", 0)),
        card_json=card,
        author=author,
        created_at=utc_now(),
    )
    append_records(root, "exports", [row])
    return Export(row.export_id, result, row.decision_ids)


def preview(root: Path, selection: Selection, n: int = 3) -> tuple[int, list[dict[str, Any]]]:
    """How many decisions the selection keeps, and the first ``n`` as cleaned OpenAI chat rows
    (what the export would write for them)."""
    chosen = select(load_decisions(root, selection.policy, selection.adjudicators), selection)
    examples = build_examples(_Turns(root), chosen.head(4 * n))
    cleaned = clean_examples(examples, include_unsure=selection.include_unsure)
    return len(chosen), to_openai_chat(list(cleaned.examples[:n]))
