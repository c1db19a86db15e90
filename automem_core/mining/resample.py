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

from automem_core.analysis.episode import READ_ERRORS, EpisodeData, open_episode, turns_at
from automem_core.errors import AutoMemError
from automem_core.llm.base import LLMClient, LLMConfigError, TurnRequest
from automem_core.llm.config import ModelConfig
from automem_core.llm.factory import make_client
from automem_core.llm.openai_client import client_label
from automem_core.mining.answer_effect import answer_effect
from automem_core.scaffold import Scaffold, load_version
from automem_core.store.reader import query_store
from automem_core.store.record_rows import AlternativeRow
from automem_core.store.records import append_records
from automem_core.store.remote import first_line
from automem_core.store.schema import utc_now

APPEND_EVERY = 32  # answers appended together: a killed command keeps all but these


@dataclass
class Resampled:
    made: list[AlternativeRow] = field(default_factory=list)  # the answers recorded now
    asked: int = 0  # decisions that lacked samples and were asked for them
    there: int = 0  # samples already in the store, not asked again
    failed: int = 0  # samples the model gave no answer for (asked again next time)
    skipped: dict[str, str] = field(default_factory=dict)  # decision → why it was not asked

    def add(self, other: Resampled) -> None:
        self.made += other.made
        self.asked += other.asked
        self.there += other.there
        self.failed += other.failed
        self.skipped.update(other.skipped)


def check_model(model: ModelConfig) -> None:
    """LLMConfigError (one line) for a model that cannot resample."""
    if model.backend != "openai":
        raise LLMConfigError("resampling needs a model endpoint: give --base-url and --model")
    if model.temperature <= 0:
        raise LLMConfigError("resampling at temperature 0 repeats the same answer; set it above 0")


def lacking(
    root: Path,
    decisions: Sequence[dict[str, Any]],
    model: ModelConfig,
    samples: int,
    limit: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """The decisions that lack some of their ``samples`` samples from ``model`` (the first
    ``limit`` of them), and how many samples the decisions that lack none hold (those of the
    others are counted by :func:`resample`, which asks for the rest)."""
    there = samples_there(root, client_label(model))
    wanting, whole = [], 0
    for decision in decisions:
        if all((str(decision["decision_id"]), k) in there for k in range(samples)):
            whole += 1
        else:
            wanting.append(decision)
    return wanting[:limit] if limit is not None else wanting, whole * samples


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
    yet, recorded as they come (a few at a time). A decision whose episode or prompt cannot be
    read is skipped, with why; the others go on."""
    check_model(model)
    label = client_label(model)
    there = samples_there(root, label)
    wanted = [(d, k) for d in decisions for k in range(samples)]
    result = Resampled(there=sum(1 for d, k in wanted if (str(d["decision_id"]), k) in there))
    wanted = [(d, k) for d, k in wanted if (str(d["decision_id"]), k) not in there]
    result.asked = len({str(d["decision_id"]) for d, _ in wanted})
    if not wanted:
        return result
    client: LLMClient = make_client(model, str(decisions[0]["game"]))
    prompts = _Prompts(root)
    sem = asyncio.Semaphore(concurrency)

    async def one(decision: dict[str, Any], sample: int) -> AlternativeRow | None:
        decision_id = str(decision["decision_id"])
        try:
            ep, scaffold, messages = prompts.of(decision)
        except SKIP_ERRORS as exc:
            result.skipped.setdefault(decision_id, first_line(exc))
            return None
        step, phase, turn = int(decision["step"]), str(decision["phase"]), int(decision["turn"])
        request = TurnRequest(messages, str(decision["game"]), phase, step, turn,  # type: ignore[arg-type]
                              f"resample:{decision_id}:{sample}")  # fmt: skip
        async with sem:
            completion = await client.complete(request)
        results = answer_effect(scaffold, ep, step, phase, turn, completion.text).results
        cost = (completion.tokens_in * price_in_per_1m
                + completion.tokens_out * price_out_per_1m) / 1e6  # fmt: skip
        if completion.error or not completion.text:
            result.failed += 1
            return None
        return AlternativeRow(
            alternative_id=alternative_id(decision, label, sample),
            decision_id=decision_id,
            model=label,
            sample=sample,
            completion=completion.text,
            results_json=json.dumps({"results": list(results), "error": None}),
            tokens_in=completion.tokens_in,
            tokens_out=completion.tokens_out,
            cost_usd=round(cost, 6),
            created_at=utc_now(),
        )

    tasks = [asyncio.ensure_future(one(d, k)) for d, k in wanted]
    pending: list[AlternativeRow] = []
    try:
        for next_done in asyncio.as_completed(tasks):
            row = await next_done
            if row is not None:
                pending.append(row)
            if len(pending) >= APPEND_EVERY:
                _append(root, pending, result)
    finally:
        for task in tasks:
            task.cancel()
        _append(root, pending, result)  # what came back before a failure or a kill
        await client.aclose()
    return result


SKIP_ERRORS = (AutoMemError, *READ_ERRORS, IndexError, KeyError, ValueError)


class _Prompts:
    """Each decision's episode, scaffold version and exact prompt, read once per episode."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.episodes: dict[str, EpisodeData] = {}
        self.scaffolds: dict[str, Scaffold] = {}

    def of(self, decision: dict[str, Any]) -> tuple[EpisodeData, Scaffold, list[Any]]:
        eid, version = str(decision["episode_id"]), str(decision["scaffold_version"])
        if eid not in self.episodes:
            self.episodes[eid] = open_episode(self.root, eid)
        if version not in self.scaffolds:
            self.scaffolds[version] = load_version(self.root, version)
        ep = self.episodes[eid]
        step, phase, turn = int(decision["step"]), str(decision["phase"]), int(decision["turn"])
        found = [t for t in turns_at(ep, step) if t["phase"] == phase and t["turn"] == turn]
        if not found:
            raise KeyError(f"no {phase} turn {turn} at step {step} in {eid}")
        return ep, self.scaffolds[version], json.loads(found[0]["messages_json"])


def _append(root: Path, rows: list[AlternativeRow], result: Resampled) -> None:
    if rows:
        append_records(root, "alternatives", rows)
        result.made += rows
        rows.clear()


def alternative_id(decision: dict[str, Any], model: str, sample: int) -> str:
    """Sample ``sample`` of ``decision`` from ``model``: the same id whoever asks for it."""
    key = f"{decision['decision_id']}\0{model}\0{sample}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def samples_there(root: Path, model: str) -> set[tuple[str, int]]:
    """(decision id, sample) of the alternatives from ``model`` the store holds."""

    def read(con: Any) -> list[tuple[str, int]]:
        sql = "SELECT DISTINCT decision_id, sample FROM alternatives_appended WHERE model = ?"
        return list(con.execute(sql, [model]).fetchall())

    return {(str(d), int(k)) for d, k in query_store(root, read, tables=("alternatives",))}
