"""The op parser: every op, every tolerance, errors as data, never an exception."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automem_core.memory.parser import (
    MAX_PARSED_OPS,
    OP_KINDS,
    READ_ONLY_OPS,
    MemoryOp,
    parse_completion,
)


def only_op(text: str) -> MemoryOp:
    result = parse_completion(text)
    assert result.errors == ()
    assert len(result.ops) == 1
    return result.ops[0]


@pytest.mark.parametrize(
    ("text", "kind", "args"),
    [
        ("<|SEARCH|>notes.txt|water<|END|>", "SEARCH", ("notes.txt", "water")),
        ("<|READ|>notes.txt<|END|>", "READ", ("notes.txt",)),
        ("<|TAIL|>notes.txt|5<|END|>", "TAIL", ("notes.txt", "5")),
        ("<|COUNT|>notes.txt|water<|END|>", "COUNT", ("notes.txt", "water")),
        ("<|APPEND|>notes.txt|saw water<|END|>", "APPEND", ("notes.txt", "saw water")),
        ("<|WRITE|>plan.md|step 1<|END|>", "WRITE", ("plan.md", "step 1")),
        ("<|CREATE|>plan.md<|END|>", "CREATE", ("plan.md",)),
        ("<|UPSERT|>inv|wood|3 pieces<|END|>", "UPSERT", ("inv", "wood", "3 pieces")),
        ("<|UPSERT_MAP|>3,4|fountain<|END|>", "UPSERT_MAP", ("3,4", "fountain")),
        ("<|REPLACE|>notes|old text|new text<|END|>", "REPLACE", ("notes", "old text", "new text")),
        ("<|DELETE|>notes<|END|>", "DELETE", ("notes",)),
    ],
)
def test_parse_each_op_gives_kind_and_args(text: str, kind: str, args: tuple[str, ...]) -> None:
    op = only_op(text)
    assert op.kind == kind
    assert op.args == args
    assert op.raw == text


def test_read_only_ops_are_the_four_reads() -> None:
    assert frozenset({"SEARCH", "READ", "TAIL", "COUNT"}) == READ_ONLY_OPS
    assert set(OP_KINDS) >= READ_ONLY_OPS


def test_last_argument_keeps_pipes() -> None:
    assert only_op("<|APPEND|>notes|a | b | c<|END|>").args == ("notes", "a | b | c")
    assert only_op("<|UPSERT|>m|k|x|y<|END|>").args == ("m", "k", "x|y")
    assert only_op("<|REPLACE|>m|a|b|c<|END|>").args == ("m", "a", "b|c")
    assert only_op("<|UPSERT_MAP|>3, 4|door|open<|END|>").args == ("3, 4", "door|open")


def test_whitespace_stripped_around_names_and_keywords() -> None:
    assert only_op("<|SEARCH|>  notes.txt \t|  water \n<|END|>").args == ("notes.txt", "water")
    assert only_op("<|TAIL|> notes | 7 <|END|>").args == ("notes", "7")


def test_append_and_write_keep_inner_newlines_but_strip_outer() -> None:
    assert only_op("<|APPEND|>notes|\n  line one\nline two  \n<|END|>").args == (
        "notes",
        "line one\nline two",
    )
    content = "# Plan\n\n1. get wood\n2. make table"
    assert only_op(f"<|WRITE|>plan.md|\n{content}\n<|END|>").args == ("plan.md", content)


def test_write_with_empty_content_is_allowed() -> None:
    assert only_op("<|WRITE|>plan.md|<|END|>").args == ("plan.md", "")


def test_bare_angle_tags_are_accepted() -> None:
    result = parse_completion("<APPEND>notes|hi<END>\n<DONE>")
    assert [(op.kind, op.args) for op in result.ops] == [("APPEND", ("notes", "hi"))]
    assert result.done


def test_op_names_are_case_insensitive() -> None:
    result = parse_completion("<|append|>notes|a<|end|><|Search|>notes|a<|End|><Read>notes<end>")
    assert [op.kind for op in result.ops] == ["APPEND", "SEARCH", "READ"]
    assert parse_completion("<|done|>").done


def test_spaces_and_hyphens_inside_tags_are_tolerated() -> None:
    assert only_op("<| READ |>notes<| END |>").args == ("notes",)
    assert only_op("<|upsert-map|>1,2|x<|END|>").kind == "UPSERT_MAP"


def test_missing_end_runs_to_end_of_text() -> None:
    op = only_op("Recording it.\n<|APPEND|>notes|water to the north\n")
    assert op.args == ("notes", "water to the north")


def test_missing_end_stops_at_next_op_tag() -> None:
    result = parse_completion("<|APPEND|>notes|first\n<|APPEND|>notes|second<|END|><|DONE|>")
    assert [op.args for op in result.ops] == [("notes", "first"), ("notes", "second")]
    assert result.done
    assert result.errors == ()


def test_missing_end_before_done_keeps_done() -> None:
    result = parse_completion("<|APPEND|>notes|x\n<|DONE|>")
    assert result.ops[0].args == ("notes", "x")
    assert result.done


def test_code_fences_around_ops_are_ignored() -> None:
    text = "Here:\n```\n<|APPEND|>notes|water<|END|>\n<|DONE|>\n```"
    result = parse_completion(text)
    assert [op.args for op in result.ops] == [("notes", "water")]
    assert result.done


def test_code_fence_ends_an_unclosed_op() -> None:
    text = "```text\n<|APPEND|>notes|water north\n```\nThat is all I saw."
    assert only_op(text).args == ("notes", "water north")


def test_action_tag_is_found() -> None:
    result = parse_completion("<|SEARCH|>notes|tree<|END|>\n<|ACTION|> Move West <|END|>")
    assert result.action == "Move West"
    assert [op.kind for op in result.ops] == ["SEARCH"]


def test_action_without_end_takes_its_first_line() -> None:
    assert parse_completion("<|ACTION|>Move West\nbecause water is there").action == "Move West"
    assert parse_completion("<action>north").action == "north"


@pytest.mark.parametrize(
    "text",
    [
        "ACTION: Move North",
        "Action: Move North",
        "I think so.\naction:Move North\n",
        "**Action:** Move North",
    ],
)
def test_action_line_is_a_fallback(text: str) -> None:
    assert parse_completion(text).action == "Move North"


def test_action_line_ignored_when_a_tag_is_present() -> None:
    result = parse_completion("Action: Noop\n<|ACTION|>Do<|END|>")
    assert result.action == "Do"
    assert result.errors == ()


def test_action_line_inside_an_op_body_is_not_an_action() -> None:
    result = parse_completion("<|APPEND|>notes|Action: Do worked on the tree<|END|>")
    assert result.action is None
    assert result.ops[0].args == ("notes", "Action: Do worked on the tree")


def test_only_first_action_counts() -> None:
    result = parse_completion("<|ACTION|>north<|END|> then <|ACTION|>south<|END|>")
    assert result.action == "north"
    assert result.errors == ("ignored extra action 'south'",)


def test_extra_fallback_actions_are_reported() -> None:
    result = parse_completion("ACTION: north\nACTION: south")
    assert result.action == "north"
    assert result.errors == ("ignored extra action 'south'",)


def test_empty_action_is_an_error() -> None:
    result = parse_completion("<|ACTION|>  <|END|>")
    assert result.action is None
    assert len(result.errors) == 1
    assert "ACTION" in result.errors[0]


def test_no_done_and_no_action_by_default() -> None:
    result = parse_completion("<|READ|>notes<|END|>")
    assert not result.done
    assert result.action is None


def test_done_without_ops() -> None:
    result = parse_completion("Nothing new worth keeping. <|DONE|>")
    assert result == parse_completion("Nothing new worth keeping. <DONE>")
    assert result.done
    assert result.ops == ()


def test_missing_text_drops_the_op_with_an_error() -> None:
    result = parse_completion("<|APPEND|>notes<|END|><|READ|>notes<|END|>")
    assert [op.kind for op in result.ops] == ["READ"]
    assert result.errors == ("APPEND needs file|text: <|APPEND|>notes<|END|>",)


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("<|TAIL|>notes|many<|END|>", "TAIL needs file|N"),
        ("<|TAIL|>notes|0<|END|>", "TAIL needs file|N"),
        ("<|TAIL|>notes<|END|>", "TAIL needs file|N"),
        ("<|UPSERT|>notes|key<|END|>", "UPSERT needs file|key|text"),
        ("<|REPLACE|>notes|old<|END|>", "REPLACE needs file|old|new"),
        ("<|SEARCH|>notes|<|END|>", "SEARCH needs file|keyword"),
        ("<|READ|><|END|>", "READ needs file"),
        ("<|UPSERT_MAP|>3,4<|END|>", "UPSERT_MAP needs x,y|desc"),
        ("<|APPEND|>notes|   <|END|>", "APPEND needs file|text"),
    ],
)
def test_wrong_arity_is_an_error_naming_the_form(text: str, start: str) -> None:
    result = parse_completion(text)
    assert result.ops == ()
    assert len(result.errors) == 1
    assert result.errors[0].startswith(start)


def test_unknown_op_is_an_error_and_its_body_is_skipped() -> None:
    result = parse_completion("<|FOO|>x<|END|><|READ|>notes<|END|>")
    assert result.errors == ("unknown op FOO: <|FOO|>x<|END|>",)
    assert [op.kind for op in result.ops] == ["READ"]


def test_ordinary_angle_text_is_not_a_tag() -> None:
    assert only_op("<|APPEND|>notes|a <b> c <x> d<|END|>").args == ("notes", "a <b> c <x> d")


def test_leaked_chat_tokens_end_an_op() -> None:
    result = parse_completion("<|ACTION|>Move West<|im_end|>")
    assert result.action == "Move West"
    assert result.errors == ()


def test_closing_tag_form_ends_an_op() -> None:
    assert parse_completion("<ACTION>Noop</ACTION>").action == "Noop"


def test_stray_end_tags_are_ignored() -> None:
    result = parse_completion("<|END|><|READ|>notes<|END|><|END|>")
    assert [op.kind for op in result.ops] == ["READ"]
    assert result.errors == ()


def test_several_ops_keep_their_order() -> None:
    text = (
        "<|READ|>a<|END|>\n<|APPEND|>b|x<|END|>\nsome words\n<|SEARCH|>c|y<|END|><|DELETE|>d<|END|>"
    )
    assert [op.kind for op in parse_completion(text).ops] == ["READ", "APPEND", "SEARCH", "DELETE"]


def test_empty_completion_gives_nothing() -> None:
    assert parse_completion("") == parse_completion("   \n") == parse_completion("no ops here")
    assert parse_completion("").ops == ()
    assert parse_completion("").errors == ()


_FRAGMENTS = st.sampled_from(
    [
        "<|",
        "|>",
        "<",
        ">",
        "|",
        "/",
        "<|END|>",
        "<END>",
        "<|DONE|>",
        "<|ACTION|>",
        "ACTION:",
        "\n",
        "```",
        "<|FOO|>",
        "<|im_end|>",
        "</ACTION>",
        *(f"<|{kind}|>" for kind in OP_KINDS),
        *(f"<{kind.lower()}>" for kind in OP_KINDS),
        "notes",
        "0",
        "7",
        "3,4",
        " ",
    ]
)


@settings(max_examples=400)
@given(st.lists(st.one_of(_FRAGMENTS, st.text(max_size=12)), max_size=40).map("".join))
def test_parse_never_raises(text: str) -> None:
    result = parse_completion(text)
    assert all(op.kind in OP_KINDS for op in result.ops)
    assert all(op.raw in text for op in result.ops)
    assert result.action is None or result.action.strip() == result.action != ""


@given(st.text())
def test_parse_never_raises_on_arbitrary_text(text: str) -> None:
    parse_completion(text)


def test_unclosed_op_raw_is_the_text_it_came_from() -> None:
    op = only_op("note this: <|APPEND|>notes|x\n```\nafter the fence")
    assert op.raw == "<|APPEND|>notes|x\n"


@pytest.mark.parametrize(
    "text",
    ["<| " + " " * 50_000, "<|" + " |" * 25_000, "< " * 25_000, "<|READ|>" * 5_000, "`" * 50_000],
)
def test_hostile_long_inputs_parse(text: str) -> None:
    result = parse_completion(text)
    assert result.action is None


def test_fallback_action_of_only_control_characters_is_no_action():
    result = parse_completion("ACTION:\x1f")
    assert result.action is None
    assert parse_completion("Action: \x1f north \x0b").action == "north"


def test_reading_stops_past_the_op_bound_and_says_how_many_were_dropped() -> None:
    result = parse_completion("<|APPEND|>notes|spam<|END|>" * 100_000, max_ops=32)
    assert len(result.ops) == 32
    assert result.dropped_ops == 100_000 - 32
    assert result.errors == (
        "too many ops in one completion: read the first 32, dropped the rest unread "
        f"(about 99968 more ops in {27 * (100_000 - 32)} characters)",
    )


def test_rejected_ops_count_toward_the_bound() -> None:
    result = parse_completion("<|TAIL|>notes|-5<|END|>" * 100_000, max_ops=10)
    assert result.ops == ()
    assert len(result.errors) == 11 and result.dropped_ops == 100_000 - 10
    assert (
        result.errors[0] == "TAIL needs file|N with N a positive integer: <|TAIL|>notes|-5<|END|>"
    )


@pytest.mark.parametrize("text", ["<|END|>" * 1_000_000, "<|DONE|>" * 1_000_000, "<|OOPS|>" * 9999])
def test_a_flood_of_markers_or_unknown_ops_stops_reading_too(text: str) -> None:
    result = parse_completion(text, max_ops=8)
    assert result.ops == ()
    assert len(result.errors) <= 9
    assert result.errors[-1].startswith("too many ops in one completion: read the first ")


def test_default_bound_applies_without_a_scaffold() -> None:
    result = parse_completion("<|READ|>notes<|END|>" * (MAX_PARSED_OPS + 5))
    assert len(result.ops) == MAX_PARSED_OPS and result.dropped_ops == 5


def test_done_and_action_right_after_the_last_allowed_op_still_count() -> None:
    result = parse_completion("<|READ|>a<|END|>" * 4 + "<|DONE|>", max_ops=4)
    assert len(result.ops) == 4 and result.done and result.errors == ()
    result = parse_completion("<|READ|>a<|END|>" * 3 + "<|ACTION|>Noop<|END|>", max_ops=4)
    assert result.action == "Noop" and result.errors == ()


def test_an_action_past_the_bound_is_not_read() -> None:
    result = parse_completion("<|READ|>a<|END|>" * 4 + "<|ACTION|>Noop<|END|>", max_ops=4)
    assert result.action is None and result.dropped_ops == 1


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("<|TAIL|>notes|-5<|END|>", "TAIL needs file|N with N a positive integer: "),
        ("<|APPEND|><|END|>", "APPEND needs file|text: "),
        ("<|COUNT|>notes<|END|>", "COUNT needs file|keyword: "),
    ],
)
def test_parse_errors_quote_the_op_as_written(text: str, error: str) -> None:
    assert parse_completion(text).errors == (error + text,)


def test_a_huge_rejected_op_is_quoted_short_on_one_line() -> None:
    [error] = parse_completion("<|UPSERT|>notes\n" + "x" * 1_000_000 + "<|END|>").errors
    assert len(error) < 200 and "\n" not in error
