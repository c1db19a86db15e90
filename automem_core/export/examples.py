"""Reading an export folder's supervised examples and holding out some for evaluation.

Training starts from whichever supervised file an export holds: the TRL prompt–completion file,
else the OpenAI chat file (the one message of weight 1 is the completion), else the ShareGPT
file (the last ``gpt`` turn is the completion). Files are written by the exporter but read here
as input from disk, so each row is checked; a bad row raises with its line number.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from automem_core.errors import AutoMemError
from automem_core.export.format_names import (
    CARD_FILE,
    OPENAI_FILE,
    SFT_FILES,
    TRL_FILE,
)


class ExportError(AutoMemError, ValueError):
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


def sft_file(export_dir: Path | str) -> Path:
    """The supervised file training reads from ``export_dir`` (see the module doc)."""
    folder = Path(export_dir)
    if not folder.is_dir():
        raise ExportError(f"{folder}: not a folder; point at an export folder (`automem export`)")
    for name in SFT_FILES:
        if (folder / name).is_file():
            return folder / name
    raise ExportError(
        f"{folder}: holds no supervised training file ({', '.join(SFT_FILES)}); export one with "
        "`automem export --format trl` (or openai, sharegpt, all)"
    )


def read_sft_examples(export_dir: Path | str) -> list[PromptCompletion]:
    """The examples of the export's supervised file, whichever it holds, in file order."""
    path = sft_file(export_dir)
    if path.name == TRL_FILE:
        return read_prompt_completion(export_dir)
    if path.name == OPENAI_FILE:
        rows = [_from_openai(row, path, n) for n, row in _json_lines(path)]
    else:
        rows = [_from_sharegpt(row, path, n) for n, row in _json_list(path)]
    if not rows:
        raise ExportError(f"{path}: no examples; export some labelled decisions first")
    return rows


def _json_lines(path: Path) -> list[tuple[int, Any]]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    out.append((number, json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise ExportError(f"{path}:{number}: not JSON ({exc.msg}); re-export") from None
    return out


def _json_list(path: Path) -> list[tuple[int, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ExportError(f"{path}: not JSON ({exc.msg}); re-export the folder") from None
    if not isinstance(data, list):
        raise ExportError(f"{path}: expected a list of examples; re-export the folder")
    return list(enumerate(data, start=1))


def _checked(path: Path, number: int, prompt: Any, completion: Any) -> PromptCompletion:
    row = {"prompt": prompt, "completion": completion}
    return _parse_line(json.dumps(row), path, number)


def _from_openai(row: Any, path: Path, number: int) -> PromptCompletion:
    messages = row.get("messages") if isinstance(row, dict) else None
    if not isinstance(messages, list) or not messages:
        raise ExportError(f"{path}:{number}: no `messages` list; re-export")
    trained = [i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("weight") == 1]
    if trained != [len(messages) - 1]:
        raise ExportError(f"{path}:{number}: the last message, and only it, must have weight 1")
    plain = [{"role": m.get("role"), "content": m.get("content")} for m in messages]
    return _checked(path, number, plain[:-1], plain[-1:])


def _from_sharegpt(row: Any, path: Path, number: int) -> PromptCompletion:
    turns = row.get("conversations") if isinstance(row, dict) else None
    if not isinstance(turns, list) or not turns:
        raise ExportError(f"{path}:{number}: no `conversations` list; re-export")
    roles = {"human": "user", "gpt": "assistant"}
    plain = [{"role": roles.get(str(t.get("from")), t.get("from")), "content": t.get("value")}
             for t in turns if isinstance(t, dict)]  # fmt: skip
    system = [{"role": "system", "content": row["system"]}] if row.get("system") else []
    return _checked(path, number, system + plain[:-1], plain[-1:])


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
