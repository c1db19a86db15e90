"""What the exporter is given: labelled memory turns and preference pairs, as frozen values.

A :class:`MemoryExample` is one mined memory turn (a LOG turn or a PLAN consultation turn): the
exact chat sent to the model for that turn and the completion it gave. A :class:`PreferencePair`
is two completions for one prompt, the better one first. Both come from the mining and labelling
code; this module only holds their shape and the rule a prompt must follow to be trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from automem_core.store.record_rows import DecisionPhase as MemoryPhase
from automem_core.store.record_rows import HumanVerdict as Label

Message = dict[str, Any]  # {"role": ..., "content": ...}


@dataclass(frozen=True)
class MemoryExample:
    """One labelled memory turn. ``messages`` is the chat the model saw for that turn (system,
    user, and any earlier assistant/user pairs of the same phase); ``target`` its completion."""

    decision_id: str
    game: str
    task: str
    seed: int
    scaffold_version: str  # "id@hash8"
    phase: MemoryPhase
    messages: list[Message]
    target: str
    label: Label
    label_source: str  # "human" or "llm:<model>"
    score: float
    client: str = ""  # who wrote the answer: "embedded:<game>" or the model's label


@dataclass(frozen=True)
class PreferencePair:
    """Two completions of one memory turn's prompt: ``chosen`` is preferred over ``rejected``.
    The sources say where each came from (``original``, ``resample:2``)."""

    decision_id: str
    game: str
    scaffold_version: str
    phase: MemoryPhase
    messages: list[Message]
    chosen: str
    rejected: str
    chosen_source: str
    rejected_source: str
    chosen_client: str = ""  # who wrote each answer ("embedded:<game>", a model's label)
    rejected_client: str = ""


def prompt_problem(messages: Sequence[Message]) -> str | None:
    """Why ``messages`` cannot be the prompt of a trained assistant turn, or None.

    A prompt is an optional system message, then a user message, then assistant/user pairs: so
    the roles alternate and the next message (the target) is the assistant's. Every content is a
    non-empty string.
    """
    if not messages:
        return "no messages"
    body = messages[1:] if messages[0].get("role") == "system" else messages
    if not body:
        return "only a system message"
    for index, message in enumerate(messages):
        content = message.get("content")
        if not isinstance(content, str) or not content.strip():
            return f"message {index} has empty content"
    for index, message in enumerate(body):
        expected = "user" if index % 2 == 0 else "assistant"
        if message.get("role") != expected:
            return f"roles do not alternate: {message.get('role')!r} where {expected!r} belongs"
    if len(body) % 2 == 0:
        return "the prompt ends with an assistant message"
    return None
