"""Writing memory ops and actions in the syntax a model uses (``<|OP|>args<|END|>``)."""

from __future__ import annotations

DONE = "<|DONE|>"


def _clean(text: str) -> str:
    """One line, without anything the op parser would read as a tag or an argument break."""
    flat = " ".join(text.replace("<|", "<").replace("|>", ">").split())
    return flat


def _arg(text: str) -> str:
    return _clean(text).replace("|", "/")


def search(file: str, keyword: str) -> str:
    return f"<|SEARCH|>{_arg(file)}|{_arg(keyword)}<|END|>"


def read(file: str) -> str:
    return f"<|READ|>{_arg(file)}<|END|>"


def tail(file: str, n: int) -> str:
    return f"<|TAIL|>{_arg(file)}|{max(1, n)}<|END|>"


def append(file: str, text: str) -> str:
    return f"<|APPEND|>{_arg(file)}|{_clean(text)}<|END|>"


def upsert(file: str, key: str, text: str) -> str:
    return f"<|UPSERT|>{_arg(file)}|{_arg(key)}|{_clean(text)}<|END|>"


def upsert_map(x: int, y: int, description: str) -> str:
    return f"<|UPSERT_MAP|>{x},{y}|{_clean(description)}<|END|>"


def action(name: str) -> str:
    return f"<|ACTION|>{_clean(name)}<|END|>"


def reply(ops: list[str], *, done: bool = False, act: str | None = None) -> str:
    """One completion: the ops one per line, then ``<|DONE|>`` or the action."""
    parts = list(ops)
    if done:
        parts.append(DONE)
    if act is not None:
        parts.append(action(act))
    return "\n".join(parts)
