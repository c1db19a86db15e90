"""The pure render helpers: escaping, terminal colours, diffs, op highlighting, provenance."""

from __future__ import annotations

import html
import re

from dashboard.render import (
    TTY_PALETTE,
    DiffLine,
    diff_files,
    diff_lines,
    escape_text,
    render_completion_html,
    render_diff_html,
    render_file_html,
    render_op_results_html,
    render_step_html,
    render_terminal_html,
)

NASTY = ["<script>alert(1)</script>", "**bold**", "<img src=x onerror=alert(1)>", "$x$ :red[y]"]


def visible(markup: str) -> str:
    """What a browser shows: tags dropped, character references decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def test_escape_text_leaves_no_markup_and_round_trips():
    for text in NASTY:
        escaped = escape_text(text)
        assert "<" not in escaped and ">" not in escaped and "*" not in escaped
        assert html.unescape(escaped) == text


def test_escape_text_keeps_plain_text_unchanged():
    assert escape_text("step 12 moved east") == "step 12 moved east"


def tty(rows: list[tuple[str, int]]) -> bytes:
    """A 24×80 frame whose first rows hold ``text`` in ``colour``; the rest blank."""
    chars = bytearray(b" " * 1920)
    colours = bytearray(1920)
    for r, (text, colour) in enumerate(rows):
        chars[r * 80 : r * 80 + len(text)] = text.encode()
        colours[r * 80 : r * 80 + len(text)] = bytes([colour]) * len(text)
    return bytes(chars + colours)


def test_terminal_colours_each_run_of_one_colour():
    out = render_terminal_html(tty([("@", 15), ("ab", 1)]))
    assert f'<span style="color:{TTY_PALETTE[15]}">&#64;</span>' in out
    assert f'<span style="color:{TTY_PALETTE[1]}">ab</span>' in out


def test_terminal_escapes_characters_and_drops_unprintable_bytes():
    frame = bytearray(tty([("<b>|", 7)]))
    frame[80] = 7  # a control character on row 2
    out = render_terminal_html(bytes(frame))
    assert "<b>" not in out
    assert visible(out).splitlines()[0] == "<b>|"
    assert "\x07" not in out


def test_terminal_keeps_24_rows_and_reads_short_frames():
    out = render_terminal_html(tty([("x", 7)] * 24))
    assert visible(out).count("\n") == 23
    assert "am-tty" in render_terminal_html(b"abc")


def test_diff_lines_marks_kept_added_and_removed_with_line_numbers():
    got = diff_lines(["a", "b", "c"], ["a", "c", "d"])
    assert got == [
        DiffLine(" ", "a", 1, 1),
        DiffLine("-", "b", 2, None),
        DiffLine(" ", "c", 3, 2),
        DiffLine("+", "d", None, 3),
    ]


def test_diff_files_names_added_removed_changed_and_same_files():
    diffs = {
        d.name: d
        for d in diff_files({"a": ["1"], "b": ["x"], "c": ["k"]}, {"a": ["1"], "b": ["y"], "d": []})
    }
    assert {n: d.status for n, d in diffs.items()} == {
        "a": "same",
        "b": "changed",
        "c": "removed",
        "d": "added",
    }
    assert (diffs["b"].added, diffs["b"].removed) == (1, 1)


def test_diff_html_shows_changes_with_context_and_skips_the_rest():
    old = [f"line {i}" for i in range(20)]
    new = [*old, "<script>alert(1)</script>"]
    out = render_diff_html(diff_files({"notes": old}, {"notes": new}), context=2)
    assert 'class="am-add"' in out and escape_text("<script>alert(1)</script>") in out
    assert "<script>" not in out
    assert "line 18" in out and "line 5" not in out and "⋯" in out


def test_diff_html_says_when_nothing_changed():
    assert "No memory changes" in render_diff_html(diff_files({"a": ["x"]}, {"a": ["x"]}))


def test_completion_highlights_ops_and_keeps_their_text_literal():
    text = "Noting it.\n<|APPEND|>notes|**bold** <b>hi</b><|END|>\n<|SEARCH|>notes|x<|END|><|DONE|>"
    out = render_completion_html(text)
    assert 'am-tag-write">&#60;&#124;APPEND&#124;&#62;' in out
    assert 'am-tag-read">' in out and 'am-tag-done">' in out
    assert "<b>hi</b>" not in out
    assert visible(out) == text


def test_completion_marks_the_action():
    out = render_completion_html("<|ACTION|>Move West<|END|>")
    assert "am-tag-action" in out and 'am-arg-action">Move West' in out


def test_file_html_shows_writer_readers_and_this_steps_lines():
    reads = {"water at (1,2)": [3, 9, 12, 20, 30, 31]}
    out = render_file_html(
        "map",
        ["water at (1,2)", "<script>x</script>"],
        [2, 10],
        10,
        lambda line, origin: [s for s in reads.get(line, []) if s >= origin],
    )
    shown = visible(out)
    assert "@2" in shown and "@10" in shown and "read 3, 9, 12, 20 +2" in shown
    assert '<span class="am-future">12</span>' in out
    assert 'class="am-add"' in out and "<script>" not in out
    assert "+1 this step" in shown


def test_step_html_shows_an_invalid_action_as_asked():
    row = {
        "step": 4,
        "action": "Noop",
        "action_valid": False,
        "raw_action": "<i>fly</i>",
        "reward": 1.0,
        "progression": 0.25,
        "warnings": ["**stuck**"],
    }
    out = render_step_html(row, 3.0, 10)
    shown = visible(out)
    assert "Noop" in shown and "'<i>fly</i>'" in shown and "**stuck**" in shown
    assert "<i>" not in out and "25.0%" in shown and "+3" in shown


def test_op_results_show_status_hits_and_text():
    ops = [
        {"kind": "SEARCH", "file": "notes", "ok": True, "hits": 2, "result": "── S ──\n<a>\nb"},
        {"kind": "APPEND", "file": "x/y", "ok": False, "hits": 0, "result": "[ERROR: bad]"},
    ]
    shown = visible(render_op_results_html(ops))
    assert "SEARCH notes · ok · 2 hits" in shown and "<a>" in shown
    assert "APPEND x/y · failed" in shown
    assert render_op_results_html([]) == ""


def test_prompt_messages_are_escaped_inside_a_collapsed_box():
    from dashboard.render import render_prompt_html

    out = render_prompt_html([{"role": "user", "content": "<script>alert(1)</script> **x**"}])
    assert out.startswith('<details class="am-prompt-box">') and "<script>" not in out
    assert html.unescape(out).count("<script>alert(1)</script> **x**") == 1


def test_mark_words_marks_whole_words_in_text_never_in_tags():
    from dashboard.render import mark_words

    markup = f'<td class="bold" title="bold">{escape_text("**Bold** boldly <b>bold</b>")}</td>'
    marked = mark_words(markup, ["bold", "<b>"])
    assert marked.startswith('<td class="bold" title="bold">')
    assert marked.count('<mark class="am-hit">') == 2  # "Bold" and the "bold" between tags
    assert '<mark class="am-hit">Bold</mark>' in marked and "boldly" in marked
    assert "<b>" not in marked and "&#60;b&#62;" in marked
    assert mark_words(markup, []) == markup
