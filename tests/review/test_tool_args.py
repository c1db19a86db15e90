"""A model's arguments are read without ever raising: size and depth are checked on the text
before it is parsed, and a validation error names the fields, never the values sent."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from automem_core.review.tool_args import (
    MAX_ARGUMENT_CHARS,
    MAX_DEPTH,
    SqlArgs,
    describe_error,
    nesting_depth,
    parse_arguments,
)


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("{}", 1),
        ('{"a": [1, {"b": []}]}', 4),
        ('{"a": "[[[[{{{{"}', 1),  # brackets inside a string
        ('{"a": "\\"[[["}', 1),  # an escaped quote does not end the string
        ("[" * 100_000, 100_000),
        ("", 0),
    ],
)
def test_nesting_depth_counts_brackets_outside_strings(text, depth):
    assert nesting_depth(text) == depth


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, {}),
        ("", {}),
        ('{"query": "SELECT 1"}', {"query": "SELECT 1"}),
        ({"query": "SELECT 1"}, {"query": "SELECT 1"}),
        (b'{"query": "\xff"}', {"query": "\ufffd"}),
    ],
)
def test_arguments_that_read_are_a_dict(raw, expected):
    assert parse_arguments("sql", raw) == (expected, "")


@pytest.mark.parametrize(
    ("raw", "start"),
    [
        ("[" * 100_000 + "]" * 100_000, "error: the arguments of sql are 200000 characters, over"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "error: the arguments of sql are nested"),
        ('{"a": ' * 20 + "1" + "}" * 20, "error: the arguments of sql are nested deeper than 8"),
        ("x" * (MAX_ARGUMENT_CHARS + 1), "error: the arguments of sql are 65537 characters"),
        ("{not json", "error: the arguments of sql are not JSON (Expecting property name"),
        ('"\\ud800"', "error: the arguments of sql must be a JSON object, got str"),
        ("[1, 2]", "error: the arguments of sql must be a JSON object, got list"),
        (42, "error: the arguments of sql must be a JSON object"),
    ],
)
def test_arguments_that_do_not_read_are_one_line(raw, start):
    value, error = parse_arguments("sql", raw)
    assert value is None
    assert error.startswith(start) and "\n" not in error and len(error) < 300


def test_a_circular_mapping_is_an_error_not_a_raise():
    loop: dict[str, object] = {}
    loop["self"] = loop
    assert parse_arguments("sql", loop) == (
        None,
        "error: the arguments of sql are nested too deeply; send a flat object",
    )


def test_validation_errors_name_few_fields_briefly_and_no_values():
    secret = "v" * 5_000
    bad = {"query": secret, **{f"{'k' * 500}{i}": secret for i in range(10)}}
    with pytest.raises(ValidationError) as exc:
        SqlArgs.model_validate(json.loads(json.dumps(bad)))
    text = describe_error(exc.value)
    assert secret[:100] not in text
    assert text.count("`: ") == 4 and text.endswith("; and 6 more")
    assert len(text) < 600
