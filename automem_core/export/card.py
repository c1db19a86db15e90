"""The dataset card of an export: the facts as ``card.json`` and as a Hugging Face style
``README.md`` (YAML front matter, then the same facts for people). Pure: facts in, text out.

``card.json`` keeps the keys the training code reads (``game``, ``seeds``, ``counts`` with
``examples``, ``scaffold_versions``, ``lengths``) and adds the rest: tasks, counts by label and
label source, the clients that wrote the answers, dropped examples by reason, the selection
query, the labelling policy, the score formula, the license and the formats written.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from automem_core.export.example import MemoryExample, PreferencePair

CARD_SCHEMA_VERSION = 2
README_FILE = "README.md"
DEFAULT_LICENSE = "other"
LATEST_POLICY = "latest: a person's latest label, else the judge's latest verdict"
EMBEDDED_PREFIX = "embedded:"
_DESCRIPTIONS = {
    "openai_chat": "OpenAI chat fine-tuning; only the memory turn has weight 1",
    "sharegpt": "ShareGPT for LLaMA-Factory (registered in dataset_info.json)",
    "trl_prompt_completion": "TRL conversational prompt-completion: loss on the memory turn only",
    "trl_preference": "TRL conversational preference pairs",
    "openai_preference": "OpenAI preference (DPO) fine-tuning, one-turn conversations",
}


@dataclass(frozen=True)
class CardContext:
    """What the card states beyond the data itself: the license the person chose and how each
    decision's label was resolved from several labellers."""

    license: str = DEFAULT_LICENSE
    labelling_policy: str = LATEST_POLICY


def card_facts(
    examples: Sequence[MemoryExample],
    pairs: Sequence[PreferencePair],
    *,
    dropped: Mapping[str, Mapping[str, int]],
    formats: Mapping[str, str],
    selection_query: str,
    score_formula: str,
    excluded_seeds_note: str = "",
    include_unsure: bool = False,
    dataset_name: str = "",
    created_at: str = "",
    context: CardContext | None = None,
    lengths: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What ``card.json`` holds for the examples and pairs that were written.

    ``dropped`` maps ``examples`` / ``pairs`` to counts by reason; ``formats`` maps each format
    written to its file name. ``game`` is the one game, or the games joined by ``+``;
    ``dataset_name`` defaults to ``automem_<game>``, the name LLaMA-Factory's config uses.
    """
    games = sorted({e.game for e in examples} | {p.game for p in pairs})
    game = "+".join(games) if games else "memory"
    versions = sorted({e.scaffold_version for e in examples} | {p.scaffold_version for p in pairs})
    tasks: dict[str, set[str]] = {}
    seeds: dict[str, set[int]] = {}
    for e in examples:
        tasks.setdefault(e.game, set()).add(e.task)
        seeds.setdefault(e.game, set()).add(e.seed)
    phases = Counter(e.phase for e in examples)
    context = context or CardContext()
    return {
        "schema_version": CARD_SCHEMA_VERSION,
        "dataset_name": dataset_name or f"automem_{game}",
        "created_at": created_at,
        "game": game,
        "games": games,
        "tasks": {game: sorted(found) for game, found in sorted(tasks.items())},
        "seeds": {
            "traces": sorted({e.seed for e in examples}),
            "by_game": {game: sorted(found) for game, found in sorted(seeds.items())},
            "keep_out_of_evaluation": excluded_seeds_note,
        },
        "scaffold_versions": versions,
        "scaffolds": [_scaffold(v) for v in versions],
        "counts": {
            "examples": len(examples),
            "log": phases.get("log", 0),
            "plan": phases.get("plan", 0),
            "pairs": len(pairs),
            "by_label": _counts(e.label for e in examples),
            "by_label_source": _counts(e.label_source for e in examples),
            "by_game": _counts(e.game for e in examples),
            "pairs_by_source": _counts(f"{p.chosen_source}>{p.rejected_source}" for p in pairs),
        },
        "clients": {
            "examples": _counts(e.client or "unknown" for e in examples),
            "chosen": _counts(p.chosen_client or "unknown" for p in pairs),
            "rejected": _counts(p.rejected_client or "unknown" for p in pairs),
        },
        "license": context.license,
        "labelling_policy": context.labelling_policy,
        "lengths": dict(lengths or {}),
        "include_unsure": include_unsure,
        "dropped": {kind: dict(sorted(by.items())) for kind, by in sorted(dropped.items())},
        "selection_query": selection_query,
        "score_formula": score_formula,
        "formats": dict(sorted(formats.items())),
    }


def _scaffold(version: str) -> dict[str, str]:
    scaffold_id, _, content_hash = version.partition("@")
    return {"version": version, "id": scaffold_id, "hash": content_hash}


def _counts(values: Any) -> dict[str, int]:
    return dict(sorted(Counter(values).items()))


def render_card_json(facts: Mapping[str, Any]) -> str:
    return json.dumps(facts, indent=2, ensure_ascii=False) + "\n"


def render_card_readme(facts: Mapping[str, Any]) -> str:
    """``README.md``: Hugging Face dataset-card metadata (one config per file written), then the
    provenance a reader needs to trust or reproduce the set."""
    configs = [
        {"config_name": name, "data_files": [{"split": "train", "path": file_name}]}
        for name, file_name in facts["formats"].items()
    ]
    configs[0]["default"] = True  # what `datasets.load_dataset(folder)` loads
    front = {
        "pretty_name": f"AutoMem memory turns ({facts['game']})",
        "license": facts["license"],
        "language": ["en"],
        "task_categories": ["text-generation"],
        "tags": ["automem", "agent-memory", "memory-specialist", *facts["games"]],
        "size_categories": [_size_category(facts["counts"]["examples"] + facts["counts"]["pairs"])],
        "configs": configs,
    }
    counts = facts["counts"]
    seeds_by_game = facts["seeds"]["by_game"]
    written = facts["formats"]
    lines = [
        "---",
        yaml.safe_dump(front, sort_keys=False, allow_unicode=True).rstrip(),
        "---",
        "",
        f"# {front['pretty_name']}",
        "",
        "Memory turns (LOG turns and PLAN consultations) of AutoMem agents, curated for training",
        "a memory specialist. Targets hold memory operations only: game actions were removed.",
        "",
        *_embedded_warning(facts["clients"]),
        *_license_lines(facts["license"]),
        "## Selection",
        "",
        _code_block(facts["selection_query"]),
        "",
        "Score formula:",
        "",
        _code_block(facts["score_formula"]),
        "",
        f"`unsure` labels included: {'yes' if facts['include_unsure'] else 'no'}.",
        f"Labelling policy: {facts['labelling_policy']}.",
        "",
        "## Provenance",
        "",
        f"- games: {_listed(facts['games'])}",
        *(f"- tasks of {game}: {_listed(found)}" for game, found in facts["tasks"].items()),
        *(f"- seeds of {game}: {_listed(found)}" for game, found in seeds_by_game.items()),
        *(f"- scaffold {s['id']} (hash {s['hash']})" for s in facts["scaffolds"]),
    ]
    for kind, clients in facts["clients"].items():
        if clients:
            lines.append(f"- answers of {kind} written by: {_pairs(clients)}")
    if facts["seeds"]["keep_out_of_evaluation"]:
        note = _one_line(facts["seeds"]["keep_out_of_evaluation"])
        lines.append(f"- seeds to keep out of evaluation (these turns came from them): {note}")
    lines += [
        "",
        "## Counts",
        "",
        f"- examples: {counts['examples']} ({counts['log']} LOG, {counts['plan']} PLAN)",
        f"- preference pairs: {counts['pairs']}",
        f"- by label: {_pairs(counts['by_label'])}",
        f"- by label source: {_pairs(counts['by_label_source'])}",
        "",
        "## Dropped",
        "",
        *(f"- {kind}: {_pairs(by)}" for kind, by in facts["dropped"].items()),
        "",
        *_length_lines(facts["lengths"]),
        "## Files",
        "",
        *(f"- `{file}`: {_DESCRIPTIONS.get(name, name)}" for name, file in written.items()),
        "- `card.json`: these facts, machine-readable",
        "",
    ]
    return "\n".join(lines)


def _embedded_warning(clients: Mapping[str, Mapping[str, int]]) -> list[str]:
    every = {c for by in clients.values() for c in by}
    if not any(c.startswith(EMBEDDED_PREFIX) for c in every):
        return []
    return [
        "**Written by AutoMem's embedded rule-based players (`embedded:<game>`), not by a model**",
        "(at least in part; see Provenance): good for trying a pipeline, not for a real model.",
        "",
    ]


def _license_lines(license_id: str) -> list[str]:
    if license_id != DEFAULT_LICENSE:
        return [f"License: `{license_id}`.", ""]
    return [
        "License: `other`, not chosen yet. The person who exported this set must set the license",
        "(`automem export --license ID`) before sharing it.",
        "",
    ]


def _length_lines(lengths: Mapping[str, Any]) -> list[str]:
    by_format = lengths.get("by_format") or {}
    if not by_format:
        return []
    lines = ["## Lengths", "", f"In {lengths['unit']}; each example counts as its longest", ""]
    lines.append("| format | examples | min | median | p99 | max = cutoff that keeps all whole |")
    lines.append("|---|---|---|---|---|---|")
    for name, st in by_format.items():
        lines.append(
            f"| {name} | {st['examples']} | {st['min']} | {st['median']} | {st['p99']} "
            f"| {st['max']} |"
        )
    lines.append("")
    lines.append(
        "Set the trainer's `max_length` (TRL) or `cutoff_len` (LLaMA-Factory) to at least the"
    )
    lines.append("max, or longer examples are cut or dropped without a word.")
    lines.append("")
    return lines


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if n < limit:
            return name
    return "100K<n<1M" if n < 1_000_000 else "1M<n<10M"


def _listed(values: Sequence[Any]) -> str:
    return ", ".join(str(v) for v in values) if values else "none"


def _pairs(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) if counts else "none"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _code_block(text: str) -> str:
    """``text`` in a fence longer than any run of backticks inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text or '(none given)'}\n{fence}"
