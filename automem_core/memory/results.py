"""Results of memory operations and the labelled text blocks the model reads back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from automem_core.memory.parser import MemoryOp
from automem_core.memory.state import Mutation
from automem_core.memory.text import shown

RULE = "──"
BLOCK_SEPARATOR = "\n\n"
EMPTY_FILE = "[FILE IS EMPTY]"
PARSE_ERROR = "PARSE ERROR"  # the label of a block for text the parser could not use


@dataclass(frozen=True)
class OpResult:
    """What one memory op did.

    ``text`` is the whole labelled block shown to the model (header line included). ``hits`` is
    the number of lines returned by a read (for COUNT, the number counted), 0 for writes and
    errors. ``read_lines`` are the indices, in the file as it was, of the lines a read returned.
    """

    op: MemoryOp
    file: str
    ok: bool
    text: str
    mutations: tuple[Mutation, ...]
    hits: int
    error: str | None
    read_lines: tuple[int, ...] = ()


def quoted(text: str) -> str:
    """``text`` shown in single quotes, as in ``[No lines matching 'water']``."""
    return f"'{shown(text)}'"


def render_header(kind: str, file: str, detail: str = "") -> str:
    """The label line of a block, e.g. ``── SEARCH notes.txt for 'water' ──``."""
    label = " ".join(part for part in (kind, shown(file), detail) if part)
    return f"{RULE} {label} {RULE}"


def render_block(header: str, body: str) -> str:
    """A header line followed by its body."""
    return f"{header}\n{body}"


def render_error(message: str) -> str:
    """The body of a failed op."""
    return f"[ERROR: {message}]"


def render_parse_error(message: str) -> str:
    """The block for what the parser rejected, e.g. ``── PARSE ERROR ──`` then
    ``[ERROR: TAIL needs file|N with N a positive integer: <|TAIL|>notes|-5<|END|>]``."""
    return render_block(render_header(PARSE_ERROR, ""), render_error(message))


def render_results(
    results: Sequence[OpResult], max_chars: int, parse_errors: Sequence[str] = ()
) -> str:
    """The blocks of ``parse_errors`` then of ``results``, joined by blank lines and cut to at
    most ``max_chars`` characters.

    A cut text ends with ``[… truncated N chars]``, N counting the characters left out.
    """
    blocks = [*(render_parse_error(e) for e in parse_errors), *(r.text for r in results)]
    return truncate(BLOCK_SEPARATOR.join(blocks), max_chars)


def truncate(text: str, max_chars: int) -> str:
    """``text`` itself when it fits, else its start plus a marker saying how much was cut."""
    if len(text) <= max_chars:
        return text
    max_chars = max(0, max_chars)
    keep = max_chars
    while True:  # the marker's length depends on the number it reports; keep only shrinks
        marker = f"\n[… truncated {len(text) - keep} chars]"
        fitted = max(0, max_chars - len(marker))
        if fitted == keep:
            break
        keep = fitted
    if len(marker) > max_chars:
        return text[:max_chars]
    return text[:keep] + marker
