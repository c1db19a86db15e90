"""The search language: parsed into a small tree, compiled to one tantivy query.

==========================  =================================================================
``stairs``                  the word in any text field (words are letters and digits;
                            case does not matter)
``grid bug``                both words (terms side by side are ANDed)
``"grid bug"``              the phrase: the words one after the other
``stair*``, ``"grid bu"*``  a word, or a phrase's last word, that starts so
``memory:stairs``           in one field: observation, action, completion, op, result, memory,
                            rationale, note
``memory:/stai?rs?/``       a regular expression matched against each word of one field
                            (words are lowercased; the whole word must match)
``a OR b``, ``a AND b``,    boolean operators; ``-word`` is ``NOT word``; parentheses group
``NOT a``, ``( … )``
``kind:SEARCH``             a document property: source, run_id, episode_id, game, task,
``access:write``            version, seed_set, status, phase, kind, access, file, ref
``step:12``,                a number (step, until, line, turn, seed), or a range of them
``step:[10 TO 20]``
==========================  =================================================================

A query that cannot be read raises :class:`QueryError` with one line saying where and why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tantivy import FieldType, Occur, Query

from automem_core.errors import AutoMemError
from automem_core.search.fields import (
    INT_FIELDS,
    KEYWORD_FIELDS,
    RUN_KEYWORDS,
    TAG_FIELD,
    TEXT_FIELDS,
    schema,
    tag,
    words,
)

MAX_QUERY_CHARS = 2_000
# Values of these properties are stored in one case: a query's value is put in it.
_UPPER = {"kind"}
_LOWER = {"source", "phase", "access", "status"}
_FIELD_NAMES = "|".join(sorted((*TEXT_FIELDS, *KEYWORD_FIELDS, *INT_FIELDS), key=len, reverse=True))
_TOKEN = re.compile(
    rf"""\s*(?:
        (?P<open>\() | (?P<close>\)) |
        (?P<field>{_FIELD_NAMES}):(?=\S) |
        "(?P<phrase>[^"]*)"(?P<star>\*)? |
        /(?P<regex>(?:\\.|[^/\\])*)/ |
        \[(?P<range>[^\]]*)\] |
        (?P<sign>[-+])(?=[^\s-]) |
        (?P<word>[^\s()"]+)
    )""",
    re.VERBOSE,
)


class QueryError(AutoMemError, ValueError):
    """A query that cannot be read: the message says where and how to write it."""


@dataclass(frozen=True)
class Words:
    """A word or phrase (its terms in order), in one field or all text fields; ``prefix``: the
    last term is a prefix."""

    terms: tuple[str, ...]
    field: str | None = None
    prefix: bool = False


@dataclass(frozen=True)
class Regex:
    field: str
    pattern: str


@dataclass(frozen=True)
class Keyword:
    field: str
    value: str


@dataclass(frozen=True)
class Range:
    field: str
    low: int | None
    high: int | None


@dataclass(frozen=True)
class Not:
    node: Node


@dataclass(frozen=True)
class And:
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    nodes: tuple[Node, ...]


Node = Words | Regex | Keyword | Range | Not | And | Or


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str | None, int]] = []
        pos = 0
        while text[pos:].strip():
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                raise QueryError(f"cannot read the query at {text[pos:pos + 20]!r}; "
                                 'put text with quotes or slashes in "double quotes"')  # fmt: skip
            pos = m.end()
            kind = m.lastgroup or "word"
            if kind == "star":
                kind, value = "phrase*", m.group("phrase")
            else:
                value = m.group(kind)
            if kind == "word" and not any(ch.isalnum() for ch in value):
                continue  # punctuation alone ("-", "*", "|") is in no word
            self.tokens.append((kind, value, m.start()))
        self.i = 0

    def peek(self) -> tuple[str, str | None]:
        if self.i < len(self.tokens):
            kind, value, _ = self.tokens[self.i]
            return kind, value
        return "end", None

    def take(self) -> tuple[str, str | None]:
        token = self.peek()
        self.i += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            raise QueryError("the query is empty; type a word, a phrase or a property")
        node = self.disjunction()
        if self.peek()[0] != "end":
            raise QueryError(f"unexpected {self.peek()[1] or ')'!r} in the query; check the "
                             "parentheses")  # fmt: skip
        return node

    def disjunction(self) -> Node:
        nodes = [self.conjunction()]
        while self.peek() == ("word", "OR"):
            self.take()
            nodes.append(self.conjunction())
        return nodes[0] if len(nodes) == 1 else Or(tuple(nodes))

    def conjunction(self) -> Node:
        nodes = [self.unary()]
        while self.peek()[0] not in ("end", "close") and self.peek() != ("word", "OR"):
            if self.peek() == ("word", "AND"):
                self.take()
            nodes.append(self.unary())
        return nodes[0] if len(nodes) == 1 else And(tuple(nodes))

    def unary(self) -> Node:
        kind, value = self.peek()
        if (kind, value) == ("word", "NOT") or (kind, value) == ("sign", "-"):
            self.take()
            return Not(self.unary())
        if (kind, value) == ("sign", "+"):
            self.take()
        return self.atom()

    def atom(self) -> Node:
        kind, value = self.take()
        if kind == "open":
            node = self.disjunction()
            if self.take()[0] != "close":
                raise QueryError("a parenthesis is not closed in the query")
            return node
        if kind == "field":
            return self.property(str(value))
        if kind == "regex":
            raise QueryError(f"a regular expression needs a field, e.g. memory:/{value}/")
        if kind in ("word", "phrase", "phrase*"):
            return _words(str(value), None, kind)
        raise QueryError(f"unexpected {value or kind!r} in the query")

    def property(self, field: str) -> Node:
        kind, value = self.take()
        text = str(value)
        if field in TEXT_FIELDS:
            if kind == "regex":
                return Regex(field, text)
            if kind in ("word", "phrase", "phrase*"):
                return _words(text, field, kind)
            if kind == "open":
                self.i -= 1
                return _in_field(self.atom(), field)
        elif field in KEYWORD_FIELDS and kind in ("word", "phrase"):
            return Keyword(field, _case(field, text))
        elif field in INT_FIELDS and kind in ("word", "range"):
            return _range(field, text, kind)
        known = ", ".join((*TEXT_FIELDS, *KEYWORD_FIELDS, *INT_FIELDS))
        if field not in (*TEXT_FIELDS, *KEYWORD_FIELDS, *INT_FIELDS):
            raise QueryError(f"no field {field!r}; the fields are {known}")
        raise QueryError(f"{field}: cannot take {text!r}")


def _case(field: str, value: str) -> str:
    if field in _UPPER:
        return value.upper()
    return value.lower() if field in _LOWER else value


def _words(text: str, field: str | None, kind: str) -> Words:
    prefix = kind == "phrase*" or (kind == "word" and text.endswith("*"))
    terms = tuple(words(text.rstrip("*") if kind == "word" else text))
    if not terms:
        raise QueryError(f"{text!r} holds no word (letters or digits) to search for")
    return Words(terms, field, prefix)


def _in_field(node: Node, field: str) -> Node:
    """``field:( … )``: every word of the group in that field."""
    if isinstance(node, Words):
        return Words(node.terms, node.field or field, node.prefix)
    if isinstance(node, Not):
        return Not(_in_field(node.node, field))
    if isinstance(node, And | Or):
        return type(node)(tuple(_in_field(n, field) for n in node.nodes))
    return node


def _range(field: str, text: str, kind: str) -> Range:
    try:
        if kind == "word":
            return Range(field, int(text), int(text))
        low, high = re.split(r"\s+TO\s+", text.strip())
        return Range(field, None if low == "*" else int(low), None if high == "*" else int(high))
    except ValueError:
        raise QueryError(f"{field} takes a number or [LOW TO HIGH], not {text!r}") from None


def parse_query(text: str) -> Node:
    """The tree of a query (:class:`QueryError` when it cannot be read)."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is {len(text)} characters long; at most {MAX_QUERY_CHARS}")
    return _Parser(text).parse()


# --------------------------------------------------------------------------- to tantivy


def _words_query(node: Words, field: str) -> Query:
    if node.prefix:
        return Query.phrase_prefix_query(schema(), field, list(node.terms))
    if len(node.terms) == 1:
        return Query.term_query(schema(), field, node.terms[0])
    return Query.phrase_query(schema(), field, list(node.terms))


def _either(queries: list[Query]) -> Query:
    return queries[0] if len(queries) == 1 else Query.boolean_query(
        [(Occur.Should, q) for q in queries]
    )  # fmt: skip


def to_tantivy(node: Node, run: dict[str, str] | None = None) -> Query:
    """The tantivy query of a tree, for the index of one run (``run``: its own properties, which
    its documents do not carry) or for the records (``run`` None)."""
    if isinstance(node, Words):
        fields = [node.field] if node.field else list(TEXT_FIELDS)
        return _either([_words_query(node, f) for f in fields])
    if isinstance(node, Regex):
        try:
            return Query.regex_query(schema(), node.field, node.pattern)
        except ValueError as exc:
            reason = str(exc).strip().splitlines()[-1].removeprefix("error: ").rstrip("'")
            raise QueryError(f"{node.field}:/{node.pattern}/ is not a regular expression "
                             f"({reason})") from None  # fmt: skip
    if isinstance(node, Keyword):
        if run is not None and node.field in RUN_KEYWORDS:
            same = run.get(node.field) == node.value
            return Query.all_query() if same else Query.empty_query()
        return Query.term_query(schema(), TAG_FIELD, tag(node.field, node.value))
    if isinstance(node, Range):
        return Query.range_query(schema(), node.field, FieldType.Integer, node.low, node.high)
    if isinstance(node, Not):
        return Query.boolean_query(
            [(Occur.Must, Query.all_query()), (Occur.MustNot, to_tantivy(node.node, run))]
        )
    if isinstance(node, Or):
        return _either([to_tantivy(n, run) for n in node.nodes])
    must = [(Occur.Must, to_tantivy(n, run)) for n in node.nodes if not isinstance(n, Not)]
    must_not = [(Occur.MustNot, to_tantivy(n.node, run)) for n in node.nodes if isinstance(n, Not)]
    if not must:
        must = [(Occur.Must, Query.all_query())]
    return Query.boolean_query([*must, *must_not])


def positive_atoms(node: Node) -> list[Words | Regex]:
    """The words, phrases and expressions a hit shows (those under a NOT are left out)."""
    if isinstance(node, Words | Regex):
        return [node]
    if isinstance(node, And | Or):
        return [a for n in node.nodes for a in positive_atoms(n)]
    return []
