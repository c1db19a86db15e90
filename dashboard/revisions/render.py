"""Pure render helpers of the Revisions page: a scaffold diff side by side, status chips, and the
version lineage as a Graphviz graph. Every text that reaches markup is escaped first."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from typing import Literal

import pandas as pd

from dashboard.render import escape_text

RowKind = Literal["same", "changed", "removed", "added", "skip"]
HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")
STATUS_COLOURS = {
    "base": "#e5e7eb",
    "proposed": "#fde68a",
    "approved": "#bfdbfe",
    "edited": "#c7d2fe",
    "accepted": "#bbf7d0",
    "accepted, held-out fell": "#fef08a",
    "declined": "#fed7aa",
    "rejected": "#fecaca",
    "invalid": "#f3f4f6",
}
CSS = """
.am-sbs { border-collapse:collapse; width:100%; table-layout:fixed; margin:0 0 10px; border:none;
  font:12.5px/1.4 'DejaVu Sans Mono', Menlo, Consolas, monospace; }
.am-sbs th { font:600 12px sans-serif; color:#57606a; text-align:left; padding:3px 6px;
  background:#f6f8fa; border:none; }
.am-sbs td { padding:1px 6px; border:none; vertical-align:top; }
.am-sbs col.am-ln-col { width:3.2em; }
.am-sbs .am-txt { white-space:pre-wrap; word-break:break-word; width:auto; }
.am-sbs td.am-old-del { background:#ffd7d5; }
.am-sbs td.am-new-add { background:#ccffd8; }
.am-sbs tr.am-skip td { color:#8b949e; background:#f6f8fa; text-align:center; }
.am-chip { font:600 11.5px sans-serif; border-radius:10px; padding:1px 8px; color:#1f2328; }
.am-prose { white-space:pre-wrap; font-size:14.5px; line-height:1.5; }
"""


@dataclass(frozen=True)
class SideBySideRow:
    kind: RowKind
    old_no: int | None = None
    old: str | None = None
    new_no: int | None = None
    new: str | None = None


def side_by_side_rows(unified: Sequence[str]) -> list[SideBySideRow]:
    """A unified diff (``difflib.unified_diff`` lines) as aligned rows: kept lines on both
    sides, removed lines beside the lines added in their place, skipped lines between hunks."""
    rows: list[SideBySideRow] = []
    removed: list[tuple[int, str]] = []
    added: list[tuple[int, str]] = []
    old_no = new_no = 0
    in_hunk = False

    def flush() -> None:
        for old, new in zip_longest(removed, added):
            kind: RowKind = "changed" if old and new else "removed" if old else "added"
            rows.append(SideBySideRow(kind, *(old or (None, None)), *(new or (None, None))))
        removed.clear()
        added.clear()

    for line in unified:
        hunk = HUNK.match(line)
        if not in_hunk and not hunk:
            continue  # the file header (--- and +++)
        if hunk:
            in_hunk = True
            flush()
            if rows:
                rows.append(SideBySideRow("skip"))
            old_no, new_no = int(hunk.group(1)), int(hunk.group(2))
        elif line.startswith("-"):
            removed.append((old_no, line[1:]))
            old_no += 1
        elif line.startswith("+"):
            added.append((new_no, line[1:]))
            new_no += 1
        else:
            flush()
            rows.append(SideBySideRow("same", old_no, line[1:], new_no, line[1:]))
            old_no, new_no = old_no + 1, new_no + 1
    flush()
    return rows


def _cell(no: int | None, text: str | None, mark: str) -> str:
    number = "" if no is None else str(no)
    body = "" if text is None else escape_text(text)
    return f'<td class="am-ln">{number}</td><td class="am-txt {mark}">{body}</td>'


def _row_html(row: SideBySideRow) -> str:
    if row.kind == "skip":
        return '<tr class="am-skip"><td></td><td>⋯</td><td></td><td>⋯</td></tr>'
    old_mark = "am-old-del" if row.kind in ("changed", "removed") else ""
    new_mark = "am-new-add" if row.kind in ("changed", "added") else ""
    cells = _cell(row.old_no, row.old, old_mark) + _cell(row.new_no, row.new, new_mark)
    return f'<tr class="am-sbs-{row.kind}">{cells}</tr>'


def render_side_by_side_html(
    files: Mapping[str, Sequence[str]], parent: str, candidate: str
) -> str:
    """Each changed file of a scaffold diff as a two-sided table: the parent on the left, the
    candidate on the right."""
    if not files:
        return '<div class="am-empty">The two versions are the same.</div>'
    head = (
        '<colgroup><col class="am-ln-col"><col><col class="am-ln-col"><col></colgroup>'
        f"<tr><th></th><th>{escape_text(parent)}</th><th></th><th>{escape_text(candidate)}</th></tr>"
    )
    parts = []
    for name, unified in files.items():
        rows = side_by_side_rows(unified)
        plus = sum(r.kind in ("changed", "added") for r in rows)
        minus = sum(r.kind in ("changed", "removed") for r in rows)
        parts.append(
            f'<div class="am-file-head"><b>{escape_text(name)}</b> '
            f'<span class="am-plus">+{plus}</span> <span class="am-minus">−{minus}</span></div>'
            f'<table class="am-sbs">{head}{"".join(_row_html(r) for r in rows)}</table>'
        )
    return f'<div class="am-sbs-diff">{"".join(parts)}</div>'


def pretty_json(text: str) -> str:
    """A recorded JSON text indented for reading (as it is when it does not parse)."""
    try:
        return json.dumps(json.loads(text), indent=1, ensure_ascii=False)
    except ValueError:
        return text


def status_chip_html(status: str) -> str:
    colour = STATUS_COLOURS.get(status, "#e5e7eb")
    return f'<span class="am-chip" style="background:{colour}">{escape_text(status)}</span>'


def _dot(text: str) -> str:
    """``text`` as a quoted Graphviz string (escape sequences neutralised)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _number(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{float(value):.1f}"  # type: ignore[arg-type]


def lineage_dot(lineage: pd.DataFrame) -> str:
    """The versions as a left-to-right tree, each node coloured by its status and labelled
    with its gating and held-out progression (×100)."""
    lines = [
        "digraph lineage {",
        '  rankdir=LR; bgcolor="transparent";',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
    ]
    for row in lineage.itertuples():
        status = str(row.status)
        label = "\\n".join(
            [_dot(str(row.version))[1:-1], _dot(status)[1:-1],
             f"gating {_number(row.gating)} · held-out {_number(row.heldout)}"]
        )  # fmt: skip
        style = ', style="rounded,filled,dashed"' if status in ("invalid", "rejected") else ""
        colour = STATUS_COLOURS.get(status, "#e5e7eb")
        lines.append(f'  {_dot(str(row.version))} [label="{label}", fillcolor="{colour}"{style}];')
        if isinstance(row.parent, str) and row.parent:
            lines.append(f"  {_dot(row.parent)} -> {_dot(str(row.version))};")
    lines.append("}")
    return "\n".join(lines)
