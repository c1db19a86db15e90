"""Reading an export folder's TRL prompt–completion file and holding out examples for evaluation.

The file is written by the exporter but read here as input from disk, so each line is checked:
a ``prompt`` list of chat messages and a ``completion`` of exactly one assistant message. A bad
line raises with its line number.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

TRL_FILE = "trl_prompt_completion.jsonl"
OPENAI_FILE = "openai_chat.jsonl"
SHAREGPT_FILE = "sharegpt.json"
CARD_FILE = "card.json"


class ExportError(ValueError):
    """An export folder or file that cannot be trained from; one line with the fix."""


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "user", "assistant", "tool"]
    content: str


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore")
    prompt: list[_Message] = Field(min_length=1)
    completion: list[_Message] = Field(min_length=1, max_length=1)
    decision_id: str = ""
    game: str = ""


@dataclass(frozen=True)
class PromptCompletion:
    """One memory turn: the messages the model saw and the one assistant reply it is trained on."""

    prompt: tuple[dict[str, str], ...]
    completion: tuple[dict[str, str], ...]
    decision_id: str
    game: str

    def as_trl(self) -> dict[str, list[dict[str, str]]]:
        """TRL's conversational prompt–completion form."""
        return {"prompt": list(self.prompt), "completion": list(self.completion)}


def read_prompt_completion(export_dir: Path | str) -> list[PromptCompletion]:
    """The examples of ``export_dir/trl_prompt_completion.jsonl`` in file order."""
    path = Path(export_dir) / TRL_FILE
    if not path.is_file():
        raise ExportError(f"{path}: missing; point at an export folder (it holds {TRL_FILE})")
    rows: list[PromptCompletion] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                rows.append(_parse_line(line, path, number))
    if not rows:
        raise ExportError(f"{path}: no examples; export some labelled decisions first")
    return rows


def _parse_line(line: str, path: Path, number: int) -> PromptCompletion:
    try:
        row = _Row.model_validate(json.loads(line))
    except json.JSONDecodeError as exc:
        raise ExportError(f"{path}:{number}: not JSON ({exc.msg}); re-export the folder") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise ExportError(f"{path}:{number}: field `{loc}`: {err['msg']}; re-export") from None
    if row.completion[0].role != "assistant":
        raise ExportError(f"{path}:{number}: the completion must be one assistant message")
    return PromptCompletion(
        prompt=tuple(_plain(m) for m in row.prompt),
        completion=tuple(_plain(m) for m in row.completion),
        decision_id=row.decision_id,
        game=row.game,
    )


def _plain(message: _Message) -> dict[str, str]:
    return {"role": message.role, "content": message.content}


def split_held_out(
    rows: list[PromptCompletion], n_held_out: int
) -> tuple[list[PromptCompletion], list[PromptCompletion]]:
    """(train, held out): the held-out examples are those whose id hashes lowest, so the split is
    stable across runs and does not move when examples are added. See :func:`held_out_count`."""
    n = held_out_count(len(rows), n_held_out)
    order = sorted(range(len(rows)), key=lambda i: _stable_key(rows[i], i))
    held = set(order[:n])
    train = [row for i, row in enumerate(rows) if i not in held]
    return train, [rows[i] for i in sorted(held)]


def held_out_count(n_rows: int, requested: int) -> int:
    """How many of ``n_rows`` examples to hold out: ``requested``, but at most a fifth of them,
    and at least one whenever two or more exist (so a held-out loss can always be measured)."""
    if n_rows < 2:
        return 0
    return max(1, min(requested, n_rows // 5))


def _stable_key(row: PromptCompletion, index: int) -> str:
    ident = row.decision_id or f"#{index}"
    return hashlib.sha256(ident.encode("utf-8")).hexdigest()


def read_card(export_dir: Path | str) -> dict[str, Any]:
    """The dataset card, or an empty mapping where the export has none."""
    path = Path(export_dir) / CARD_FILE
    if not path.is_file():
        return {}
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ExportError(f"{path}: not JSON ({exc.msg}); re-export the folder") from None
    return card if isinstance(card, dict) else {}
