"""Model text made storable and showable."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from automem_core.memory.text import clean_text, shown


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("a\ud800b", "a\ufffdb"),
        ("\udfff", "\ufffd"),
        ("\ud83d\ude00 split pair", "\ufffd\ufffd split pair"),
        ("é 😀 fine", "é 😀 fine"),
        ("plain", "plain"),
    ],
)
def test_clean_text_replaces_only_what_utf8_cannot_hold(text: str, clean: str) -> None:
    assert clean_text(text) == clean
    clean_text(text).encode("utf-8")  # never raises


def test_clean_text_returns_clean_text_itself() -> None:
    text = "déjà vu " * 1000
    assert clean_text(text) is text


SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, exclude_categories=())


@given(st.text(st.characters() | SURROGATES))
def test_clean_text_always_encodes(text: str) -> None:
    cleaned = clean_text(text)
    cleaned.encode("utf-8")
    assert len(cleaned) == len(text)


def test_shown_of_a_huge_unprintable_text_is_short_and_one_line() -> None:
    label = shown("\x00\n" * 5_000_000)
    assert len(label) <= 80 and "\n" not in label and label.endswith("…")
