"""The search language: what each form parses to, how a query that cannot be read is refused
(one line), and what a hit marks."""

from __future__ import annotations

import pytest
import tantivy

from automem_core.search.fields import TEXT_FIELDS, schema, words
from automem_core.search.highlight import matched_words, snippet, spans
from automem_core.search.query import (
    And,
    Keyword,
    Not,
    Or,
    QueryError,
    Range,
    Regex,
    Words,
    parse_query,
    positive_atoms,
)


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("Stairs", Words(("stairs",))),
        ("grid-bug", Words(("grid", "bug"))),
        ('"grid bug"', Words(("grid", "bug"))),
        ("stair*", Words(("stair",), prefix=True)),
        ('"grid bu"*', Words(("grid", "bu"), prefix=True)),
        ("memory:stairs", Words(("stairs",), "memory")),
        ("memory:/sta?irs/", Regex("memory", "sta?irs")),
        ("a b", And((Words(("a",)), Words(("b",))))),
        ("a AND b OR c", Or((And((Words(("a",)), Words(("b",)))), Words(("c",))))),
        ("-a b", And((Not(Words(("a",))), Words(("b",))))),
        ("NOT a", Not(Words(("a",)))),
        ("memory:(a OR b)", Or((Words(("a",), "memory"), Words(("b",), "memory")))),
        ("kind:search access:WRITE", And((Keyword("kind", "SEARCH"), Keyword("access", "write")))),
        ("step:[10 TO 20]", Range("step", 10, 20)),
        ("step:[* TO 20]", Range("step", None, 20)),
        ("until:7", Range("until", 7, 7)),
        ("- gold | x", And((Words(("gold",)), Words(("x",))))),  # lone punctuation is no word
        ("key:value", Words(("key", "value"))),  # not a field: the words
    ],
)
def test_each_form_parses_to_its_tree(text, tree):
    assert parse_query(text) == tree


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the query is empty; type a word, a phrase or a property"),
        ("(stairs", "a parenthesis is not closed in the query"),
        ("stairs)", "unexpected ')' in the query; check the parentheses"),
        ("/st.*/", "a regular expression needs a field, e.g. memory:/st.*/"),
        ("step:x", "step takes a number or [LOW TO HIGH], not 'x'"),
        ('"!!"', "'!!' holds no word (letters or digits) to search for"),
        ("x" * 2001, "the query is 2001 characters long; at most 2000"),
    ],
)
def test_a_query_that_cannot_be_read_is_refused_in_one_line(text, message):
    with pytest.raises(QueryError) as caught:
        parse_query(text)
    assert str(caught.value) == message


def test_highlighting_splits_words_as_the_index_does():
    text = "A Grid-Bug at (3,4); grid_bug! Ünïcode " + "x" * 45 + " end"
    index = tantivy.Index(schema())
    writer = index.writer(15_000_000, 1)
    writer.add_document(tantivy.Document(memory=text))
    writer.commit()
    index.reload()
    searcher = index.searcher()
    for word in words(text):  # every word the highlighter sees is a term of the index
        query = tantivy.Query.term_query(schema(), "memory", word)
        assert searcher.search(query, 1).hits, word
    assert "x" * 45 not in words(text)
    assert set(TEXT_FIELDS) >= {"memory", "observation", "note"}


def test_what_a_hit_marks():
    text = "The grid bug bites. A GRID-BUG again; grids and bugs."
    atoms = positive_atoms(parse_query('"grid bug" -bites memory:grids bug*'))
    found = spans(text, atoms, "observation")
    assert [text[s:e] for s, e in found] == ["grid bug", "GRID-BUG", "bugs"]
    assert [text[s:e] for s, e in spans(text, atoms, "memory")] == [
        "grid bug",
        "GRID-BUG",
        "grids",
        "bugs",
    ]
    assert matched_words(text, found) == ["grid", "bug", "bugs"]
    cut = snippet("a" * 300 + " grid bug\nend", spans("a" * 300 + " grid bug\nend", atoms, "x"),
                  "x", size=40)  # fmt: skip
    assert cut.cut_before and not cut.cut_after
    assert cut.marked() == "…" + "a" * 27 + " [grid bug]⏎end"
