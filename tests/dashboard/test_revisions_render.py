"""The Revisions page's pure renderers: a unified diff aligned side by side, escaped, and the
lineage as a Graphviz graph whose labels cannot break out of their strings."""

from __future__ import annotations

import difflib

import pandas as pd

from dashboard.revisions.render import (
    lineage_dot,
    render_side_by_side_html,
    side_by_side_rows,
)


def unified(old: list[str], new: list[str], context: int = 1) -> list[str]:
    return list(difflib.unified_diff(old, new, "a", "b", n=context, lineterm=""))


def test_removed_lines_sit_beside_the_lines_added_in_their_place():
    old = ["a", "b", "c", "d", "e", "f", "g"]
    new = ["a", "B", "c", "d", "e", "f", "g", "h"]
    rows = side_by_side_rows(unified(old, new))
    assert [(r.kind, r.old, r.new) for r in rows] == [
        ("same", "a", "a"), ("changed", "b", "B"), ("same", "c", "c"), ("skip", None, None),
        ("same", "g", "g"), ("added", None, "h"),
    ]  # fmt: skip
    assert (rows[1].old_no, rows[1].new_no) == (2, 2) and rows[-1].new_no == 8


def test_a_removed_line_that_looks_like_a_header_is_kept():
    rows = side_by_side_rows(unified(["--x", "y"], ["y"]))
    assert [(r.kind, r.old) for r in rows] == [("removed", "--x"), ("same", "y")]


def test_diff_text_is_escaped():
    markup = render_side_by_side_html(
        {"files/notes": unified(["<script>alert(1)</script>"], ["<b>x</b>"])}, "p@1", "c@2"
    )
    assert "<script>" not in markup and "<b>x" not in markup
    assert "&#60;script&#62;" in markup


def test_lineage_labels_cannot_break_out_of_their_strings():
    lineage = pd.DataFrame(
        [
            {"version": "v0@1", "parent": None, "status": "base", "gating": 10.0, "heldout": None},
            {"version": 'x"] ; evil [label="', "parent": "v0@1", "status": "accepted",
             "gating": 12.5, "heldout": 11.0},
        ]
    )  # fmt: skip
    dot = lineage_dot(lineage)
    assert '"x\\"] ; evil [label=\\""' in dot
    assert '"v0@1" -> "x\\"] ; evil [label=\\""' in dot
    assert "gating 12.5 · held-out 11.0" in dot and "gating 10.0 · held-out –" in dot
