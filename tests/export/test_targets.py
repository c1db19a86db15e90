from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automem_core.export.targets import (
    DROP_REASONS,
    clean_examples,
    clean_pairs,
    clean_target,
    unwrap_fences,
)
from automem_core.memory.parser import parse_completion
from tests.export.memory_turns import example, pair, plan_prompt, realistic_examples

LOG_TURN = (
    "Recording.\n<|APPEND|>actions_log|Step 3 action 'Do': collected wood<|END|>\n"
    "<|DONE|> trailing chatter"
)


def test_clean_target_log_ends_at_done_keeping_it() -> None:
    result = clean_target(LOG_TURN, "log")
    assert result.text == (
        "<|APPEND|>actions_log|Step 3 action 'Do': collected wood<|END|>\n<|DONE|>"
    )
    assert result.dropped is None


def test_clean_target_log_drops_ops_after_done() -> None:
    text = "<|APPEND|>a|one<|END|><|DONE|>\n<|APPEND|>b|two<|END|>"
    assert clean_target(text, "log").text == "<|APPEND|>a|one<|END|><|DONE|>"


def test_clean_target_plan_loses_its_action_tag() -> None:
    text = "<|SEARCH|>map_notes|water<|END|><|ACTION|>Move West<|END|>"
    assert clean_target(text, "plan").text == "<|SEARCH|>map_notes|water<|END|>"


def test_clean_target_plan_keeps_ops_after_an_action() -> None:
    text = "<|ACTION|>Move West<|END|>\n<|SEARCH|>map_notes|water<|END|> then I go"
    assert clean_target(text, "plan").text == "<|SEARCH|>map_notes|water<|END|>"


@pytest.mark.parametrize("fallback", ["ACTION: Noop", "**Action:** Do", "> action: Move West"])
def test_clean_target_plan_loses_fallback_action_lines(fallback: str) -> None:
    text = f"Let me look.\n{fallback}\n<|TAIL|>actions_log|5<|END|>\n{fallback}"
    result = clean_target(text, "plan")
    assert result.text == "<|TAIL|>actions_log|5<|END|>"
    assert parse_completion(result.text).action is None


def test_clean_target_keeps_action_words_inside_an_op() -> None:
    text = "<|APPEND|>actions_log|\nAction: Do collected wood<|END|><|DONE|>"
    assert clean_target(text, "log").text == text


def test_clean_target_unwraps_fenced_ops() -> None:
    text = "Checking.\n```text\n<|SEARCH|>map_notes|stone<|END|>\n```\n<|ACTION|>Noop<|END|>"
    assert clean_target(text, "plan").text == "<|SEARCH|>map_notes|stone<|END|>"


def test_unwrap_fences_leaves_fences_around_prose() -> None:
    text = "```\nplan: find water\n```\n```<|READ|>strategy<|END|>```"
    assert unwrap_fences(text) == "```\nplan: find water\n```\n<|READ|>strategy<|END|>"


def test_clean_target_trims_text_after_the_last_op() -> None:
    text = "<|SEARCH|>map_notes|coal<|END|>\nNo coal noted yet, so I should explore."
    assert clean_target(text, "plan").text == "<|SEARCH|>map_notes|coal<|END|>"


@pytest.mark.parametrize(
    ("text", "phase", "reason"),
    [
        ("ACTION: Noop", "plan", "no_op"),
        ("<|ACTION|>Move West<|END|>", "plan", "no_op"),
        ("Nothing worth recording.", "log", "no_op"),
        ("<|DONE|>", "log", "no_op"),
        (
            "<|READ|>strategy<|END|>\n```\nplan: find water\n```\n<|SEARCH|>map_notes|water<|END|>",
            "plan",
            "leftover_fence",
        ),
        ("<|READ|>strategy<|END|>```\n<|SEARCH|>map_notes|water<|END|>", "plan", "leftover_fence"),
        ("<|APPEND|>map_notes|x<|im_end|>", "log", "stray_tag"),
        ("<|READ|>strategy<|END|><|FROB|>x<|END|><|READ|>strategy<|END|>", "plan", "stray_tag"),
        ("<|TAIL|>actions_log|-5<|END|>", "plan", "unparsable"),
        ("<|APPEND|>map_notes|water north<|END|>", "plan", "write_op_in_plan"),
    ],
)
def test_clean_target_drops_with_reason(text: str, phase: str, reason: str) -> None:
    result = clean_target(text, phase)  # type: ignore[arg-type]
    assert result.text is None
    assert result.dropped == reason
    assert reason in DROP_REASONS


def test_clean_target_rejected_side_may_lack_ops() -> None:
    assert clean_target("Nothing new.\n<|DONE|> bye", "log", require_op=False).text == "<|DONE|>"
    assert clean_target("I go north.\nACTION: Move North", "plan", require_op=False).text == (
        "I go north."
    )
    assert clean_target("ACTION: Noop", "plan", require_op=False).dropped == "no_op"


_PIECES = st.sampled_from(
    [
        "<|SEARCH|>map_notes|water<|END|>",
        "<|APPEND|>actions_log|Step 3 action 'Do': collected wood<|END|>",
        "<|ACTION|>Move West<|END|>",
        "<ACTION>Noop</ACTION>",
        "<|ACTION|>Noop",
        "ACTION: Noop",
        "<|DONE|>",
        "```",
        "```text",
        "\n",
        " chatter ",
        "<|READ|>strategy",
        "<SEARCH>map_notes|stone</SEARCH>",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=10), st.sampled_from(["log", "plan"]))
def test_clean_target_never_leaves_a_game_action(pieces: list[str], phase: str) -> None:
    result = clean_target("".join(pieces), phase)  # type: ignore[arg-type]
    assert (result.text is None) != (result.dropped is None)
    if result.text is not None:
        parsed = parse_completion(result.text)
        assert parsed.action is None
        assert parsed.ops and not parsed.errors
        assert "```" not in result.text
        assert result.text == result.text.strip()
        again = clean_target(result.text, phase)  # type: ignore[arg-type]
        assert again.text == result.text  # cleaning is idempotent


def test_clean_examples_counts_drops_by_reason() -> None:
    cleaned = clean_examples(realistic_examples(), include_unsure=False)
    assert len(cleaned.examples) == 9
    assert cleaned.dropped == {"label_bad": 1, "label_unsure": 1, "no_op": 2}
    assert all(parse_completion(e.target).action is None for e in cleaned.examples)


def test_clean_target_drops_prose_before_the_first_op() -> None:
    text = "I think the water is north, so I will note that.\n<|APPEND|>map_notes|water N<|END|>"
    assert clean_target(text, "log").text == "<|APPEND|>map_notes|water N<|END|>"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("<|APPEND|>diary|saw a cow<|END|>", False),  # not declared
        ("<|READ|>map_notes<|END|><|SEARCH|>diary|cow<|END|>", False),
        ("<|CREATE|>diary<|END|><|APPEND|>diary|saw a cow<|END|>", True),  # made first
        ("<|WRITE|>diary|cows: 1<|END|><|READ|>diary<|END|>", True),
        ("<|APPEND|>map_notes|cow west<|END|>", True),
    ],
)
def test_clean_target_drops_ops_on_files_the_scaffold_lacks(text: str, kept: bool) -> None:
    result = clean_target(text, "log", files=frozenset({"map_notes", "strategy"}))
    assert (result.text is not None) == kept
    assert result.dropped == (None if kept else "unknown_file")


def test_clean_examples_checks_files_per_scaffold_version_and_writes_duplicates_once() -> None:
    on_known = example(0, "log", "<|APPEND|>map_notes|tree<|END|><|DONE|>")
    on_unknown = example(1, "log", "<|APPEND|>journal|tree<|END|><|DONE|>")
    twin = example(2, "log", "<|APPEND|>map_notes|tree<|END|><|DONE|>", messages=on_known.messages)
    files = {on_known.scaffold_version: frozenset({"map_notes"})}
    cleaned = clean_examples([on_known, on_unknown, twin], include_unsure=False, known_files=files)
    assert [e.decision_id for e in cleaned.examples] == [on_known.decision_id]
    assert cleaned.dropped == {"duplicate_example": 1, "unknown_file": 1}


def test_clean_pairs_writes_identical_pairs_once() -> None:
    one = pair(0, "plan", "<|READ|>strategy<|END|>", "I go west.", plan_prompt(3))
    again = pair(1, "plan", "<|READ|>strategy<|END|>", "I go west.", plan_prompt(3))
    cleaned = clean_pairs([one, again])
    assert len(cleaned.pairs) == 1 and cleaned.dropped == {"duplicate_pair": 1}


def test_clean_examples_keeps_unsure_when_asked() -> None:
    cleaned = clean_examples(realistic_examples(), include_unsure=True)
    assert "unsure" in {e.label for e in cleaned.examples}
    assert "label_unsure" not in cleaned.dropped


def test_clean_examples_drops_duplicate_ids_and_bad_prompts() -> None:
    good = example(0, "plan", "<|READ|>strategy<|END|>")
    broken = example(1, "plan", "<|READ|>strategy<|END|>", messages=plan_prompt(4)[:1])
    empty = example(
        2, "plan", "<|READ|>strategy<|END|>", messages=[{"role": "user", "content": "  "}]
    )
    cleaned = clean_examples([good, good, broken, empty], include_unsure=False)
    assert [e.decision_id for e in cleaned.examples] == [good.decision_id]
    assert cleaned.dropped == {"bad_prompt": 2, "duplicate_id": 1}


def test_clean_pairs_drops_pairs_that_become_identical() -> None:
    same = pair(
        0,
        "plan",
        "<|SEARCH|>map_notes|water<|END|><|ACTION|>Move West<|END|>",
        "```\n<|SEARCH|>map_notes|water<|END|>\n```\nACTION: Noop",
        plan_prompt(5),
    )
    search = "<|SEARCH|>map_notes|water<|END|>"
    kept = pair(1, "plan", search, "West.\nACTION: West", plan_prompt(6))
    empty = pair(2, "plan", search, "ACTION: Noop", plan_prompt(7))
    cleaned = clean_pairs([same, kept, empty])
    assert cleaned.dropped == {"no_op": 1, "same_after_cleaning": 1}
    assert [(p.chosen, p.rejected) for p in cleaned.pairs] == [(search, "West.")]
    assert cleaned.pairs[0].messages == kept.messages
