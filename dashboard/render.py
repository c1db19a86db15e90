"""Pure render helpers: agent-written text → escaped HTML (terminal, diff, ops, memory files).

Everything an agent or a game wrote goes through :func:`escape_text` before it meets any markup,
so a memory line ``<script>alert(1)</script>`` or ``**bold**`` is shown as those characters. The
escaping also covers Markdown's special characters, so the output is literal whether it is shown
with ``st.html`` or with ``st.markdown(..., unsafe_allow_html=True)``.
"""

from __future__ import annotations

import base64
import difflib
import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from automem_core.memory import OP_KINDS, READ_ONLY_OPS

# Characters that mean something to HTML or to Streamlit's Markdown (emphasis, code, links,
# math, emoji shortcodes, tables, headings, escapes); each becomes a numeric character reference.
_SPECIAL = frozenset("&<>\"'`*_[]()#$:~|\\{}!=+-^@%")
_ESCAPES = {ch: f"&#{ord(ch)};" for ch in _SPECIAL}

TTY_ROWS, TTY_COLS = 24, 80
# NLE colour codes 0–15 (the 8 bit is "bright"); 0 drawn dark grey so it stays visible on black.
TTY_PALETTE: tuple[str, ...] = (
    "#5c6370",
    "#e06c75",
    "#7ec16e",
    "#c8a25a",
    "#5f8fe0",
    "#c678dd",
    "#56b6c2",
    "#d0d0d0",
    "#8a8f98",
    "#ff9e3b",
    "#a6f28f",
    "#f5e35b",
    "#82aaff",
    "#ff8fe5",
    "#8ff0ff",
    "#ffffff",
)

_TAG = re.compile(r"<\|?[ \t]*(/?)[ \t]*([A-Za-z][A-Za-z0-9_-]{0,39})[ \t]*\|?>")
_TAG_NAMES = frozenset(OP_KINDS) | {"ACTION", "DONE", "END"}


def escape_text(text: str) -> str:
    """``text`` as inert HTML: every special character becomes a character reference."""
    if not any(ch in _SPECIAL for ch in text):
        return text
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def markdown_literal(text: str) -> str:
    """``text`` literal in a Markdown label (a backslash before each ASCII punctuation mark)."""
    return "".join(
        f"\\{ch}" if not ch.isalnum() and ch.isascii() and ch != " " else ch for ch in text
    )


def escape_block(text: str) -> str:
    """``text`` escaped for a ``white-space: pre-wrap`` element (newlines kept)."""
    return escape_text(text.replace("\r\n", "\n"))


_MARKUP = re.compile(r"(<[^>]*>)")


def mark_words(markup: str, words: Sequence[str]) -> str:
    """``markup`` (made by these helpers) with every whole occurrence of ``words`` (letters and
    digits; case ignored) in its text wrapped in ``<mark class="am-hit">``; tags are left as
    they are, and the text stays escaped."""
    wanted = sorted({w for w in words if w and w.isalnum()}, key=len, reverse=True)
    if not wanted:
        return markup
    found = re.compile(
        r"(?<![^\W_])(?:" + "|".join(map(re.escape, wanted)) + r")(?![^\W_])", re.IGNORECASE
    )
    out = []
    for piece in _MARKUP.split(markup):
        text = html.unescape(piece) if piece and not piece.startswith("<") else ""
        if not text or not found.search(text):
            out.append(piece)
            continue
        pos = 0
        for m in found.finditer(text):
            out += [escape_text(text[pos : m.start()]), '<mark class="am-hit">',
                    escape_text(m.group(0)), "</mark>"]  # fmt: skip
            pos = m.end()
        out.append(escape_text(text[pos:]))
    return "".join(out)


def png_data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


# --------------------------------------------------------------------------- terminal


def _tty_char(code: int) -> str:
    return chr(code) if 32 <= code < 127 else " "


def render_terminal_html(data: bytes, rows: int = TTY_ROWS, cols: int = TTY_COLS) -> str:
    """A NetHack/MiniHack frame (``rows×cols`` characters, then as many colour codes) as HTML.

    Runs of one colour share a ``<span>``; every character is escaped. Frames of another size
    are drawn as far as their bytes go.
    """
    cells = rows * cols
    chars, colours = data[:cells], data[cells : 2 * cells]
    out: list[str] = []
    for r in range(rows):
        line_chars = chars[r * cols : (r + 1) * cols]
        line_cols = colours[r * cols : (r + 1) * cols]
        run_colour, run = -1, list[str]()
        for i, code in enumerate(line_chars):
            colour = (line_cols[i] if i < len(line_cols) else 7) & 15
            if colour != run_colour and run:
                out.append(_span(run_colour, "".join(run)))
                run = []
            run_colour = colour
            run.append(_tty_char(code))
        if run:
            out.append(_span(run_colour, "".join(run)))
        out.append("\n")
    return f'<div class="am-tty-box"><pre class="am-tty">{"".join(out).rstrip()}</pre></div>'


def _span(colour: int, text: str) -> str:
    if not text.strip():
        return text
    return f'<span style="color:{TTY_PALETTE[colour]}">{escape_text(text)}</span>'


# --------------------------------------------------------------------------- diff

DiffKind = Literal[" ", "+", "-"]


@dataclass(frozen=True)
class DiffLine:
    kind: DiffKind
    text: str
    old_no: int | None  # 1-based line number before, None for an added line
    new_no: int | None  # 1-based line number after, None for a removed line


@dataclass(frozen=True)
class FileDiff:
    name: str
    status: Literal["added", "removed", "changed", "same"]
    lines: tuple[DiffLine, ...]

    @property
    def added(self) -> int:
        return sum(1 for d in self.lines if d.kind == "+")

    @property
    def removed(self) -> int:
        return sum(1 for d in self.lines if d.kind == "-")


def diff_lines(old: Sequence[str], new: Sequence[str]) -> list[DiffLine]:
    """Every line of ``old`` and ``new`` in order, marked kept, added or removed."""
    out: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(a=list(old), b=list(new), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out += [DiffLine(" ", old[i], i + 1, j1 + i - i1 + 1) for i in range(i1, i2)]
            continue
        out += [DiffLine("-", old[i], i + 1, None) for i in range(i1, i2)]
        out += [DiffLine("+", new[j], None, j + 1) for j in range(j1, j2)]
    return out


def diff_files(old: dict[str, list[str]], new: dict[str, list[str]]) -> list[FileDiff]:
    """Per file (sorted by name), how ``old`` became ``new``."""
    out = []
    for name in sorted(set(old) | set(new)):
        lines = tuple(diff_lines(old.get(name, []), new.get(name, [])))
        if name not in old:
            status = "added"
        elif name not in new:
            status = "removed"
        else:
            status = "changed" if any(d.kind != " " for d in lines) else "same"
        out.append(FileDiff(name, status, lines))  # type: ignore[arg-type]
    return out


def _with_context(lines: Sequence[DiffLine], context: int) -> list[DiffLine | None]:
    """Changed lines with ``context`` kept lines around them; None stands for skipped lines."""
    keep: set[int] = set()
    for i, d in enumerate(lines):
        if d.kind != " ":
            keep.update(range(max(0, i - context), min(len(lines), i + context + 1)))
    out: list[DiffLine | None] = []
    previous = -1
    for i in sorted(keep):
        if i != previous + 1:
            out.append(None)
        out.append(lines[i])
        previous = i
    if keep and previous != len(lines) - 1:
        out.append(None)
    return out


def render_diff_html(diffs: Sequence[FileDiff], context: int = 2) -> str:
    """Changed files as unified diffs: added lines green with ``+``, removed red with ``-``."""
    changed = [d for d in diffs if d.status != "same"]
    if not changed:
        return '<div class="am-empty">No memory changes.</div>'
    parts = []
    for f in changed:
        head = (
            f'<div class="am-file-head"><b>{escape_text(f.name)}</b> '
            f'<span class="am-badge am-{f.status}">{f.status}</span> '
            f'<span class="am-plus">+{f.added}</span> '
            f'<span class="am-minus">−{f.removed}</span></div>'
        )
        rows = [
            '<tr class="am-skip"><td></td><td></td><td>⋯</td></tr>' if d is None else _diff_row(d)
            for d in _with_context(f.lines, context)
        ]
        parts.append(f'{head}<table class="am-diff">{"".join(rows)}</table>')
    return f'<div class="am-diffs">{"".join(parts)}</div>'


def _diff_row(d: DiffLine) -> str:
    cls = {"+": "am-add", "-": "am-del", " ": "am-ctx"}[d.kind]
    no = d.new_no if d.new_no is not None else d.old_no
    return (
        f'<tr class="{cls}"><td class="am-ln">{no}</td><td class="am-sign">{escape_text(d.kind)}'
        f'</td><td class="am-txt">{escape_text(d.text)}</td></tr>'
    )


# --------------------------------------------------------------------------- memory files

ReadBy = Callable[[str, int], Sequence[int]]


def render_file_html(
    name: str,
    lines: Sequence[str],
    origins: Sequence[int],
    step: int,
    read_by: ReadBy,
    *,
    open_: bool = True,
    max_reads: int = 4,
) -> str:
    """One memory file at ``step``: each line with the step that wrote it and the steps that read
    it afterwards (reads after ``step`` are dimmed); lines written at ``step`` are highlighted."""
    rows = []
    for i, (line, origin) in enumerate(zip(lines, origins, strict=False)):
        reads = list(read_by(line, origin))
        cls = "am-add" if origin == step else "am-ctx"
        wrote = "init" if origin < 0 else f"@{origin}"
        rows.append(
            f'<tr class="{cls}"><td class="am-ln">{i + 1}</td>'
            f'<td class="am-w" title="written at step {origin}">{wrote}</td>'
            f'<td class="am-txt">{escape_text(line)}</td>'
            f'<td class="am-r">{_reads_html(reads, step, max_reads)}</td></tr>'
        )
    new = sum(1 for o in origins if o == step)
    summary = (
        f"<summary><b>{escape_text(name)}</b> <span class='am-dim'>{len(lines)} lines</span>"
        + (f" <span class='am-plus'>+{new} this step</span>" if new else "")
        + "</summary>"
    )
    body = f'<table class="am-mem">{"".join(rows)}</table>' if rows else "<i>empty</i>"
    return f'<details class="am-file"{" open" if open_ else ""}>{summary}{body}</details>'


def _reads_html(reads: Sequence[int], step: int, limit: int) -> str:
    if not reads:
        return ""
    shown = []
    for s in reads[:limit]:
        cls = "am-future" if s > step else ""
        shown.append(f'<span class="{cls}">{s}</span>')
    more = f" +{len(reads) - limit}" if len(reads) > limit else ""
    return f"read {', '.join(shown)}{more}"


# --------------------------------------------------------------------------- completions


def render_completion_html(text: str) -> str:
    """A completion with its op tags as badges and op arguments tinted; all text escaped."""
    out: list[str] = []
    pos = 0
    in_op: str | None = None
    for m in _TAG.finditer(text):
        name = m.group(2).upper().replace("-", "_")
        if name not in _TAG_NAMES:
            continue
        out.append(_segment(text[pos : m.start()], in_op))
        closing = bool(m.group(1)) or name == "END"
        kind = "end" if closing else ("read" if name in READ_ONLY_OPS else "write")
        if name in ("ACTION", "DONE"):
            kind = name.lower()
        out.append(f'<span class="am-tag am-tag-{kind}">{escape_text(m.group(0))}</span>')
        in_op = None if closing or name == "DONE" else kind
        pos = m.end()
    out.append(_segment(text[pos:], in_op))
    return f'<pre class="am-completion">{"".join(out)}</pre>'


def _segment(text: str, in_op: str | None) -> str:
    if not text:
        return ""
    if in_op is None:
        return escape_block(text)
    return f'<span class="am-arg am-arg-{in_op}">{escape_block(text)}</span>'


# --------------------------------------------------------------------------- step and ops


def render_op_results_html(ops: Sequence[Mapping[str, Any]]) -> str:
    """Each op of a turn: kind, file, whether it worked, hits, and the text the model got back."""
    parts = []
    for op in ops:
        kind = str(op.get("kind", ""))
        tag = "read" if kind in READ_ONLY_OPS else "write"
        ok = bool(op.get("ok"))
        hits = f" · {op.get('hits', 0)} hits" if tag == "read" and ok else ""
        head = (
            f'<span class="am-tag am-tag-{tag}">{escape_text(kind)}</span> '
            f"{escape_text(str(op.get('file', '')))} · "
            f'<span class="{"am-plus" if ok else "am-minus"}">{"ok" if ok else "failed"}</span>'
            f"{hits}"
        )
        result = str(op.get("result") or "")
        body = f'<pre class="am-result">{escape_block(result)}</pre>' if result else ""
        parts.append(f'<div class="am-op">{head}{body}</div>')
    return f'<div class="am-ops">{"".join(parts)}</div>' if parts else ""


def render_prompt_html(messages: list[dict[str, Any]]) -> str:
    """A turn's prompt, collapsed: each message's role and its text, escaped."""
    parts = "".join(
        f'<div class="am-role">{escape_text(str(m.get("role", "?")))}</div>'
        f'<pre class="am-prompt">{escape_text(str(m.get("content", "")))}</pre>'
        for m in messages
    )
    return f'<details class="am-prompt-box"><summary>Prompt</summary>{parts}</details>'


def render_step_html(row: Mapping[str, Any], total_reward: float, n_steps: int) -> str:
    """The committed action (and what was asked for when it was invalid), reward, progression,
    cost and the helper warnings of one step."""
    action = f'<span class="am-action">{escape_text(str(row["action"]))}</span>'
    if not row.get("action_valid", True):
        asked = row.get("raw_action")
        asked_html = escape_text(repr(asked)) if asked is not None else "no action"
        action += f'<br><span class="am-invalid">invalid: asked {asked_html}; default played</span>'
    ended = " · <b>episode ended</b>" if row.get("done") else ""
    facts = [
        ("step", f'<b>{row["step"]}</b> <span class="am-dim">of {n_steps}</span>{ended}'),
        ("action", action),
        ("reward", f"<b>{row['reward']:+g}</b> <span class='am-dim'>sum {total_reward:+g}</span>"),
        ("progression", f"<b>{100 * row['progression']:.1f}%</b>"),
        (
            "cost",
            f"{row.get('tokens_in', 0)} + {row.get('tokens_out', 0)} tokens · "
            f"{row.get('llm_ms', 0.0) / 1000:.1f} s LLM",
        ),
    ]
    rows = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts)
    warnings = "".join(
        f'<span class="am-warn">{escape_text(w)}</span>' for w in row.get("warnings") or []
    )
    return f'<div class="am-step"><table>{rows}</table>{warnings}</div>'
