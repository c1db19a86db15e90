"""How long an export's examples are, before anyone trains on them.

A trainer cuts or drops what is longer than its ``max_length`` / ``cutoff_len`` without a word,
so the dataset card states each format's lengths (min, median, p99, max) and the cutoff that
keeps every example whole. Lengths are counted in the tokens of a tokenizer that is on this
machine (the recipe's base model, or one named), with its chat template when it has one; with
none at hand they are an estimate from characters, and the card says which.

Examples:
    >>> counter = CharEstimate()
    >>> counter.count([{"role": "user", "content": "abcdef"}])
    7
    >>> length_stats([3, 1, 2]).max
    3
"""

from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

CHARS_PER_TOKEN = 3  # fewer than common tokenizers take for English: the estimate runs long
MESSAGE_OVERHEAD = 5  # tokens a chat template adds around one message, roughly
Chat = Sequence[dict[str, str]]


class LengthCounter(Protocol):
    """Counts the length of one conversation (the prompt and the trained turn together)."""

    source: str  # what the numbers are: "tokens of <tokenizer>" or the estimate's rule

    def count(self, messages: Chat) -> int: ...


class CharEstimate:
    """An estimate: characters ÷ :data:`CHARS_PER_TOKEN` plus a few tokens per message."""

    source = (
        f"estimated tokens (characters / {CHARS_PER_TOKEN} + {MESSAGE_OVERHEAD} per message; "
        "no tokenizer on this machine)"
    )

    def count(self, messages: Chat) -> int:
        chars = sum(len(m.get("content", "")) for m in messages)
        return math.ceil(chars / CHARS_PER_TOKEN) + MESSAGE_OVERHEAD * len(messages)


class TokenizerCount:
    """Tokens of a Hugging Face tokenizer, through its chat template when it has one."""

    def __init__(self, tokenizer: Any, name: str) -> None:
        self.tokenizer = tokenizer
        self.source = f"tokens of {name}"

    def count(self, messages: Chat) -> int:
        if getattr(self.tokenizer, "chat_template", None):
            ids = self.tokenizer.apply_chat_template(list(messages), tokenize=True)
            ids = ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids
            return len(ids)
        text = "\n".join(m.get("content", "") for m in messages)
        return len(self.tokenizer(text)["input_ids"])


def load_local_tokenizer(name: str) -> Any | None:
    """The tokenizer of ``name`` (a folder, or a hub id already in the local cache), never
    downloaded; None when it is not on this machine or transformers is not installed."""
    try:
        from transformers import AutoTokenizer
    except ImportError:
        return None
    try:
        return AutoTokenizer.from_pretrained(name, local_files_only=True)
    except Exception as exc:  # not cached, not a folder, or an unreadable tokenizer
        log.debug("no local tokenizer %s: %s", name, exc)
        return None


def make_length_counter(names: Sequence[str]) -> LengthCounter:
    """The first of ``names`` whose tokenizer is on this machine, else the estimate."""
    for name in names:
        tokenizer = load_local_tokenizer(name) if name else None
        if tokenizer is not None:
            return TokenizerCount(tokenizer, name)
    return CharEstimate()


@dataclass(frozen=True)
class LengthStats:
    examples: int
    min: int
    median: int
    p99: int
    max: int

    def to_json(self) -> dict[str, int]:
        return asdict(self)


def length_stats(lengths: Sequence[int]) -> LengthStats:
    """Min, median, 99th percentile (nearest rank) and max of ``lengths``."""
    if not lengths:
        return LengthStats(0, 0, 0, 0, 0)
    ordered = sorted(lengths)
    p99 = ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]
    return LengthStats(
        len(ordered), ordered[0], int(statistics.median_low(ordered)), p99, ordered[-1]
    )


def conversations(name: str, row: dict[str, Any]) -> list[list[dict[str, str]]]:
    """The sequences a trainer builds from one row of format ``name``: one for supervised
    formats, the chosen and the rejected sequence for preference formats."""
    if name == "openai_chat":
        return [[_plain(m) for m in row["messages"]]]
    if name == "sharegpt":
        roles = {"human": "user", "gpt": "assistant"}
        system = [{"role": "system", "content": row["system"]}] if row.get("system") else []
        turns = [{"role": roles[t["from"]], "content": t["value"]} for t in row["conversations"]]
        return [system + turns]
    if name == "trl_prompt_completion":
        return [[*row["prompt"], *row["completion"]]]
    if name == "trl_preference":
        return [[*row["prompt"], *row[side]] for side in ("chosen", "rejected")]
    if name == "openai_preference":
        prompt = row["input"]["messages"]
        return [[*prompt, *row[side]] for side in ("preferred_output", "non_preferred_output")]
    raise ValueError(f"no length rule for format {name!r}")


def format_lengths(
    name: str, rows: Sequence[dict[str, Any]], counter: LengthCounter
) -> LengthStats:
    """The stats over rows of format ``name``: each row counts as its longest sequence."""
    return length_stats([max(counter.count(c) for c in conversations(name, r)) for r in rows])


def _plain(message: dict[str, Any]) -> dict[str, str]:
    return {"role": str(message["role"]), "content": str(message["content"])}
