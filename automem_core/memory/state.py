"""The pure memory model: files as lines with the step that wrote each line, and mutations on them.

Everything that changes memory is a :class:`Mutation`, so memory at any step can be rebuilt from a
keyframe plus the mutation log by calling :func:`apply_mutation` in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MutationKind = Literal["create", "write", "append", "upsert", "replace", "delete", "prune"]


@dataclass
class FileState:
    """One memory file: its lines (no line contains a newline) and the step that wrote each."""

    lines: list[str]
    origins: list[int]  # origins[i] is the step that wrote lines[i]


MemoryState = dict[str, FileState]


@dataclass(frozen=True)
class Mutation:
    """One change to memory.

    ``text`` is the written text (write, append, upsert) or the replacement (replace); ``key`` the
    upsert key; ``old`` the text replaced; ``count`` the number of oldest lines a prune drops
    (and a prune's ``text``, when given, the header line it puts first).
    """

    kind: MutationKind
    file: str
    text: str = ""
    key: str = ""
    old: str = ""
    count: int = 0


def split_lines(text: str) -> list[str]:
    """The lines of ``text``; empty text has no lines."""
    return text.split("\n") if text else []


def keyed_line(key: str, text: str) -> str:
    """The single line an upsert writes: ``key: text`` with newlines flattened to spaces."""
    return f"{key}: {text}".replace("\r", " ").replace("\n", " ")


def key_prefix(key: str) -> str:
    """A line belongs to ``key`` when it starts with this prefix."""
    return f"{key}:".replace("\r", " ").replace("\n", " ")


def find_key(lines: list[str], key: str) -> int | None:
    """Index of the first line of ``key``, or None."""
    prefix = key_prefix(key)
    for i, line in enumerate(lines):
        if line.startswith(prefix):
            return i
    return None


def _file(state: MemoryState, name: str) -> FileState:
    existing = state.get(name)
    if existing is None:
        existing = state[name] = FileState(lines=[], origins=[])
    return existing


def _write(f: FileState, m: Mutation, step: int) -> None:
    f.lines = split_lines(m.text)
    f.origins = [step] * len(f.lines)


def _append(f: FileState, m: Mutation, step: int) -> None:
    new = split_lines(m.text)
    f.lines.extend(new)
    f.origins.extend([step] * len(new))


def _upsert(f: FileState, m: Mutation, step: int) -> None:
    line = keyed_line(m.key, m.text)
    at = find_key(f.lines, m.key)
    if at is None:
        f.lines.append(line)
        f.origins.append(step)
    else:
        f.lines[at] = line
        f.origins[at] = step


def _replace(f: FileState, m: Mutation, step: int) -> None:
    if not m.old:
        return
    lines: list[str] = []
    origins: list[int] = []
    for line, origin in zip(f.lines, f.origins, strict=True):
        changed = line.replace(m.old, m.text)
        if changed == line:
            lines.append(line)
            origins.append(origin)
        else:  # a replacement that contains newlines becomes several lines
            parts = changed.split("\n")
            lines.extend(parts)
            origins.extend([step] * len(parts))
    f.lines, f.origins = lines, origins


def _prune(f: FileState, m: Mutation, step: int) -> None:
    """Drop the ``count`` oldest lines; a ``text`` (a header saying what was dropped) becomes
    the new first line."""
    drop = max(0, m.count)
    del f.lines[:drop]
    del f.origins[:drop]
    header = split_lines(m.text.replace("\r", " ").replace("\n", " "))
    f.lines[:0] = header
    f.origins[:0] = [step] * len(header)


def apply_mutation(state: MemoryState, m: Mutation, step: int) -> None:
    """Apply ``m`` to ``state`` in place, stamping changed lines with ``step``.

    Deterministic and touches nothing but ``state``. write/append/upsert create a missing file;
    replace and prune on a missing file, and delete of a missing file, do nothing.
    """
    if m.kind == "delete":
        state.pop(m.file, None)
    elif m.kind == "create":
        _file(state, m.file)
    elif m.kind == "write":
        _write(_file(state, m.file), m, step)
    elif m.kind == "append":
        _append(_file(state, m.file), m, step)
    elif m.kind == "upsert":
        _upsert(_file(state, m.file), m, step)
    elif m.file in state:
        if m.kind == "replace":
            _replace(state[m.file], m, step)
        else:
            _prune(state[m.file], m, step)


def file_content(f: FileState) -> str:
    """The text of a file as it is stored on disk."""
    return "\n".join(f.lines)


def snapshot(state: MemoryState) -> dict[str, str]:
    """File name → content, sorted by name."""
    return {name: file_content(state[name]) for name in sorted(state)}


def copy_state(state: MemoryState) -> MemoryState:
    """An independent copy of ``state``."""
    return {name: FileState(list(f.lines), list(f.origins)) for name, f in state.items()}
