"""Training-set formats: one pure function per format, cleaned examples in, JSON-able rows out.

Every function takes examples or pairs already passed through :mod:`automem_core.export.targets`
(so prompts alternate and targets are clean memory ops) and returns the rows of one file:

- ``openai_chat``: OpenAI chat fine-tuning JSONL, ``{"messages": [...]}``; only the final
  assistant turn (the memory turn) has ``weight`` 1, earlier assistant turns 0.
- ``sharegpt``: LLaMA-Factory's ShareGPT JSON list, system prompt in ``system``, with
  :func:`sharegpt_dataset_info` for its ``dataset_info.json``.
- ``trl_prompt_completion``: TRL conversational prompt–completion JSONL (the history as the
  ``prompt`` messages, the memory turn as the one ``completion`` message, so TRL's default
  completion-only loss trains on the target alone), with ``decision_id`` and ``game`` (what
  :mod:`automem_core.export.examples` reads back for training).
- ``trl_preference``: TRL ``{"prompt", "chosen", "rejected"}`` JSONL.
- ``openai_preference``: OpenAI preference (DPO) fine-tuning JSONL, ``{"input": {"messages"},
  "preferred_output", "non_preferred_output"}``. OpenAI's preference tuning trains on one-turn
  conversations, so earlier turns of the prompt are folded into its one user message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from automem_core.export.example import MemoryExample, Message, PreferencePair
from automem_core.export.format_names import FILE_NAMES, SHAREGPT_FILE, FormatName

Row = dict[str, Any]

_SHAREGPT_FROM = {"user": "human", "assistant": "gpt"}


def _plain(message: Message) -> dict[str, str]:
    """A message with only its role and content (anything else the log carried stays out)."""
    return {"role": str(message["role"]), "content": str(message["content"])}


def _assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def to_openai_chat(examples: Sequence[MemoryExample]) -> list[Row]:
    """OpenAI chat fine-tuning rows: earlier assistant turns are context (``weight`` 0), the
    memory turn is the one trained on (``weight`` 1). System and user messages carry no weight."""
    rows: list[Row] = []
    for ex in examples:
        messages: list[dict[str, Any]] = []
        for message in ex.messages:
            plain: dict[str, Any] = _plain(message)
            if plain["role"] == "assistant":
                plain["weight"] = 0
            messages.append(plain)
        messages.append({**_assistant(ex.target), "weight": 1})
        rows.append({"messages": messages})
    return rows


def to_sharegpt(examples: Sequence[MemoryExample]) -> list[Row]:
    """LLaMA-Factory ShareGPT rows: ``conversations`` alternate human/gpt and end with the memory
    turn; the system prompt goes in ``system`` (empty when the prompt had none)."""
    rows: list[Row] = []
    for ex in examples:
        messages = [_plain(m) for m in ex.messages]
        system = messages.pop(0)["content"] if messages and messages[0]["role"] == "system" else ""
        turns = [{"from": _SHAREGPT_FROM[m["role"]], "value": m["content"]} for m in messages]
        turns.append({"from": "gpt", "value": ex.target})
        rows.append({"conversations": turns, "system": system})
    return rows


def sharegpt_dataset_info(name: str, file_name: str = SHAREGPT_FILE) -> dict[str, Row]:
    """The ``dataset_info.json`` of the ShareGPT file, as LLaMA-Factory's ``data/README.md``
    describes a ShareGPT dataset with a system column."""
    return {
        name: {
            "file_name": file_name,
            "formatting": "sharegpt",
            "columns": {"messages": "conversations", "system": "system"},
            "tags": {
                "role_tag": "from",
                "content_tag": "value",
                "user_tag": "human",
                "assistant_tag": "gpt",
            },
        }
    }


def to_trl_prompt_completion(examples: Sequence[MemoryExample]) -> list[Row]:
    """TRL conversational prompt–completion rows, with the decision id and game the trainer
    uses to hold examples out."""
    return [
        {
            "prompt": [_plain(m) for m in ex.messages],
            "completion": [_assistant(ex.target)],
            "decision_id": ex.decision_id,
            "game": ex.game,
        }
        for ex in examples
    ]


def to_trl_preference(pairs: Sequence[PreferencePair]) -> list[Row]:
    """TRL conversational preference rows; chosen and rejected share the one prompt."""
    return [
        {
            "prompt": [_plain(m) for m in pair.messages],
            "chosen": [_assistant(pair.chosen)],
            "rejected": [_assistant(pair.rejected)],
        }
        for pair in pairs
    ]


def fold_history(messages: Sequence[Message]) -> list[dict[str, str]]:
    """``messages`` as a one-turn conversation: the system message (if any), then one user
    message holding the first user message and every later exchange, each earlier answer and
    the results it got under a heading of its own."""
    plain = [_plain(m) for m in messages]
    head = plain[:1] if plain and plain[0]["role"] == "system" else []
    body = plain[len(head) :]
    if len(body) <= 1:
        return head + body
    parts = [body[0]["content"]]
    for message in body[1:]:
        heading = "Your earlier answer:" if message["role"] == "assistant" else "What it returned:"
        parts.append(f"{heading}\n{message['content']}")
    return [*head, {"role": "user", "content": "\n\n".join(parts)}]


def to_openai_preference(pairs: Sequence[PreferencePair]) -> list[Row]:
    """OpenAI preference fine-tuning rows (the documented DPO format), one-turn each."""
    return [
        {
            "input": {
                "messages": fold_history(pair.messages),
                "tools": [],
                "parallel_tool_calls": True,
            },
            "preferred_output": [_assistant(pair.chosen)],
            "non_preferred_output": [_assistant(pair.rejected)],
        }
        for pair in pairs
    ]


@dataclass(frozen=True)
class FormatSpec:
    """How one format is made and stored: from examples or pairs, one JSON list or JSON lines."""

    file_name: str
    source: Literal["examples", "pairs"]
    jsonl: bool
    render: Callable[[Sequence[Any]], list[Row]]


FORMATS: dict[FormatName, FormatSpec] = {
    "openai_chat": FormatSpec(FILE_NAMES["openai_chat"], "examples", True, to_openai_chat),
    "sharegpt": FormatSpec(FILE_NAMES["sharegpt"], "examples", False, to_sharegpt),
    "trl_prompt_completion": FormatSpec(
        FILE_NAMES["trl_prompt_completion"], "examples", True, to_trl_prompt_completion
    ),
    "trl_preference": FormatSpec(FILE_NAMES["trl_preference"], "pairs", True, to_trl_preference),
    "openai_preference": FormatSpec(
        FILE_NAMES["openai_preference"], "pairs", True, to_openai_preference
    ),
}
