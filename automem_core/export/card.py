"""The dataset card of an export: the facts as ``card.json`` and as a Hugging Face style
``README.md`` (YAML front matter, then the same facts for people). Pure: facts in, text out.

``card.json`` keeps the keys the training code reads (``game``, ``seeds``, ``counts`` with
``examples``, ``scaffold_versions``) and adds the rest: tasks, counts by label and label source,
dropped examples by reason, the selection query, the score formula and the formats written.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from automem_core.export.example import MemoryExample, PreferencePair

CARD_SCHEMA_VERSION = 1
README_FILE = "README.md"
_DESCRIPTIONS = {
    "openai_chat": "OpenAI chat fine-tuning; only the memory turn has weight 1",
    "sharegpt": "ShareGPT for LLaMA-Factory (registered in dataset_info.json)",
    "trl_messages": "TRL conversational messages",
    "trl_prompt_completion": "TRL conversational prompt-completion (AutoMem's LoRA trainer)",
    "trl_preference": "TRL conversational preference pairs",
    "openai_preference": "OpenAI preference (DPO) fine-tuning",
}


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
            "excluded_note": excluded_seeds_note,
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
    front = {
        "pretty_name": f"AutoMem memory turns ({facts['game']})",
        "language": ["en"],
        "task_categories": ["text-generation"],
        "tags": ["automem", "agent-memory", "memory-specialist", *facts["games"]],
        "size_categories": [_size_category(facts["counts"]["examples"] + facts["counts"]["pairs"])],
        "configs": [
            {"config_name": name, "data_files": [{"split": "train", "path": file_name}]}
            for name, file_name in facts["formats"].items()
        ],
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
        "## Selection",
        "",
        _code_block(facts["selection_query"]),
        "",
        "Score formula:",
        "",
        _code_block(facts["score_formula"]),
        "",
        f"`unsure` labels included: {'yes' if facts['include_unsure'] else 'no'}.",
        "",
        "## Provenance",
        "",
        f"- games: {_listed(facts['games'])}",
        *(f"- tasks of {game}: {_listed(found)}" for game, found in facts["tasks"].items()),
        *(f"- seeds of {game}: {_listed(found)}" for game, found in seeds_by_game.items()),
        *(f"- scaffold {s['id']} (hash {s['hash']})" for s in facts["scaffolds"]),
    ]
    if facts["seeds"]["excluded_note"]:
        lines.append(f"- evaluation seeds: {_one_line(facts['seeds']['excluded_note'])}")
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
        "## Files",
        "",
        *(f"- `{file}`: {_DESCRIPTIONS.get(name, name)}" for name, file in written.items()),
        "- `card.json`: these facts, machine-readable",
        "",
    ]
    return "\n".join(lines)


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
