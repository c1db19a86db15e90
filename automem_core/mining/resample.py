"""Other answers to a decision's exact prompt, for preference pairs.

Deterministic runs rarely give two answers to one prompt, so ``resample`` sends a decision's
exact messages to a model (temperature above zero) until the decision has K answers from that
model, and records each answer as an alternative of that decision, with its ops run on the
memory as it was when the turn began (in a scratch folder: the episode's own files are never
touched). The judge and people label them; a good and a bad answer to one prompt form a pair.

Sample k of a decision from a model is there once: a sample already in the store is not asked
again, so running the same command again (after a kill, or on a Ray cluster whose share was run
twice, ``resample_ray.py``) only fills in what is missing, and asking for more (a larger K)
adds the samples after those there. Answers are appended a few at a time, so a killed command
keeps what it had.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automem_core.analysis.episode import EpisodeData, open_episode, turns_at
from automem_core.llm.base import LLMClient, LLMConfigError, TurnRequest
from automem_core.llm.config import ModelConfig
from automem_core.llm.factory import make_client
from automem_core.mining.answer_effect import answer_effect
from automem_core.scaffold import Scaffold, load_version
from automem_core.store.record_rows import AlternativeRow
from automem_core.store.records import append_records, read_records
from automem_core.store.schema import utc_now

APPEND_EVERY = 64  # samples asked, then appended, together: what a killed command keeps


@dataclass
class Resampled:
    made: list[AlternativeRow] = field(default_factory=list)  # the answers recorded now
    there: int = 0  # samples already in the store, not asked again
    failed: int = 0  # samples the model gave no answer for (asked again next time)


def check_model(model: ModelConfig) -> None:
    """LLMConfigError (one line) for a model that cannot resample."""
    if model.backend != "openai":
        raise LLMConfigError("resampling needs a model endpoint: give --base-url and --model")
    if model.temperature <= 0:
        raise LLMConfigError("resampling at temperature 0 repeats the same answer; set it above 0")


async def resample(
    root: Path,
    decisions: Sequence[dict[str, Any]],
    model: ModelConfig,
    samples: int,
    price_in_per_1m: float = 0.0,
    price_out_per_1m: float = 0.0,
    concurrency: int = 4,
) -> Resampled:
    """Each decision's samples 0…``samples`` - 1 from ``model`` that the store does not hold
    yet, recorded: the answers recorded now, how many samples were there already and how many
    got no answer."""
    check_model(model)
    client: LLMClient = make_client(model, str(decisions[0]["game"]) if decisions else "")
    episodes: dict[str, EpisodeData] = {}
    scaffolds: dict[str, Scaffold] = {}
    sem = asyncio.Semaphore(concurrency)

    async def one(decision: dict[str, Any], sample: int) -> AlternativeRow:
        eid, version = str(decision["episode_id"]), str(decision["scaffold_version"])
        if eid not in episodes:
            episodes[eid] = open_episode(root, eid)
        if version not in scaffolds:
            scaffolds[version] = load_version(root, version)
        ep = episodes[eid]
        step, phase, turn = int(decision["step"]), str(decision["phase"]), int(decision["turn"])
        found = [t for t in turns_at(ep, step) if t["phase"] == phase and t["turn"] == turn]
        messages = json.loads(found[0]["messages_json"])
        request = TurnRequest(messages, str(decision["game"]), phase, step, turn,  # type: ignore[arg-type]
                              f"resample:{decision['decision_id']}:{sample}")  # fmt: skip
        async with sem:
            completion = await client.complete(request)
        results = answer_effect(scaffolds[version], ep, step, phase, turn, completion.text).results
        cost = (completion.tokens_in * price_in_per_1m
                + completion.tokens_out * price_out_per_1m) / 1e6  # fmt: skip
        return AlternativeRow(
            alternative_id=alternative_id(decision, client.label, sample),
            decision_id=str(decision["decision_id"]),
            model=client.label,
            sample=sample,
            completion=completion.text if not completion.error else "",
            results_json=json.dumps({"results": list(results), "error": completion.error}),
            tokens_in=completion.tokens_in,
            tokens_out=completion.tokens_out,
            cost_usd=round(cost, 6),
            created_at=utc_now(),
        )

    wanted = [(d, k) for d in decisions for k in range(samples)]
    there = samples_there(root, {str(d["decision_id"]) for d in decisions}, client.label)
    result = Resampled(there=sum(1 for d, k in wanted if (str(d["decision_id"]), k) in there))
    wanted = [(d, k) for d, k in wanted if (str(d["decision_id"]), k) not in there]
    try:
        every = max(APPEND_EVERY, 4 * concurrency)
        for start in range(0, len(wanted), every):
            chunk = wanted[start : start + every]
            rows = list(await asyncio.gather(*(one(d, k) for d, k in chunk)))
            kept = [r for r in rows if r.completion]
            append_records(root, "alternatives", kept)
            result.made += kept
            result.failed += len(rows) - len(kept)
    finally:
        await client.aclose()
    return result


def alternative_id(decision: dict[str, Any], model: str, sample: int) -> str:
    """Sample ``sample`` of ``decision`` from ``model``: the same id whoever asks for it."""
    key = f"{decision['decision_id']}\0{model}\0{sample}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def samples_there(root: Path, decision_ids: set[str], model: str) -> set[tuple[str, int]]:
    """(decision id, sample) of the alternatives from ``model`` the store holds."""
    table = read_records(root, "alternatives").select(["decision_id", "model", "sample"])
    return {
        (str(r["decision_id"]), int(r["sample"]))
        for r in table.to_pylist()
        if r["model"] == model and r["decision_id"] in decision_ids
    }
