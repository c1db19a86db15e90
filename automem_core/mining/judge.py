"""The LLM judge: a verdict (good / bad) and a one-line reason for each memory decision, and for
each alternative answer to a decision's prompt.

The judge reads a decision in context: the prompt the agent got, its completion, the results of
its ops, the memory before and after (a diff), and what happened in the next ``k`` steps; and
the criteria of a config file (``criteria/<game>.yaml`` by default); and, where forks measured
it, the decision's causal value (``causal.py``). An alternative answer is
judged with the same criteria on the same prompt: its ops are run on a scratch copy of the
memory (``answer_effect.py``) for its results and diff; it was never played, so no later steps
follow it. The judge answers in JSON; an answer without a verdict is recorded as ``malformed``,
never as a verdict. Every verdict is a label from source ``llm:<model>``, with its tokens and
cost.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from automem_core.analysis.episode import EpisodeData, decision_detail, open_episode
from automem_core.llm.base import LLMClient, LLMConfigError, TurnRequest
from automem_core.llm.config import ModelConfig
from automem_core.llm.factory import make_client
from automem_core.memory import snapshot
from automem_core.mining.answer_effect import AnswerEffect, answer_effect
from automem_core.mining.causal import causal_line
from automem_core.mining.labels import add_labels, new_label
from automem_core.scaffold import Scaffold, load_version
from automem_core.store.record_rows import LabelRow, LabelTarget

CRITERIA_DIR = Path(__file__).parent / "criteria"
MAX_CONTEXT_CHARS = 12_000
_JSON = re.compile(r"\{.*\}", re.DOTALL)


class JudgeConfig(BaseModel):
    """How the judge runs: its model, its criteria, its window, its prices."""

    model_config = ConfigDict(extra="forbid")

    model: ModelConfig
    criteria: list[str] | None = None  # None: the game's default criteria file
    next_steps: int = Field(default=5, ge=0, le=50)
    price_in_per_1m: float = Field(default=0.0, ge=0)  # USD per million tokens
    price_out_per_1m: float = Field(default=0.0, ge=0)


def load_judge_config(path: Path) -> JudgeConfig:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        return JudgeConfig.model_validate(raw)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LLMConfigError(f"judge config {path}: {first}") from None


def criteria_for(game: str, config: JudgeConfig) -> list[str]:
    if config.criteria:
        return config.criteria
    path = CRITERIA_DIR / f"{game}.yaml"
    raw = yaml.safe_load((path if path.exists() else CRITERIA_DIR / "default.yaml").read_text())
    return [str(c) for c in raw["criteria"]]


@dataclass(frozen=True)
class Judged:
    """What the judge reads: a decision (``completion`` None: its own answer, from the log) or
    an alternative answer to the decision's prompt."""

    kind: LabelTarget
    target_id: str
    decision: dict[str, Any]  # the decision's row (episode, step, phase, turn, game, version)
    completion: str | None = None


def decision_context(
    ep: EpisodeData,
    step: int,
    phase: str,
    turn: int,
    next_steps: int,
    alternative: tuple[str, AnswerEffect] | None = None,
    measured: str | None = None,
) -> str:
    """What the judge reads about one decision (or, given ``alternative`` as its completion and
    effect, about that answer to the same prompt), cut to :data:`MAX_CONTEXT_CHARS`; with
    ``measured``, the decision's causal value in words (``mining/causal.py``)."""
    detail = decision_detail(ep, step, phase, turn, next_steps)
    if detail["turn"] is None:
        raise LLMConfigError(f"{ep.episode_id} step {step}: no {phase} turn {turn}")
    messages = json.loads(detail["turn"]["messages_json"])
    if alternative is None:
        completion = str(detail["turn"]["completion"])
        results = [str(o["result"]) for o in detail["ops"]]
        before, after = snapshot(detail["before"]), snapshot(detail["after"])
        later = [
            f"step {r['step']}: action {r['action']!r}, reward {r['reward']:g}"
            for r in detail["next_steps"]
        ]
        followed = f"THE NEXT {next_steps} STEPS:\n" + ("\n".join(later) or "(the episode ended)")
    else:
        completion, effect = alternative
        results, before, after = list(effect.results), effect.before, effect.after
        followed = "THE NEXT STEPS:\n(this answer was sampled afterwards and never played)"
    diff = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name, "").splitlines(), after.get(name, "").splitlines()
        diff += list(difflib.unified_diff(old, new, f"{name} before", f"{name} after", n=1,
                                          lineterm=""))  # fmt: skip
    parts = [
        f"DECISION: {phase.upper()} turn {turn} at step {step} of {ep.episode_id}",
        "PROMPT THE AGENT GOT:\n" + "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in messages),
        "ITS COMPLETION:\n" + completion,
        "RESULTS OF ITS OPS:\n" + ("\n".join(results) or "(no ops)"),
        "MEMORY WHEN THE TURN BEGAN → AFTER ITS OPS:\n" + ("\n".join(diff) or "(no change)"),
        followed,
        *([measured] if measured else []),
    ]
    text = "\n\n".join(parts)
    return text if len(text) <= MAX_CONTEXT_CHARS else "…" + text[-MAX_CONTEXT_CHARS:]


def judge_messages(context: str, criteria: Sequence[str]) -> list[dict[str, str]]:
    rules = "\n".join(f"- {c}" for c in criteria)
    system = (
        "You judge one memory decision of an agent that plays a game with file-system memory. "
        f"Judge it against these criteria:\n{rules}\n\nAnswer with JSON only: "
        '{"verdict": "good" or "bad", "reason": "one line"}'
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": context}]


def parse_verdict(text: str) -> tuple[str, str] | None:
    """(verdict, reason) from the judge's answer; None when it holds no valid verdict."""
    match = _JSON.search(text or "")
    if match is None:
        return None
    try:
        data: Any = json.loads(match.group(0))
    except ValueError:
        return None
    verdict = str(data.get("verdict", "")).strip().lower() if isinstance(data, dict) else ""
    if verdict not in ("good", "bad"):
        return None
    reason = " ".join(str(data.get("reason", "")).split())[:300]
    return verdict, reason


def make_judge_client(config: JudgeConfig, game: str) -> LLMClient:
    if config.model.backend != "openai":
        raise LLMConfigError("the judge needs a model endpoint: set model.base_url and model.model")
    return make_client(config.model, game)


async def judge_one(
    client: LLMClient,
    config: JudgeConfig,
    ep: EpisodeData,
    item: Judged,
    scaffold: Scaffold | None = None,
) -> LabelRow:
    """One decision or alternative judged: a label (``malformed`` when the answer held no
    verdict). An alternative needs the ``scaffold`` its decision ran with."""
    decision = item.decision
    step, phase, turn = int(decision["step"]), str(decision["phase"]), int(decision["turn"])
    alternative = None
    if item.completion is not None:
        if scaffold is None:
            raise ValueError("judging an alternative needs its decision's scaffold")
        effect = answer_effect(scaffold, ep, step, phase, turn, item.completion)
        alternative = (item.completion, effect)
    measured = causal_line(decision) if item.completion is None else None
    context = decision_context(ep, step, phase, turn, config.next_steps, alternative, measured)
    messages = judge_messages(context, criteria_for(str(decision["game"]), config))
    request = TurnRequest(messages, str(decision["game"]), "plan", step, 0,
                          f"judge:{item.target_id}")  # fmt: skip
    completion = await client.complete(request)
    found = parse_verdict(completion.text)
    cost = (completion.tokens_in * config.price_in_per_1m
            + completion.tokens_out * config.price_out_per_1m) / 1e6  # fmt: skip
    if found is None:
        verdict, note = "malformed", (completion.error or completion.text)[:500]
    else:
        verdict, note = found
    return new_label(
        item.target_id,
        verdict,  # type: ignore[arg-type]
        "judge",
        note=note,
        source=f"llm:{config.model.model}",
        scaffold_version=str(decision["scaffold_version"]),
        target_kind=item.kind,
        tokens_in=completion.tokens_in,
        tokens_out=completion.tokens_out,
        cost_usd=round(cost, 6),
    )


def to_judge(
    decisions: Sequence[dict[str, Any]], alternatives: Sequence[dict[str, Any]] = ()
) -> list[Judged]:
    """The decisions, then the alternatives (rows of ``load_alternatives``) of any decision."""
    by_id = {str(d["decision_id"]): d for d in decisions}
    items = [Judged("decision", str(d["decision_id"]), d) for d in decisions]
    for alt in alternatives:
        decision = by_id.get(str(alt["decision_id"]), alt)  # an alternative row has the place
        items.append(
            Judged("alternative", str(alt["alternative_id"]), decision, str(alt["completion"]))
        )
    return items


async def judge_decisions(
    root: Path,
    config: JudgeConfig,
    decisions: Sequence[dict[str, Any]],
    concurrency: int = 4,
    alternatives: Sequence[dict[str, Any]] = (),
) -> list[LabelRow]:
    """Judge each decision and each alternative (episodes and scaffolds are opened once each)
    and record the labels."""
    items = to_judge(decisions, alternatives)
    if not items:
        return []
    client = make_judge_client(config, str(items[0].decision["game"]))
    episodes: dict[str, EpisodeData] = {}
    scaffolds: dict[str, Scaffold] = {}
    sem = asyncio.Semaphore(concurrency)

    async def one(item: Judged) -> LabelRow:
        eid = str(item.decision["episode_id"])
        if eid not in episodes:
            episodes[eid] = open_episode(root, eid)
        scaffold = None
        if item.completion is not None:
            version = str(item.decision["scaffold_version"])
            if version not in scaffolds:
                scaffolds[version] = load_version(root, version)
            scaffold = scaffolds[version]
        async with sem:
            return await judge_one(client, config, episodes[eid], item, scaffold)

    try:
        labels = list(await asyncio.gather(*(one(item) for item in items)))
    finally:
        await client.aclose()
    add_labels(root, labels)
    return labels
