"""Other answers to a decision's exact prompt, for preference pairs.

Deterministic runs rarely give two answers to one prompt, so ``resample`` sends a decision's
exact messages K more times to a model (temperature above zero) and records each answer as an
alternative of that decision, with its ops run on the memory as it was when the turn began (in a
scratch folder: the episode's own files are never touched). The judge and people label them;
a good and a bad answer to one prompt form a pair.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from automem_core.analysis.episode import EpisodeData, open_episode, turns_at
from automem_core.llm.base import LLMClient, LLMConfigError, TurnRequest
from automem_core.llm.config import ModelConfig
from automem_core.llm.factory import make_client
from automem_core.mining.answer_effect import answer_effect
from automem_core.scaffold import Scaffold, load_version
from automem_core.store.record_rows import AlternativeRow
from automem_core.store.records import append_records, read_records
from automem_core.store.schema import utc_now


async def resample(
    root: Path,
    decisions: Sequence[dict[str, Any]],
    model: ModelConfig,
    samples: int,
    price_in_per_1m: float = 0.0,
    price_out_per_1m: float = 0.0,
    concurrency: int = 4,
    batch: str | None = None,
) -> list[AlternativeRow]:
    """``samples`` alternatives of each decision from ``model``, recorded and returned.
    ``batch``: the command's id; each alternative's id is then fixed by it, the decision and
    the sample, and those already in the store (appended by a lost attempt of the same share,
    ``resample_ray.py``) are returned, not sampled again."""
    if model.backend != "openai":
        raise LLMConfigError("resampling needs a model endpoint: give --base-url and --model")
    if model.temperature <= 0:
        raise LLMConfigError("resampling at temperature 0 repeats the same answer; set it above 0")
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
        fixed = alternative_id(batch, decision, sample) if batch is not None else None
        return AlternativeRow(
            alternative_id=fixed or uuid.uuid4().hex,
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
    earlier: list[AlternativeRow] = []
    if batch is not None:
        earlier = appended(root, {alternative_id(batch, d, k) for d, k in wanted})
        done = {r.alternative_id for r in earlier}
        wanted = [(d, k) for d, k in wanted if alternative_id(batch, d, k) not in done]
    try:
        rows = list(await asyncio.gather(*(one(d, k) for d, k in wanted)))
    finally:
        await client.aclose()
    kept = [r for r in rows if r.completion]
    append_records(root, "alternatives", kept)
    return earlier + kept


def alternative_id(batch: str, decision: dict[str, Any], sample: int) -> str:
    key = f"{batch}:{decision['decision_id']}:{sample}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def appended(root: Path, ids: set[str]) -> list[AlternativeRow]:
    """The alternatives among ``ids`` already in the store."""
    table = read_records(root, "alternatives")
    rows = table.filter(pc.is_in(table["alternative_id"], pa.array(sorted(ids)))).to_pylist()
    return [AlternativeRow(**{f: row[f] for f in AlternativeRow.__dataclass_fields__})
            for row in rows]  # fmt: skip
