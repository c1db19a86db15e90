"""The LLM reviewer: reads the parent's episodes through read-only tools and proposes a revision.

It gets the scaffold's canonical document, the reviewed runs' metrics and diagnostics, and tools
over the store (read-only SQL over the views, a range of steps, one step in full, memory at a
step, text search), so it can read trajectories far longer than its context; then it must
answer with one JSON proposal (``proposal.ProposalDraft``). Any OpenAI-compatible endpoint, with
its own model, key variable and price table (``ReviewerConfig``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from automem_core.analysis.diagnostics import load_diagnostics
from automem_core.analysis.runs import load_runs
from automem_core.analysis.step_checks import DIAGNOSTICS, describe
from automem_core.llm.base import LLMConfigError
from automem_core.llm.config import ModelConfig
from automem_core.review.review import ReviewOutput
from automem_core.review.tool_loop import run_tool_loop
from automem_core.review.tool_records import TokenPrice
from automem_core.review.tools import StoreTools
from automem_core.scaffold import Scaffold

INSTRUCTIONS = """You review how an agent manages its file-system memory while it plays a game, and
propose ONE revision of its scaffold (the document below) that should raise its progression.

Read its episodes with the tools first: find where memory fails it (files that grow with
near-duplicates, searches that find nothing, lines never read, vitals re-read every step,
repeated observations). Then answer with JSON only, no other text:
{"summary": "...", "rationale": "...",
 "patch": [RFC 6902 JSON Patch operations over the scaffold document],
 "citations": [{"episode_id": "...", "step": N, "shows": "what that step shows",
                "diagnostic": one of %s or null}],
 "expected_effect": "which diagnostics should change and how"}

Rules: the patch must change structure (a file, its schema or keying, an op, a helper, a limit),
not only wording; keep the read and write ops; keep $observation and $previous_action in the LOG
prompt and $observation in the PLAN prompt; cite real steps of the reviewed episodes.
Diagnostics: %s"""


class ReviewerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: ModelConfig
    price_in_per_1m: float = Field(default=0.0, ge=0)
    price_out_per_1m: float = Field(default=0.0, ge=0)
    max_tool_calls: int = Field(default=24, ge=0)
    max_turns: int = Field(default=30, ge=1)
    max_cost_usd: float | None = None


def load_reviewer_config(path: Path) -> ReviewerConfig:
    try:
        return ReviewerConfig.model_validate(yaml.safe_load(Path(path).read_text()) or {})
    except (OSError, ValueError, yaml.YAMLError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise LLMConfigError(f"reviewer config {path}: {first}") from None


def briefing(root: Path, parent: Scaffold, runs: Sequence[str]) -> str:
    """What the reviewer is told before it uses the tools."""
    metrics = load_runs(root)
    metrics = metrics[metrics["run"].isin(runs)]
    diagnostics = load_diagnostics(root)["runs"]
    diagnostics = diagnostics[diagnostics["run"].isin(runs)]
    document = yaml.safe_dump(parent.canonical(), sort_keys=False, allow_unicode=True)
    return (
        f"SCAFFOLD {parent.version}:\n{document}\n"
        f"REVIEWED RUNS (progression ×100, clean episodes only):\n"
        f"{metrics.drop(columns=['updated_at']).to_string(index=False)}\n\n"
        f"DIAGNOSTICS PER RUN:\n{diagnostics.to_string(index=False)}\n"
    )


class LLMReviewer:
    def __init__(self, config: ReviewerConfig) -> None:
        if config.model.backend != "openai":
            raise LLMConfigError("the LLM reviewer needs a model endpoint (base_url and model)")
        self.config = config
        self.label = f"llm:{config.model.model}"

    async def propose(
        self, root: Path, parent: Scaffold, runs: Sequence[str], feedback: str | None = None
    ) -> ReviewOutput:
        defined = "; ".join(f"{d}: {describe(d)}" for d in DIAGNOSTICS)
        system = INSTRUCTIONS % (json.dumps(list(DIAGNOSTICS)), defined)
        user = briefing(root, parent, runs)
        if feedback:
            user += f"\nYOUR LAST PROPOSAL WAS REFUSED: {feedback}\nFix it and answer again."
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        prices = {
            str(self.config.model.model): TokenPrice(
                self.config.price_in_per_1m, self.config.price_out_per_1m
            )
        }
        with StoreTools(root, runs) as tools:
            result = await run_tool_loop(
                self.config.model, messages, tools,
                max_tool_calls=self.config.max_tool_calls, max_turns=self.config.max_turns,
                prices=prices, max_cost_usd=self.config.max_cost_usd,
            )  # fmt: skip
        usage = {
            "tokens_in": sum(c.tokens_in for c in result.calls),
            "tokens_out": sum(c.tokens_out for c in result.calls),
            "calls": len(result.calls),
            "tool_calls": len(result.tool_calls),
            "cost_usd": result.cost_usd or 0.0,
        }
        if result.text is None:
            return ReviewOutput(None, "", usage, error=result.error or "no answer")
        return ReviewOutput(None, result.text, usage)
